//! A copy of the ironpen binary in a 0755 temp directory, so uid 65534 can execute it, and
//! commands run as the caller or as 65534: shared by the ws_* and confine tests.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[path = "bin.rs"]
pub mod bin;

/// Who starts ironpen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Who {
    Caller,
    Nobody,
}

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        // Copy in a child process: a write fd held by this multi-threaded test process could
        // leak into children other tests fork, and exec would fail with ETXTBSY.
        let ok = Command::new("cp")
            .arg(bin::ironpen())
            .arg(dir.path().join("ironpen"))
            .status()
            .unwrap()
            .success();
        assert!(ok);
        Env { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A 0755 directory owned by 65534 when root (so both a rootless 65534 and a root-started
    /// jail, whose ids map to host 65534, can write in it).
    pub fn dir_for(&self, name: &str) -> PathBuf {
        let d = self.path().join(name);
        fs::create_dir_all(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        if is_root() {
            std::os::unix::fs::chown(&d, Some(65534), Some(65534)).unwrap();
        }
        d
    }

    pub fn command(&self, who: Who, args: &[&str]) -> Command {
        let mut c = match who {
            Who::Caller => Command::new(bin::ironpen()),
            Who::Nobody => {
                let mut c = Command::new(self.path().join("ironpen"));
                c.uid(65534).gid(65534);
                c
            }
        };
        c.args(args).stdin(Stdio::null()).current_dir("/");
        c
    }

    pub fn run(&self, who: Who, args: &[&str]) -> Output {
        self.command(who, args).output().unwrap()
    }
}

pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
}

pub fn whos() -> Vec<Who> {
    if is_root() {
        vec![Who::Caller, Who::Nobody]
    } else {
        vec![Who::Caller]
    }
}
