//! `ironpen policy show|check|score` and `run --policy` as a user meets them: help text and
//! `policy show` of every built-in profile compared with snapshots in tests/snapshots/
//! (`IRONPEN_BLESS=1` rewrites them), error messages exact, exit codes.

#[path = "common/bin.rs"]
mod bin;
use std::path::Path;
use std::process::{Command, Output};

fn ironpen(args: &[&str], cwd: &Path) -> Output {
    Command::new(bin::ironpen())
        .args(args)
        .current_dir(cwd)
        .env("HOME", "/home/alice")
        .env("COLUMNS", "100")
        .output()
        .expect("spawn ironpen")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Compare with tests/snapshots/NAME, or write it when IRONPEN_BLESS is set.
fn snapshot(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("IRONPEN_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (IRONPEN_BLESS=1 to create)", path.display()));
    assert!(
        want == got,
        "{name} changed (IRONPEN_BLESS=1 to accept):\n--- want\n{want}\n--- got\n{got}"
    );
}

#[test]
fn help_texts() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["show", "check", "score"] {
        let o = ironpen(&["policy", sub, "--help"], dir.path());
        assert!(o.status.success());
        snapshot(&format!("policy-{sub}.help"), &text(&o).0);
    }
    let o = ironpen(&["policy", "--help"], dir.path());
    snapshot("policy.help", &text(&o).0);
    let o = ironpen(&["run", "--help"], dir.path());
    let help = text(&o).0;
    // The --policy and --set entries (other options change with other features).
    let mut opts = String::new();
    let mut inside = false;
    for l in help.lines() {
        if l.trim_start().starts_with('-') {
            inside = l.contains("--policy") || l.contains("--set ");
        }
        if inside {
            opts.push_str(l);
            opts.push('\n');
        }
    }
    snapshot("run-policy-options.help", &opts);
}

#[test]
fn show_every_builtin_profile() {
    // ${PWD} in @dev-tools expands to the working directory: use a fixed one.
    let cwd = Path::new("/usr/share");
    for name in [
        "default",
        "strict",
        "compute",
        "network-client",
        "server",
        "dev-tools",
    ] {
        let o = ironpen(&["policy", "show", &format!("@{name}")], cwd);
        let (out, err) = text(&o);
        assert!(o.status.success(), "@{name}: {err}");
        snapshot(&format!("show-{name}.toml"), &out);
        assert!(ironpen(&["policy", "check", &format!("@{name}")], cwd)
            .status
            .success());
    }
    let o = ironpen(
        &["policy", "show", "@default", "--set", "network=true"],
        cwd,
    );
    assert!(text(&o).0.contains("[network]\nmode = \"host\"\n"));
    // @dev-tools started in / would make the whole host writable: refused.
    let o = ironpen(&["policy", "check", "@dev-tools"], Path::new("/"));
    assert_eq!(o.status.code(), Some(125));
    assert!(
        text(&o)
            .1
            .starts_with("ironpen: @dev-tools:7:7: filesystem: read-write source \"/\""),
        "{}",
        text(&o).1
    );
}

