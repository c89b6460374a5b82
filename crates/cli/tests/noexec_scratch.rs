//! Scratch space (/tmp, /dev/shm, home) is mounted noexec: a program copied there cannot be run
//! directly (Landlock) nor through the dynamic loader (`ld.so /tmp/x`, which Landlock's execute
//! right does not cover) — unless `--allow-exec` names it. As the caller and as uid 65534.

#[path = "common/bin.rs"]
mod bin;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

const SCRIPT: &str =
    "cp /bin/true \"$D/t\" && /lib64/ld-linux-x86-64.so.2 \"$D/t\"; echo \"ldso=$?\"";

fn run(ironpen: &std::path::Path, dir: &str, extra: &[&str], nobody: bool) -> String {
    let mut cmd = Command::new(ironpen);
    cmd.arg("run")
        .args(extra)
        .args(["--setenv", &format!("D={dir}"), "--", "sh", "-c", SCRIPT]);
    cmd.current_dir("/");
    if nobody {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("spawn ironpen");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn scratch_space_is_noexec_unless_allowed() {
    if !std::path::Path::new("/lib64/ld-linux-x86-64.so.2").exists() {
        eprintln!("SKIP: no /lib64/ld-linux-x86-64.so.2 on this machine");
        return;
    }
    let bin = tempfile::Builder::new()
        .prefix("ironpen-noexec-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ironpen = bin.path().join("ironpen");
    std::fs::copy(bin::ironpen(), &ironpen).unwrap();
    let mut variants = vec![false];
    if rustix::process::geteuid().is_root() {
        variants.push(true);
    }
    for nobody in variants {
        for dir in ["/tmp", "/dev/shm"] {
            assert_ne!(
                run(&ironpen, dir, &[], nobody),
                "ldso=0",
                "{dir} (nobody: {nobody})"
            );
            assert_eq!(
                run(&ironpen, dir, &["--allow-exec", dir], nobody),
                "ldso=0",
                "--allow-exec {dir} (nobody: {nobody})"
            );
        }
    }
}
