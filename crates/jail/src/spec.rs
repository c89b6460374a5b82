//! `JailSpec`: the normalized, fully validated plan of one jail. Everything the child does is
//! written here first, so `ironpen run --print-plan` shows exactly what will happen and no
//! user input is parsed after the clone.

use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};

use crate::caps::Capability;
use crate::rlimits::RlimitSpec;

/// The plan of one jail.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JailSpec {
    /// argv of the jailed program; argv[0] is looked up in the jail's PATH when it has no '/'.
    pub argv: Vec<String>,
    /// The complete environment of the jailed program.
    pub env: Vec<(String, String)>,
    /// Working directory inside the jail.
    pub cwd: PathBuf,
    pub hostname: String,
    /// `false`: own network namespace with only loopback (up). `true`: the host's network.
    pub share_net: bool,
    pub ids: Identity,
    /// Mount operations, executed in order on a fresh tmpfs that becomes `/`.
    pub mounts: Vec<MountOp>,
    /// Capabilities the program keeps (as ambient capabilities); empty = none at all.
    pub caps: Vec<Capability>,
    pub rlimits: Vec<RlimitSpec>,
    /// File descriptors (besides 0-2) passed into the jail.
    pub pass_fds: Vec<i32>,
    /// Refuse to start when any protection cannot be fully enforced.
    pub strict: bool,
    /// The seccomp filter (None: no filter, by explicit request).
    pub seccomp: Option<SeccompPlan>,
    /// Landlock file-system (and scope) rules derived from the mounts.
    pub landlock: Protection,
    /// Memory-deny-write-execute (PR_SET_MDWE). `Off` when the program is exempt (PaX-style
    /// `m` mark on the executable, or an explicit request).
    pub mdwe: Protection,
    /// Places inside the jail where Landlock also allows execution (`--allow-exec`), beyond the
    /// read-only and read-write binds.
    #[serde(default)]
    pub exec_paths: Vec<PathBuf>,
    /// The jail's own pseudo-terminal (`--tty`); `None`: fds 0-2 pass through unchanged and the
    /// program has no controlling terminal. See docs/terminal.md.
    #[serde(default)]
    pub tty: Option<crate::pty::TtyPlan>,
    /// TCP ports the program may connect to (Landlock, ABI >= 4); `None`: not restricted.
    #[serde(default)]
    pub tcp_connect: Option<Vec<u16>>,
    /// TCP ports the program may bind; `None`: not restricted.
    #[serde(default)]
    pub tcp_bind: Option<Vec<u16>>,
    /// Memory, process and CPU limits enforced with cgroups (docs/limits.md).
    #[serde(default, skip_serializing_if = "crate::cgroup::Limits::is_empty")]
    pub limits: crate::cgroup::Limits,
}

/// Whether a kernel-dependent protection must be enforced, may degrade, or is not wanted.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Protection {
    /// Refuse to run without it.
    Required,
    /// Use what the kernel offers; the enforcement report says what that was.
    BestEffort,
    Off,
}

impl Protection {
    /// Under `--strict`, best effort becomes a requirement.
    pub fn required(self, strict: bool) -> bool {
        self == Protection::Required || (strict && self == Protection::BestEffort)
    }
}

/// The seccomp filter of a jail: where it came from, and the filter itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SeccompPlan {
    /// `default`, or the profile file's path (and the sets a policy added or removed).
    pub profile: String,
    /// The filter; `None` is ironpen's built-in profile, compiled when ironpen was built (see
    /// `ironpen policy explain` for its decisions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<ironpen_policy::seccomp::Filter>,
}

/// User and group ids inside the jail and the host ids they map to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub host_uid: u32,
    pub host_gid: u32,
    /// Login name of the jail user (for the generated /etc/passwd).
    pub user: String,
    pub home: PathBuf,
}

/// How a bind mount is restricted.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BindMode {
    /// ro, nosuid, nodev (on every submount).
    ReadOnly,
    /// nosuid, nodev.
    ReadWrite,
    /// nosuid only: device nodes work (--dev-bind).
    Device,
}

/// One step of building the jail's file system.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum MountOp {
    /// Bind `src` (a host path) at `dst`. `optional`: skip silently when `src` does not exist.
    Bind {
        src: PathBuf,
        dst: PathBuf,
        mode: BindMode,
        optional: bool,
        origin: String,
    },
    /// A fresh tmpfs.
    Tmpfs {
        dst: PathBuf,
        mode: u32,
        origin: String,
    },
    /// procfs for the jail's pid namespace (only the pid directories where supported).
    Proc { dst: PathBuf },
    /// A new devpts instance with `ptmx` (and the /dev/ptmx symlink beside it).
    Devpts { dst: PathBuf },
    /// A directory in the jail's root tmpfs.
    Dir { dst: PathBuf, mode: u32 },
    /// A symbolic link `link` -> `target`.
    Symlink {
        target: PathBuf,
        link: PathBuf,
        origin: String,
    },
    /// A small generated file (e.g. /etc/passwd).
    File {
        dst: PathBuf,
        contents: String,
        mode: u32,
    },
    /// Make the jail's root tmpfs read-only (the last step).
    RemountRootReadOnly,
    // --- workspaces (docs/workspaces.md) ---
    /// A copy-on-write view of host directory `lower` at `dst`: an overlay (nosuid, nodev,
    /// `userxattr`) whose writes land in `upper` (with overlay's scratch `work`), both on the
    /// host in the workspace directory. `lower` is never written.
    Overlay {
        lower: PathBuf,
        upper: PathBuf,
        work: PathBuf,
        dst: PathBuf,
        origin: String,
        /// Who implements the overlay (chosen when planning, never changed by the child).
        #[serde(default)]
        driver: OverlayDriver,
    },
}

