//! Shared by the ws_* tests: a copy of ironpen uid 65534 can run, workspaces in temp dirs, and a
//! fingerprint of a directory tree (to prove a base was not modified).
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "../common/staged.rs"]
mod staged;
pub use staged::{is_root, whos, Env, Who};

impl Env {
    /// Where `who`'s workspaces live in this test (`ws --root`).
    pub fn ws_root(&self, who: Who) -> PathBuf {
        let name = match who {
            Who::Caller => "ws-caller",
            Who::Nobody => "ws-nobody",
        };
        let d = self.path().join(name);
        if !d.exists() {
            fs::create_dir(&d).unwrap();
            fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).unwrap();
            if who == Who::Nobody {
                std::os::unix::fs::chown(&d, Some(65534), Some(65534)).unwrap();
            }
        }
        d
    }

    /// `ironpen run --workspace NAME --workspace-dir ROOT/NAME --base BASE [extra] -- sh -c SCRIPT`.
    pub fn run_in(
        &self,
        who: Who,
        name: &str,
        base: &Path,
        extra: &[&str],
        script: &str,
    ) -> Output {
        let wsdir = self.ws_root(who).join(name);
        let mut args = vec![
            "run",
            "--workspace",
            name,
            "--workspace-dir",
            wsdir.to_str().unwrap(),
            "--base",
            base.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "sh", "-c", script]);
        self.run(who, &args)
    }

    /// `ironpen ws --root ROOT ARGS...`
    pub fn ws(&self, who: Who, args: &[&str]) -> Output {
        let root = self.ws_root(who);
        let mut a = vec!["ws", "--root", root.to_str().unwrap()];
        a.extend_from_slice(args);
        self.run(who, &a)
    }
}

pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every entry of a tree (never following symlinks): path, type, mode, owner, size, content
/// hash (FNV-1a) or link target, xattr names. Equal fingerprints = unmodified tree.
pub fn fingerprint(root: &Path) -> String {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let md = fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        let ft = md.file_type();
        let what = if ft.is_symlink() {
            format!("link {}", fs::read_link(&p).unwrap().display())
        } else if ft.is_file() {
            use std::io::Read as _;
            let mut h: u64 = 0xcbf29ce484222325;
            let mut f = fs::File::open(&p).unwrap();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = f.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                for &b in &buf[..n] {
                    h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
                }
            }
            format!("file {h:x}")
        } else if ft.is_dir() {
            let mut names: Vec<PathBuf> = fs::read_dir(&p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            names.sort();
            stack.extend(names);
            "dir".into()
        } else {
            format!("special {:o} {:x}", md.mode(), md.rdev())
        };
        out.push(format!(
            "{rel} {what} {:o} {}:{} {}",
            md.mode(),
            md.uid(),
            md.gid(),
            if ft.is_dir() { 0 } else { md.len() }
        ));
    }
    out.sort();
    out.join("\n")
}

/// The lines in which two fingerprints differ (for short failure messages).
pub fn fp_diff(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let only_a: Vec<&&str> = la.iter().filter(|l| !lb.contains(l)).take(5).collect();
    let only_b: Vec<&&str> = lb.iter().filter(|l| !la.contains(l)).take(5).collect();
    format!("only before: {only_a:?}\nonly after: {only_b:?}")
}

/// Can `who` open /dev/fuse read-write? (Debian's default mode is 0666; some containers have
/// 0600, which leaves only root.)
pub fn dev_fuse_usable(who: Who) -> bool {
    let Ok(md) = fs::metadata("/dev/fuse") else {
        return false;
    };
    (who == Who::Caller && is_root()) || md.permissions().mode() & 0o006 == 0o006
}