#[test]
fn check_reports_errors_with_position_and_exit_125() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.toml");
    std::fs::write(
        &p,
        "include = [\"@default\"]\n[filesystem]\nrw = [\"/srv:/srv\"]\nro = [\"/srv\"]\n",
    )
    .unwrap();
    let o = ironpen(&["policy", "check", "p.toml"], dir.path());
    let canon = std::fs::canonicalize(&p).unwrap();
    let c = canon.display();
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        text(&o).1,
        format!("ironpen: {c}:3:7: conflicting grants: /srv is read-write here and read-only at {c}:4:7; take one back with filesystem.remove\n")
    );
    // Relative includes resolve against the including file; a missing one names the place.
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/a.toml"), "include = [\"./b.toml\"]\n").unwrap();
    let o = ironpen(&["policy", "check", "sub/a.toml"], dir.path());
    let a = std::fs::canonicalize(dir.path().join("sub/a.toml")).unwrap();
    assert_eq!(
        text(&o).1,
        format!(
            "ironpen: {}:1:12: cannot include ./b.toml: No such file or directory (os error 2)\n",
            a.display()
        )
    );
    std::fs::write(dir.path().join("sub/b.toml"), "[mdwe]\nallow_jit = true\n").unwrap();
    let o = ironpen(&["policy", "check", "sub/a.toml"], dir.path());
    assert_eq!(text(&o).0, "sub/a.toml: ok (2 sources merged)\n");
    // A missing bind source is named by its place in the policy.
    std::fs::write(&p, "[filesystem]\nro = [\"/definitely/not/here:/x\"]\n").unwrap();
    let o = ironpen(&["policy", "check", "p.toml"], dir.path());
    assert_eq!(
        text(&o).1,
        format!("ironpen: {c}:2:7: filesystem: source /definitely/not/here cannot be used: No such file or directory (os error 2)\n")
    );
    // cgroup limits are checked, naming the file that sets them (docs/limits.md).
    std::fs::write(&p, "[limits]\npids = 0\n").unwrap();
    let o = ironpen(&["policy", "check", "p.toml"], dir.path());
    assert_eq!(
        text(&o).1,
        format!(
            "ironpen: {c}: limits.pids = 0: must be at least 1 (the jail's init counts as one)\n"
        )
    );
    let o = ironpen(
        &["policy", "check", "@default", "--set", "network=maybe"],
        dir.path(),
    );
    assert_eq!(
        text(&o).1,
        "ironpen: --set network=maybe: the value must be true or false\n"
    );
    let o = ironpen(&["run", "--set", "network=true", "--", "true"], dir.path());
    assert_eq!(
        text(&o).1,
        "ironpen: --set needs --policy (booleans belong to a policy)\n"
    );
    // Nothing runs on an invalid policy.
    std::fs::write(&p, "[filesystem]\nrw = [\"/x:../etc\"]\n").unwrap();
    let marker = dir.path().join("ran");
    let o = ironpen(
        &[
            "run",
            "-p",
            "p.toml",
            "--",
            "sh",
            "-c",
            &format!("touch {}", marker.display()),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o)
        .1
        .contains("p.toml:2:7: filesystem: read-write destination \"../etc\""));
    assert!(!marker.exists());
}

#[test]
fn score_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let o = ironpen(&["policy", "score", "@default"], dir.path());
    let out = text(&o).0;
    assert!(out.ends_with("exposure 0.4/10 (locked down)\n"), "{out}");
    assert!(out.contains("private-network                 3.5  yes"));
    let p = dir.path().join("wide.toml");
    std::fs::write(&p, "include = [\"@default\"]\n[set]\nnetwork = true\n[capabilities]\nadd = [\"sys_admin\"]\nallow_dangerous = \"yes-i-understand\"\n").unwrap();
    let o = ironpen(&["policy", "score", "wide.toml", "--json"], dir.path());
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert!(v["exposure"].as_f64().unwrap() > 6.0, "{v}");
    let net = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "private-network")
        .unwrap();
    assert_eq!(net["on"], false);
}

/// The policy's seccomp sets reach the planned filter: removed sets answer EPERM, and adding a
/// set the profile already allows keeps the profile's argument rules (clone's namespace flags).
#[test]
fn seccomp_sets_reach_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let plan = |args: &[&str]| -> serde_json::Value {
        let mut a = vec!["run", "--print-plan"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--", "true"]);
        let o = ironpen(&a, dir.path());
        assert!(o.status.success(), "{}", text(&o).1);
        serde_json::from_str(&text(&o).0).unwrap()
    };
    let p = plan(&["-p", "@compute"]);
    assert_eq!(p["seccomp"]["profile"], "default -@network-io -@ipc -@aio");
    assert_eq!(
        p["seccomp"]["filter"]["syscalls"]["socket"][0]["action"]["errno"],
        1
    );
    std::fs::write(
        dir.path().join("p.toml"),
        "[seccomp]\nadd_sets = [\"@process\", \"@clock\"]\nallow_dangerous = \"yes-i-understand\"\n",
    )
    .unwrap();
    let p = plan(&["-p", "p.toml"]);
    let sc = &p["seccomp"]["filter"]["syscalls"];
    assert!(sc["clone"][0]["conds"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    assert_eq!(sc["settimeofday"][0]["action"], "allow");
    // --seccomp none on the command line is the last word.
    assert!(plan(&["-p", "@compute", "--seccomp", "none"])["seccomp"].is_null());
}