/// The implementation of a workspace overlay.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum OverlayDriver {
    /// The kernel's overlayfs, mounted in the jail's user namespace with `userxattr`.
    #[default]
    Kernel,
    /// fuse-overlayfs: the jail mounts `fuse` on a /dev/fuse it opened and hands that fd to
    /// ironpen, which serves it with this binary running outside the jail (never inside it:
    /// the jailed program could trace or kill a daemon in its own pid namespace).
    FuseOverlayfs { binary: PathBuf },
}

impl MountOp {
    /// The path inside the jail this operation creates or covers.
    pub fn target(&self) -> Option<&Path> {
        match self {
            MountOp::Bind { dst, .. }
            | MountOp::Tmpfs { dst, .. }
            | MountOp::Proc { dst }
            | MountOp::Devpts { dst }
            | MountOp::Dir { dst, .. }
            | MountOp::File { dst, .. }
            | MountOp::Overlay { dst, .. } => Some(dst),
            MountOp::Symlink { link, .. } => Some(link),
            MountOp::RemountRootReadOnly => None,
        }
    }

    /// Does this operation attach a mount (which may cover directories of the tree built so
    /// far)?
    pub fn is_mount(&self) -> bool {
        match self {
            MountOp::Bind { .. }
            | MountOp::Tmpfs { .. }
            | MountOp::Proc { .. }
            | MountOp::Devpts { .. }
            | MountOp::Overlay { .. } => true,
            MountOp::Dir { .. }
            | MountOp::File { .. }
            | MountOp::Symlink { .. }
            | MountOp::RemountRootReadOnly => false,
        }
    }

    /// The user-facing spelling of this operation, for error messages.
    pub fn origin(&self) -> String {
        match self {
            MountOp::Bind { origin, .. }
            | MountOp::Tmpfs { origin, .. }
            | MountOp::Symlink { origin, .. }
            | MountOp::Overlay { origin, .. } => origin.clone(),
            MountOp::Proc { dst } => format!("proc on {}", dst.display()),
            MountOp::Devpts { dst } => format!("devpts on {}", dst.display()),
            MountOp::Dir { dst, .. } => format!("directory {}", dst.display()),
            MountOp::File { dst, .. } => format!("file {}", dst.display()),
            MountOp::RemountRootReadOnly => "read-only root".into(),
        }
    }
}

/// Check that `p` is a path inside the jail: absolute, no `..`, no `.`, not `/` itself.
/// Returns the path with duplicate slashes removed.
pub fn jail_path(arg: &str, p: &str) -> Result<PathBuf, SpecError> {
    let path = Path::new(p);
    if !path.is_absolute() {
        return Err(SpecError::new(
            arg,
            p,
            "must be an absolute path inside the jail",
        ));
    }
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                return Err(SpecError::new(
                    arg,
                    p,
                    "must not contain '..' (it could point outside the jail)",
                ))
            }
            Component::CurDir | Component::Prefix(_) => {
                return Err(SpecError::new(arg, p, "must not contain '.' components"))
            }
        }
    }
    if out == Path::new("/") {
        return Err(SpecError::new(
            arg,
            p,
            "cannot replace the jail's root directory",
        ));
    }
    Ok(out)
}

/// A user-input error, found before anything is set up.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{arg} {value}: {reason}")]
pub struct SpecError {
    pub arg: String,
    pub value: String,
    pub reason: String,
}

impl SpecError {
    pub fn new(arg: &str, value: impl AsRef<str>, reason: impl Into<String>) -> Self {
        Self {
            arg: arg.into(),
            value: value.as_ref().into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jail_paths_are_normalized_and_confined() {
        assert_eq!(
            jail_path("--bind", "/a//b/").unwrap(),
            PathBuf::from("/a/b")
        );
        assert!(jail_path("--bind", "a/b")
            .unwrap_err()
            .reason
            .contains("absolute"));
        assert!(jail_path("--bind", "/a/../etc")
            .unwrap_err()
            .reason
            .contains(".."));
        assert_eq!(
            jail_path("--bind", "/a/./b").unwrap(),
            PathBuf::from("/a/b")
        );
        assert!(jail_path("--tmpfs", "/")
            .unwrap_err()
            .reason
            .contains("root"));
    }

    #[test]
    fn spec_error_names_argument_value_and_reason() {
        let e = SpecError::new("--bind", "/nope", "source does not exist");
        assert_eq!(e.to_string(), "--bind /nope: source does not exist");
    }
}
