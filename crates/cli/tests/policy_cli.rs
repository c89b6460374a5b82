//! End to end: spawn the built `ironpen policy explain`.

#[path = "common/bin.rs"]
mod bin;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ironpen(args: &[&str]) -> Output {
    Command::new(bin::ironpen())
        .args(["policy", "explain"])
        .args(args)
        .output()
        .expect("spawn ironpen")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).expect("JSON output")
}

/// The text line of syscall `name` (`  NR name   decision ...`) and the lines under it.
fn text_entry<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| {
        let mut w = l.split_whitespace();
        !(w.next().is_some_and(|n| n.parse::<u32>().is_ok()) && w.next() == Some(name))
    });
    let first = lines.next().unwrap_or_else(|| panic!("no line for {name}"));
    let mut entry = vec![first];
    entry.extend(lines.take_while(|l| l.starts_with("     ") && !l.trim().is_empty()));
    entry
}

fn syscall<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["syscalls"]
        .as_array()
        .expect("syscalls array")
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no entry for {name}"))
}

#[test]
fn default_profile_as_text() {
    let text = stdout(&ironpen(&["--arch", "x86_64"]));
    assert!(
        text.starts_with("# profile default: "),
        "{}",
        &text[..80.min(text.len())]
    );
    assert!(text.contains("unknown syscall numbers:  errno 38 (ENOSYS)"));
    let keyctl = text_entry(&text, "keyctl");
    assert!(keyctl[0].contains("errno 1 (EPERM)"), "{keyctl:?}");
    let read = text_entry(&text, "read");
    assert_eq!(read[0].split_whitespace().nth(2), Some("allow"), "{read:?}");
    let ioctl = text_entry(&text, "ioctl");
    assert_eq!(ioctl[0].split_whitespace().nth(2), Some("conditional"));
    assert!(ioctl[0].contains("TIOCSTI"), "{ioctl:?}");
    assert!(
        ioctl
            .iter()
            .any(|l| l.contains("errno 1 (EPERM) if (u32)arg1 == 0x5412")),
        "{ioctl:?}"
    );
    assert_eq!(ioctl.last().map(|l| l.trim()), Some("allow otherwise"));
}

#[test]
fn default_profile_as_json() {
    let doc = json(&ironpen(&["--arch", "x86_64", "--json"]));
    assert_eq!(doc["profile"], "default");
    assert_eq!(doc["arch"], "x86_64");
    assert_eq!(doc["default_action"], "errno 1 (EPERM)");
    assert_eq!(doc["x32_action"], "errno 1 (EPERM)");
    let n = doc["instructions"].as_u64().expect("instructions");
    assert!((2..=4096).contains(&n), "{n}");
    assert_eq!(
        doc["syscalls"].as_array().unwrap().len(),
        ironpen_policy::seccomp::Arch::X86_64.table().iter().count()
    );

    let keyctl = syscall(&doc, "keyctl");
    assert_eq!(keyctl["summary"], "errno 1 (EPERM)");
    assert_eq!(keyctl["decision"]["kind"], "always");
    assert_eq!(keyctl["decision"]["action"]["errno"], 1);
    let read = syscall(&doc, "read");
    assert_eq!(read["nr"], 0);
    assert_eq!(read["decision"]["action"], "allow");
    let ioctl = syscall(&doc, "ioctl");
    assert_eq!(ioctl["decision"]["kind"], "conditional");
    assert_eq!(ioctl["decision"]["otherwise"], "allow");
    let tiocsti = ioctl["decision"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[1][0]["value"] == 0x5412)
        .expect("a rule on TIOCSTI");
    assert_eq!(tiocsti[0]["errno"], 1);
    assert_eq!(tiocsti[1][0]["width"], "w32", "ioctl's cmd is an int");
    assert!(ioctl["why"].to_string().contains("TIOCSTI"));
}

#[test]
fn aarch64_has_its_own_table() {
    let doc = json(&ironpen(&["--arch", "aarch64", "--json"]));
    assert_eq!(doc["arch"], "aarch64");
    assert!(doc["x32_action"].is_null());
    let names: Vec<&str> = doc["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"open"), "aarch64 has only openat");
    assert!(names.contains(&"openat"));
    assert_eq!(syscall(&doc, "read")["nr"], 63);
}

/// ironpen's own JSON form of the default profile explains exactly as `default` does.
#[test]
fn own_json_form_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("default.json");
    let f = ironpen_policy::seccomp::default_profile();
    std::fs::write(&path, serde_json::to_string(&f).unwrap()).unwrap();
    let from_file = stdout(&ironpen(&[
        "--arch",
        "x86_64",
        "--seccomp",
        path.to_str().unwrap(),
    ]));
    let builtin = stdout(&ironpen(&["--arch", "x86_64"]));
    let body = |t: &str| t.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&from_file), body(&builtin));
    assert!(from_file.starts_with(&format!("# profile {}: ", path.display())));
}

