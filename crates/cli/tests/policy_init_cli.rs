//! `ironpen init` over a plain pipe, with --yes and with --answers: the written policy passes
//! `policy check`, an existing output file is never replaced, bad answers are re-asked.

#[path = "common/bin.rs"]
mod bin;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn ironpen(args: &[&str], cwd: &Path, stdin: &str) -> Output {
    let mut child = Command::new(bin::ironpen())
        .args(args)
        .current_dir(cwd)
        .env("HOME", "/home/alice")
        .env("COLUMNS", "100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ironpen");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn answers_over_a_pipe_write_a_valid_policy() {
    let dir = tempfile::tempdir().unwrap();
    // A wrong answer ("sever") is asked again; end of input takes the remaining defaults.
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let www = www.display().to_string();
    let o = ironpen(
        &["init", "-o", "web.toml"],
        dir.path(),
        &format!("sever\nserver\nserver\n80,443\n{www}\n"),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("ironpen: answer one of: one-off, server, compute, dev-tools\n"),
        "{err}"
    );
    assert!(err.contains("(end of input: jit = no)"), "{err}");
    let text = std::fs::read_to_string(dir.path().join("web.toml")).unwrap();
    assert!(text.contains("include = [\"@server\"]\n"), "{text}");
    assert!(text.contains(&format!("rw = [\"{www}\"]\n")), "{text}");
    let o = ironpen(&["policy", "check", "web.toml"], dir.path(), "");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "web.toml: ok (3 sources merged)\n"
    );
    // Never replaces a file.
    let o = ironpen(&["init", "--yes", "-o", "web.toml"], dir.path(), "");
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("ironpen: -o web.toml: cannot create: "));
}

#[test]
fn yes_and_answers_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = ironpen(&["init", "--yes"], dir.path(), "");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("include = [\"@default\"]\n"), "{text}");
    assert!(text.contains("network = false\n") && text.contains("mode = \"required\"\n"));
    std::fs::write(
        dir.path().join("a.toml"),
        "purpose = \"compute\"\nnetwork = \"client\"\n",
    )
    .unwrap();
    let o = ironpen(&["init", "--answers", "a.toml"], dir.path(), "");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("include = [\"@compute\"]\n")
            && text.contains("add_sets = [\"@network-io\"]\n"),
        "{text}"
    );
    std::fs::write(dir.path().join("a.toml"), "purpos = \"compute\"\n").unwrap();
    let o = ironpen(&["init", "--answers", "a.toml"], dir.path(), "");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "ironpen: a.toml:1:1: unknown key `purpos`; did you mean `purpose`? (valid: purpose, \
         network, ports, writable, readable, virtualization, jit, priority)\n"
    );
}

#[test]
fn virtualization_answers_over_a_pipe_and_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    // Answers in question order: purpose, network, ports, writable, readable, virtualization.
    let o = ironpen(
        &["init", "-o", "guest.toml"],
        dir.path(),
        "one-off
no



vm
guest
",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("ironpen: answer one of: none, host, guest\n"),
        "{err}"
    );
    let text = std::fs::read_to_string(dir.path().join("guest.toml")).unwrap();
    assert!(
        text.contains("jit = true\n") && text.contains("kvm = false\n"),
        "{text}"
    );
    let o = ironpen(&["policy", "show", "guest.toml"], dir.path(), "");
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(shown.contains("[mdwe]\nallow_jit = true\n"), "{shown}");
    // A KVM host: the kvm boolean, so /dev/kvm as a device in the merged policy.
    std::fs::write(dir.path().join("a.toml"), "virtualization = \"host\"\n").unwrap();
    let o = ironpen(
        &["init", "--answers", "a.toml", "-o", "host.toml"],
        dir.path(),
        "",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = ironpen(&["policy", "show", "host.toml"], dir.path(), "");
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(shown.contains("kvm = true\n"), "{shown}");
    assert!(
        shown.contains("[filesystem]\ndev = [\"/dev/kvm\"]\n"),
        "{shown}"
    );
}

#[test]
fn help_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let o = ironpen(&["init", "--help"], dir.path(), "");
    let got = String::from_utf8_lossy(&o.stdout).into_owned();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/init.help");
    if std::env::var_os("IRONPEN_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), got);
}
