//! End to end: spawn the built `ironpen check`.

#[path = "common/bin.rs"]
mod bin;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn ironpen(args: &[&str]) -> Output {
    Command::new(bin::ironpen())
        .arg("check")
        .args(args)
        .output()
        .expect("spawn ironpen")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?} stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn uname() -> (String, String) {
    let r = Command::new("uname").arg("-r").output().unwrap();
    let v = Command::new("uname").arg("-v").output().unwrap();
    (
        String::from_utf8(r.stdout).unwrap().trim().into(),
        String::from_utf8(v.stdout).unwrap().trim().into(),
    )
}

/// A CPU tree with nothing vulnerable, so a test isolates the advisory logic.
fn clean_sysfs(root: &Path) {
    let v = root.join("devices/system/cpu/vulnerabilities");
    fs::create_dir_all(&v).unwrap();
    fs::write(v.join("meltdown"), "Not affected\n").unwrap();
}

#[test]
fn json_report_of_this_machine_is_consistent() {
    let out = ironpen(&["--json"]);
    let code = out.status.code().unwrap();
    let j = json(&out);
    let (release, version) = uname();
    assert_eq!(j["kernel"]["release"], release.as_str());
    assert_eq!(j["kernel"]["version"], version.as_str());
    let verdict = j["verdict"].as_str().unwrap();
    let want = match verdict {
        "fit" => 0,
        "unfit" => 1,
        "unknown" => 2,
        other => panic!("verdict {other}"),
    };
    assert_eq!(code, want, "exit code does not match verdict {verdict}");
    assert!(j["database"]["sequence"].as_u64().unwrap() >= 1);
    assert!(j["advisories"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == "CVE-2022-0847"));
    // The same feature module the jail uses; this machine has seccomp user-notify with ADDFD.
    assert_eq!(j["features"]["seccomp_notify"]["status"], "available");
    assert!(j["features"]["landlock"]["abi"].as_u64().unwrap() >= 1);
    // The CPU files of this machine are all listed.
    let n = fs::read_dir("/sys/devices/system/cpu/vulnerabilities")
        .unwrap()
        .count();
    assert_eq!(j["cpu"]["findings"].as_array().unwrap().len(), n);
    // An unfit verdict names at least one unaccepted finding.
    if verdict != "fit" {
        assert!(j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["accepted"] == false));
    }
}

#[test]
fn human_table_has_every_section() {
    let out = ironpen(&[]);
    let text = String::from_utf8(out.stdout).unwrap();
    for section in [
        "Kernel",
        "FEATURES",
        "KNOWN KERNEL FLAWS",
        "CPU (SMT:",
        "SETTINGS",
        "VERDICT:",
    ] {
        assert!(text.contains(section), "missing {section}:\n{text}");
    }
    assert!(text.contains("kernel.yama.ptrace_scope"));
}

