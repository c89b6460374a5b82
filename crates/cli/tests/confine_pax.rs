//! End to end: `ironpen pax get|set` on real files (the `user.pax.flags` extended attribute).

#[path = "common/bin.rs"]
mod bin;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Output};

fn pax(args: &[&str]) -> Output {
    Command::new(bin::ironpen())
        .arg("pax")
        .args(args)
        .output()
        .expect("spawn ironpen")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A file in a fresh temporary directory; None (skip) where user xattrs are unsupported.
fn marked_file(dir: &Path) -> Option<String> {
    let f = dir.join("prog");
    fs::write(&f, b"\x7fELF").unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o755)).unwrap();
    let f = f.to_str().unwrap().to_string();
    let probe = pax(&["set", &f, "m"]);
    if err(&probe).contains("errno 95") {
        let required = std::env::var("IRONPEN_TEST_REQUIRE").unwrap_or_default();
        assert!(
            !required
                .split(',')
                .any(|r| r.trim() == "xattr" || r.trim() == "all"),
            "required by IRONPEN_TEST_REQUIRE: user xattrs on {}",
            dir.display()
        );
        eprintln!("SKIP: {}: no user xattrs", dir.display());
        return None;
    }
    assert!(probe.status.success(), "{}", err(&probe));
    assert!(pax(&["set", &f, ""]).status.success());
    Some(f)
}

#[test]
fn set_get_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let Some(f) = marked_file(dir.path()) else {
        return;
    };
    let o = pax(&["get", &f]);
    assert!(o.status.success());
    assert_eq!(out(&o), format!("{f}: no marking\n"));

    let o = pax(&["set", &f, "-em--"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), format!("{f}: em\n"));
    let o = pax(&["get", &f]);
    assert_eq!(
        out(&o),
        format!(
            "{f}: em\n  e  EMUTRAMP disabled (no effect in ironpen (PaX kernel feature))\n  \
             m  MPROTECT disabled (honoured: runs without memory-deny-write-execute)\n"
        )
    );
    let o = pax(&["set", &f, "Mr"]);
    assert!(o.status.success());
    assert!(out(&pax(&["get", &f])).contains("r  RANDMMAP disabled (honoured"));

    let o = pax(&["set", &f, ""]);
    assert_eq!(out(&o), format!("{f}: marking removed\n"));
    assert_eq!(out(&pax(&["get", &f])), format!("{f}: no marking\n"));
}

#[test]
fn bad_flag_letters_are_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let Some(f) = marked_file(dir.path()) else {
        return;
    };
    for (flags, named) in [("mx", "'x'"), ("m r", "' '"), ("Mm", "'m' is both")] {
        let o = pax(&["set", &f, flags]);
        assert_eq!(o.status.code(), Some(125), "{flags}");
        assert!(err(&o).contains(named), "{flags}: {}", err(&o));
    }
    assert_eq!(out(&pax(&["get", &f])), format!("{f}: no marking\n"));
}

#[test]
fn errors_name_the_file_and_errno() {
    let o = pax(&["get", "/nonexistent/ironpen-prog"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        err(&o).contains("getxattr(\"/nonexistent/ironpen-prog\", user.pax.flags)")
            && err(&o).contains("errno 2"),
        "{}",
        err(&o)
    );
}

/// Only the owner (or root) may mark a file: uid 65534 cannot mark a root-owned binary, and the
/// error says what to do instead.
#[test]
fn unprivileged_user_cannot_mark_foreign_files() {
    let is_root = fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if !is_root {
        eprintln!("SKIP: needs root to switch to uid 65534");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let Some(f) = marked_file(dir.path()) else {
        return;
    };
    let bin = dir.path().join("ironpen");
    assert!(Command::new("cp")
        .arg(bin::ironpen())
        .arg(&bin)
        .status()
        .unwrap()
        .success());
    let o = Command::new(&bin)
        .args(["pax", "set", &f, "m"])
        .uid(65534)
        .gid(65534)
        .current_dir("/")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    let e = err(&o);
    assert!(
        e.contains("setxattr") && e.contains("mark a copy you own"),
        "{e}"
    );
    // Reading needs only read permission.
    let o = Command::new(&bin)
        .args(["pax", "get", &f])
        .uid(65534)
        .gid(65534)
        .current_dir("/")
        .output()
        .unwrap();
    assert_eq!(out(&o), format!("{f}: no marking\n"));
}