fn profiles_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("IRONPEN_SECCOMP_PROFILES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/seccomp-profiles")
        });
    if dir.join("docker-default.json").is_file() {
        return Some(dir);
    }
    let required = std::env::var("IRONPEN_TEST_REQUIRE").unwrap_or_default();
    assert!(
        !required.contains("seccomp-profiles"),
        "{}/docker-default.json missing (run tests/fetch-seccomp-profiles.sh)",
        dir.display()
    );
    eprintln!(
        "SKIP: {}/docker-default.json missing (run tests/fetch-seccomp-profiles.sh)",
        dir.display()
    );
    None
}

#[test]
fn docker_profile_explains() {
    let Some(dir) = profiles_dir() else { return };
    let docker = dir.join("docker-default.json");
    let docker = docker.to_str().unwrap();
    let doc = json(&ironpen(&[
        "--arch",
        "x86_64",
        "--seccomp",
        docker,
        "--json",
    ]));
    assert_eq!(doc["profile"], docker);
    assert_eq!(doc["default_action"], "errno 1 (EPERM)");
    assert_eq!(syscall(&doc, "read")["summary"], "allow");
    assert_eq!(syscall(&doc, "keyctl")["summary"], "errno 1 (EPERM)");
    assert_eq!(syscall(&doc, "mount")["summary"], "errno 1 (EPERM)");
    let clone = syscall(&doc, "clone");
    assert_eq!(clone["summary"], "conditional", "{clone}");
    assert_eq!(clone["decision"]["rules"][0][1][0]["value"], 0);
    assert_eq!(
        clone["decision"]["rules"][0][1][0]["op"]["masked-eq"]["mask"],
        0x7e02_0000
    );

    // Docker grants the mount family with CAP_SYS_ADMIN; `--cap` spelled either way.
    for cap in ["CAP_SYS_ADMIN", "sys_admin"] {
        let doc = json(&ironpen(&[
            "--arch",
            "x86_64",
            "--seccomp",
            docker,
            "--cap",
            cap,
            "--json",
        ]));
        assert_eq!(syscall(&doc, "mount")["summary"], "allow", "{cap}");
    }

    let text = stdout(&ironpen(&["--arch", "aarch64", "--seccomp", docker]));
    assert!(text.contains("seccomp filter for aarch64"));
    assert!(text_entry(&text, "keyctl")[0].contains("errno 1 (EPERM)"));
}

/// One `ironpen: ...` line on stderr naming the file and the reason; exit 125; nothing on stdout.
fn fails(args: &[&str], path: &Path, reason: &str) {
    let out = ironpen(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("ironpen: "), "{err}");
    assert!(err.contains(path.to_str().unwrap()), "{err}");
    assert!(err.contains(reason), "want {reason:?}: {err}");
}

#[test]
fn bad_files_exit_125_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let missing = dir.path().join("missing.json");
    fails(
        &["--seccomp", missing.to_str().unwrap()],
        &missing,
        "cannot read: No such file",
    );

    let bad = p("bad.json", "{\"defaultAction\": ");
    fails(
        &["--seccomp", bad.to_str().unwrap()],
        &bad,
        "not valid JSON",
    );

    let field = p(
        "field.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},{"names":["ioctl"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":1,"op":"SCMP_CMP_LIKE"}]}]}"#,
    );
    fails(
        &["--seccomp", field.to_str().unwrap()],
        &field,
        "syscalls[1].args[0].op",
    );

    let typo = p(
        "typo.json",
        r#"{"default_action":"allow","syscalls":{"raed":[{"action":{"errno":1}}]}}"#,
    );
    fails(&["--seccomp", typo.to_str().unwrap()], &typo, "`raed`");

    let neither = p("neither.json", r#"{"rules": []}"#);
    fails(
        &["--seccomp", neither.to_str().unwrap()],
        &neither,
        "neither an OCI seccomp profile",
    );
}

#[test]
fn none_has_nothing_to_explain() {
    let out = ironpen(&["--seccomp", "none"]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        "ironpen: --seccomp none: there is no filter to explain; every syscall reaches the kernel"
    );
}

#[test]
fn bad_arch_is_a_usage_error() {
    let out = ironpen(&["--arch", "sparc"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: x86_64, aarch64"));
}