#[test]
fn db_entry_matching_this_kernel_fails_until_accepted() {
    let (release, version) = uname();
    let out = ironpen(&["--json", "--sysfs-root", "/nonexistent"]);
    let j = json(&out);
    let Some(major) = j["kernel"]["upstream"]["major"].as_u64() else {
        eprintln!("skip: upstream version of {release} / {version} unknown");
        return;
    };
    let minor = j["kernel"]["upstream"]["minor"].as_u64().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("advisories.toml");
    fs::write(
        &db,
        format!(
            "sequence = 1000\nupdated = \"2026-11-23\"\n\n[[advisory]]\nid = \"CVE-2099-1234\"\nname = \"Test Flaw\"\n\
             class = \"escape\"\nmechanism = \"matches the running kernel's branch\"\nintroduced = \"{major}.{minor}\"\n\
             fixed_mainline = \"{major}.{}\"\nsources = [\"https://example.invalid/CVE-2099-1234\"]\n",
            minor + 1
        ),
    )
    .unwrap();
    let sysfs = dir.path().join("sys");
    clean_sysfs(&sysfs);
    let db_s = db.to_str().unwrap();
    let sys_s = sysfs.to_str().unwrap();

    let out = ironpen(&["--db", db_s, "--sysfs-root", sys_s]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("AFFECTED  CVE-2099-1234"), "{text}");
    assert!(text.contains("--accept-risk CVE-2099-1234"), "{text}");

    let out = ironpen(&[
        "--json",
        "--db",
        db_s,
        "--sysfs-root",
        sys_s,
        "--accept-risk",
        "CVE-2099-1234",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json(&out);
    assert_eq!(j["verdict"], "fit");
    assert_eq!(j["database"]["sequence"], 1000);
    let f = &j["findings"][0];
    assert_eq!(f["id"], "CVE-2099-1234");
    assert_eq!(f["accepted"], true);

    // A caller demanding a newer database than the file gets "unknown".
    let out = ironpen(&[
        "--db",
        db_s,
        "--sysfs-root",
        sys_s,
        "--accept-risk",
        "CVE-2099-1234",
        "--min-sequence",
        "1001",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn foreign_kernels_through_hidden_overrides() {
    let dir = tempfile::tempdir().unwrap();
    clean_sysfs(dir.path());
    let sys = dir.path().to_str().unwrap();
    let run = |r: &str, v: &str| {
        ironpen(&[
            "--json",
            "--sysfs-root",
            sys,
            "--uname-r",
            r,
            "--uname-v",
            v,
        ])
        .status
        .code()
        .unwrap()
    };
    assert_eq!(
        run(
            "5.15.0-91-generic",
            "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023"
        ),
        2
    );
    assert_eq!(
        run("5.10.0-10-amd64", "#1 SMP Debian 5.10.90-1 (2022-01-01)"),
        1
    );
    assert_eq!(
        run(
            "6.1.0-27-amd64",
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)"
        ),
        0
    );
    assert_eq!(run("garbage", "#1"), 2);
}

#[test]
fn unreadable_database_is_unknown_not_fit() {
    let out = ironpen(&["--db", "/nonexistent/advisories.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/advisories.toml"), "{err}");
}

/// The same detection as an unprivileged user (uid/gid 65534): the distribution knobs apply,
/// and the probes that need no privilege (ADDFD, Landlock) answer the same.
#[test]
fn features_as_unprivileged_user() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    if !rustix_is_root() {
        eprintln!("skip: needs root to switch to uid 65534");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("ironpen");
    // Copy in a child process: a write fd held by this (multi-threaded) test process could leak
    // into children other tests fork, and exec would fail with ETXTBSY.
    let cp = Command::new("cp")
        .arg(bin::ironpen())
        .arg(&bin)
        .status()
        .unwrap();
    assert!(cp.success());
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(&bin)
        .args(["check", "--json"])
        .uid(65534)
        .gid(65534)
        .current_dir("/")
        .output()
        .unwrap();
    let j = json(&out);
    assert_eq!(j["features"]["user_namespaces"]["privileged_caller"], false);
    let root = json(&ironpen(&["--json"]));
    assert_eq!(
        root["features"]["user_namespaces"]["privileged_caller"],
        true
    );
    for f in [
        "seccomp_notify",
        "landlock",
        "clone3",
        "openat2",
        "mount_setattr",
        "pidfd",
        "mdwe",
    ] {
        assert_eq!(
            j["features"][f], root["features"][f],
            "{f} differs between root and uid 65534"
        );
    }
    // On this machine (no Debian/Ubuntu restriction knobs) unprivileged user namespaces work.
    if j["features"]["user_namespaces"]["unprivileged_userns_clone"].is_null()
        && j["features"]["user_namespaces"]["apparmor_restrict_unprivileged_userns"].is_null()
    {
        assert_eq!(
            j["features"]["user_namespaces"]["status"]["status"],
            "available"
        );
    }
}

fn rustix_is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}
