//! Landlock: file-system access rules derived from the mount plan (defence in depth under the
//! mounts), plus scoping of abstract unix sockets and signals. Built in the program's process
//! after pivot_root, so every path is the jail's own. See docs/landlock.md.
//!
//! Policy: read everything mounted; write only beneath the jail's writable places; execute only
//! beneath the read-only and read-write binds (and `--allow-exec` paths); never write /proc
//! (which also closes the /proc/self/mem route around W^X).

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus, NetPort,
    PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

use crate::error::SetupError;
use crate::report::{Entry, Level};
use crate::spec::{BindMode, JailSpec, MountOp, Protection};

const FEATURE: &str = "landlock";
/// The ABI this policy is written for: file access rights up to device ioctls (5) and scoping
/// (6). Newer kernels enforce exactly this; older ones enforce a subset (reported as partial).
const TARGET: ABI = ABI::V6;

/// What a rule grants beneath a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grant {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Grant {
    const READ: Grant = Grant {
        read: true,
        write: false,
        exec: false,
    };
    const WRITE: Grant = Grant {
        read: false,
        write: true,
        exec: false,
    };
    const EXEC: Grant = Grant {
        read: false,
        write: false,
        exec: true,
    };
    const WRITE_EXEC: Grant = Grant {
        read: false,
        write: true,
        exec: true,
    };

    fn access(self) -> BitFlags<AccessFs> {
        let mut a = BitFlags::EMPTY;
        if self.read {
            a |= AccessFs::ReadFile | AccessFs::ReadDir;
        }
        if self.write {
            // Everything but execute: create, remove, rename/link within, truncate, device ioctls.
            a |= AccessFs::from_write(TARGET);
        }
        if self.exec {
            a |= AccessFs::Execute;
        }
        a
    }
}

/// One rule: a path inside the jail, what it grants, and whether a missing path is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathRule {
    pub path: PathBuf,
    pub grant: Grant,
    /// Asked for explicitly (`--allow-exec`): it must exist.
    pub explicit: bool,
}

/// The rules the mount plan implies (pure; unit-tested).
pub(crate) fn path_rules(spec: &JailSpec) -> Vec<PathRule> {
    let rule = |path: &Path, grant: Grant| PathRule {
        path: path.to_path_buf(),
        grant,
        explicit: false,
    };
    let mut rules = vec![rule(Path::new("/"), Grant::READ)];
    for op in &spec.mounts {
        let r = match op {
            MountOp::Bind { dst, mode, .. } => match mode {
                BindMode::ReadOnly => rule(dst, Grant::EXEC),
                // People build and run code in their work directories.
                BindMode::ReadWrite => rule(dst, Grant::WRITE_EXEC),
                BindMode::Device => rule(dst, Grant::WRITE),
            },
            // A workspace is a work directory whose writes go to its private layer.
            MountOp::Overlay { dst, .. } => rule(dst, Grant::WRITE_EXEC),
            // /dev holds only the device nodes and links the plan puts there.
            MountOp::Tmpfs { dst, .. } if dst == Path::new("/dev") => continue,
            // /tmp, /dev/shm, home, --tmpfs: writable, not executable.
            MountOp::Tmpfs { dst, .. } | MountOp::Devpts { dst } => rule(dst, Grant::WRITE),
            MountOp::Proc { .. }
            | MountOp::Dir { .. }
            | MountOp::File { .. }
            | MountOp::Symlink { .. }
            | MountOp::RemountRootReadOnly => continue,
        };
        rules.push(r);
    }
    for p in &spec.exec_paths {
        rules.push(PathRule {
            path: p.clone(),
            grant: Grant::EXEC,
            explicit: true,
        });
    }
    rules
}

/// Restrict the calling process (the program, just before execve).
pub(crate) fn restrict(spec: &JailSpec) -> Result<Entry, SetupError> {
    if spec.landlock == Protection::Off {
        return Ok(Entry::waived(
            FEATURE,
            "disabled by request (--landlock off)",
        ));
    }
    let fail = |e: &dyn std::fmt::Display| SetupError::other(FEATURE, "", e.to_string());
    let scopes = Scope::AbstractUnixSocket | Scope::Signal;
    let mut net = BitFlags::<AccessNet>::EMPTY;
    if spec.tcp_connect.is_some() {
        net |= AccessNet::ConnectTcp;
    }
    if spec.tcp_bind.is_some() {
        net |= AccessNet::BindTcp;
    }
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(TARGET))
        .map_err(|e| fail(&e))?;
    if !net.is_empty() {
        ruleset = ruleset.handle_access(net).map_err(|e| fail(&e))?;
    }
    let mut ruleset = ruleset
        .scope(scopes)
        .map_err(|e| fail(&e))?
        .create()
        .map_err(|e| fail(&e))?;
    for (ports, access) in [
        (&spec.tcp_connect, AccessNet::ConnectTcp),
        (&spec.tcp_bind, AccessNet::BindTcp),
    ] {
        for &port in ports.iter().flatten() {
            ruleset = ruleset
                .add_rule(NetPort::new(port, access))
                .map_err(|e| fail(&e))?;
        }
    }
    let mut count = 0usize;
    for r in path_rules(spec) {
        let fd = match PathFd::new(&r.path) {
            Ok(fd) => fd,
            Err(e) if r.explicit => {
                return Err(SetupError::other(
                    FEATURE,
                    format!("--allow-exec {}", r.path.display()),
                    e.to_string(),
                ))
            }
            // Not there (an optional bind, or covered by a later mount): granting nothing is
            // the safe side.
            Err(_) => continue,
        };
        let Some(access) = rule_access(fd.as_fd(), r.grant) else {
            continue;
        };
        ruleset = ruleset
            .add_rule(PathBeneath::new(fd, access))
            .map_err(|e| fail(&e))?;
        count += 1;
    }
    // The standard streams and passed descriptors lead outside the jail's tree (a host file or
    // terminal); keep them reopenable (/dev/stdout, /proc/self/fd/N) with the access they have.
    let mut fds: Vec<i32> = vec![0, 1, 2];
    fds.extend(&spec.pass_fds);
    for n in fds {
        let Ok(fd) = ironpen_sys::confine::dup_fd(n) else {
            continue;
        };
        let Some(grant) = fd_grant(fd.as_fd()) else {
            continue;
        };
        let Some(access) = rule_access(fd.as_fd(), grant) else {
            continue;
        };
        // Files of kernel-internal mounts (memfd, anonymous inodes) cannot carry a rule
        // (EBADFD); Landlock does not restrict reopening those anyway.
        let _ = (&mut ruleset).add_rule(PathBeneath::new(fd, access));
    }
    let status = ruleset.restrict_self().map_err(|e| fail(&e))?;
    let entry = entry_for(&status.ruleset, status.landlock, count, &port_policy(spec));
    if spec.landlock.required(spec.strict) && entry.level != Level::Full {
        return Err(SetupError::other(
            FEATURE,
            "",
            format!("required but {}: {}", entry.level, entry.detail),
        ));
    }
    Ok(entry)
}

/// The rights a rule on `fd` grants: non-directories only take file rights (else the crate
/// reports a partial rule). None when the rule would grant nothing: execute on a file without
/// any x bit (the /etc entries the plan binds), which keeps start-up cheap.
fn rule_access(fd: BorrowedFd<'_>, grant: Grant) -> Option<BitFlags<AccessFs>> {
    let st = rustix::fs::fstat(fd).ok()?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir() {
        return Some(grant.access());
    }
    if grant == Grant::EXEC && st.st_mode & 0o111 == 0 {
        return None;
    }
    Some(grant.access() & AccessFs::from_file(TARGET))
}

/// What an inherited descriptor may be reopened for: its own access mode. Sockets and pipes need
/// no rule (Landlock does not restrict them); directories (`--pass-fd` of a directory) get read
/// and write beneath them, never execute.
fn fd_grant(fd: BorrowedFd<'_>) -> Option<Grant> {
    use rustix::fs::{FileType, OFlags};
    let st = rustix::fs::fstat(fd).ok()?;
    let ty = FileType::from_raw_mode(st.st_mode);
    if ty == FileType::Directory {
        return Some(Grant {
            read: true,
            write: true,
            exec: false,
        });
    }
    if !matches!(ty, FileType::RegularFile | FileType::CharacterDevice) {
        return None;
    }
    let mode = rustix::fs::fcntl_getfl(fd).ok()? & OFlags::RWMODE;
    if mode.contains(OFlags::PATH) {
        return None;
    }
    Some(Grant {
        read: mode == OFlags::RDONLY || mode == OFlags::RDWR,
        write: mode == OFlags::WRONLY || mode == OFlags::RDWR,
        exec: false,
    })
}

const NO_PORTS: &str = "tcp ports not restricted (no port policy)";

/// The TCP part of the report line, e.g. `tcp connect 443; tcp bind none`.
fn port_policy(spec: &JailSpec) -> String {
    let show = |ports: &Option<Vec<u16>>, what: &str| {
        ports.as_ref().map(|p| {
            if p.is_empty() {
                format!("tcp {what} none")
            } else {
                let list: Vec<String> = p.iter().map(u16::to_string).collect();
                format!("tcp {what} {}", list.join(","))
            }
        })
    };
    let parts: Vec<String> = [
        show(&spec.tcp_connect, "connect"),
        show(&spec.tcp_bind, "bind"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        NO_PORTS.into()
    } else {
        parts.join("; ")
    }
}

/// The report line: the kernel's ABI, what it enforced, and what it could not.
fn entry_for(
    ruleset: &RulesetStatus,
    landlock: LandlockStatus,
    rules: usize,
    ports: &str,
) -> Entry {
    let abi = match landlock {
        LandlockStatus::Available {
            effective_abi,
            kernel_abi,
        } => kernel_abi.unwrap_or(effective_abi as i32),
        LandlockStatus::NotEnabled => {
            return Entry::off(FEATURE, "Landlock is built but not enabled (lsm= at boot)")
        }
        LandlockStatus::NotImplemented => {
            return Entry::off(
                FEATURE,
                "kernel without Landlock (CONFIG_SECURITY_LANDLOCK)",
            )
        }
    };
    let mut missing = Vec::new();
    if abi < 2 {
        missing.push("no cross-directory rename/link");
    }
    if abi < 3 {
        missing.push("no truncate rule");
    }
    if abi < 4 && ports != NO_PORTS {
        missing.push("no tcp port rules");
    }
    if abi < 5 {
        missing.push("no device ioctl rule");
    }
    if abi < 6 {
        missing.push("no scoping of abstract unix sockets and signals");
    }
    let have = if abi >= 6 {
        format!("fs rules ({rules} paths) + scope (abstract unix, signal)")
    } else {
        format!("fs rules ({rules} paths)")
    };
    match ruleset {
        RulesetStatus::FullyEnforced => Entry::full(FEATURE, format!("ABI {abi}: {have}; {ports}")),
        RulesetStatus::PartiallyEnforced => Entry::new(
            FEATURE,
            Level::Partial,
            format!("kernel ABI {abi}: {have}; {ports}; {}", missing.join(", ")),
        ),
        RulesetStatus::NotEnforced => {
            Entry::off(FEATURE, format!("kernel ABI {abi}: not enforced"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Request, UserMount};

    fn spec(mounts: Vec<UserMount>) -> JailSpec {
        Request {
            argv: vec!["true".into()],
            mounts,
            ..Default::default()
        }
        .plan()
        .unwrap()
    }

    fn grant_of(rules: &[PathRule], p: &str) -> Option<Grant> {
        rules
            .iter()
            .find(|r| r.path == Path::new(p))
            .map(|r| r.grant)
    }

    #[test]
    fn default_plan_rules() {
        let s = spec(vec![]);
        let rules = path_rules(&s);
        assert_eq!(grant_of(&rules, "/"), Some(Grant::READ));
        assert_eq!(grant_of(&rules, "/usr"), Some(Grant::EXEC));
        for w in ["/tmp", "/dev/shm", "/dev/pts", "/dev/null", "/dev/tty"] {
            assert_eq!(grant_of(&rules, w), Some(Grant::WRITE), "{w}");
        }
        assert_eq!(
            grant_of(&rules, s.ids.home.to_str().unwrap()),
            Some(Grant::WRITE)
        );
        // Not writable: the /dev tmpfs itself, /proc, /etc.
        for p in ["/dev", "/proc", "/etc", "/etc/passwd"] {
            assert_eq!(grant_of(&rules, p), None, "{p}");
        }
        // Nothing but binds is executable.
        for r in &rules {
            if r.grant.exec {
                assert!(
                    s.mounts
                        .iter()
                        .any(|m| matches!(m, MountOp::Bind { dst, mode, .. }
                        if *dst == r.path && *mode != BindMode::Device)),
                    "{:?} is executable",
                    r.path
                );
            }
        }
    }

    #[test]
    fn user_mounts_and_allow_exec() {
        let dir = std::env::temp_dir();
        let d = dir.to_str().unwrap().to_string();
        let mut s = spec(vec![
            UserMount::Bind {
                src: d.clone(),
                dst: "/work".into(),
                mode: BindMode::ReadWrite,
            },
            UserMount::Bind {
                src: d.clone(),
                dst: "/ro".into(),
                mode: BindMode::ReadOnly,
            },
            UserMount::Bind {
                src: d,
                dst: "/devs".into(),
                mode: BindMode::Device,
            },
            UserMount::Tmpfs {
                dst: "/scratch".into(),
            },
        ]);
        s.exec_paths = vec!["/tmp".into()];
        let rules = path_rules(&s);
        assert_eq!(grant_of(&rules, "/work"), Some(Grant::WRITE_EXEC));
        assert_eq!(grant_of(&rules, "/ro"), Some(Grant::EXEC));
        assert_eq!(grant_of(&rules, "/devs"), Some(Grant::WRITE));
        assert_eq!(grant_of(&rules, "/scratch"), Some(Grant::WRITE));
        let tmp: Vec<_> = rules
            .iter()
            .filter(|r| r.path == Path::new("/tmp"))
            .collect();
        assert!(tmp.iter().any(|r| r.grant == Grant::EXEC && r.explicit));
    }

    #[test]
    fn grants_map_to_access_rights() {
        assert!(!Grant::READ.access().contains(AccessFs::Execute));
        assert!(!Grant::WRITE.access().contains(AccessFs::Execute));
        assert!(Grant::WRITE
            .access()
            .contains(AccessFs::IoctlDev | AccessFs::Truncate));
        assert_eq!(Grant::EXEC.access(), AccessFs::Execute);
        // Only rights the target ABI handles are ever granted.
        for g in [Grant::READ, Grant::WRITE_EXEC] {
            assert!(AccessFs::from_all(TARGET).contains(g.access()));
        }
    }
}

#[cfg(test)]
mod port_tests {
    use crate::plan::Request;

    #[test]
    fn port_options_are_parsed_and_reported() {
        let base = Request {
            argv: vec!["true".into()],
            ..Default::default()
        };
        let spec = base.plan().unwrap();
        assert_eq!(
            (spec.tcp_connect.clone(), spec.tcp_bind.clone()),
            (None, None)
        );
        assert_eq!(super::port_policy(&spec), super::NO_PORTS);
        let spec = Request {
            allow_connect: vec!["443".into(), "80".into(), "443".into()],
            allow_bind: vec!["none".into()],
            ..base.clone()
        }
        .plan()
        .unwrap();
        assert_eq!(spec.tcp_connect, Some(vec![80, 443]));
        assert_eq!(spec.tcp_bind, Some(vec![]));
        assert_eq!(
            super::port_policy(&spec),
            "tcp connect 80,443; tcp bind none"
        );
        for bad in ["http", "65536", "-1"] {
            let e = Request {
                allow_connect: vec![bad.into()],
                ..base.clone()
            }
            .plan()
            .unwrap_err();
            assert_eq!((e.arg.as_str(), e.value.as_str()), ("--allow-connect", bad));
        }
    }
}

#[cfg(test)]
mod report_tests {
    use super::*;

    fn at(abi: ABI) -> LandlockStatus {
        LandlockStatus::Available {
            effective_abi: abi,
            kernel_abi: None,
        }
    }

    #[test]
    fn report_lines_per_abi() {
        let e = entry_for(&RulesetStatus::FullyEnforced, at(ABI::V7), 16, NO_PORTS);
        assert_eq!(e.level, Level::Full);
        assert_eq!(
            e.detail,
            "ABI 7: fs rules (16 paths) + scope (abstract unix, signal); tcp ports not restricted (no port policy)"
        );
        let e = entry_for(
            &RulesetStatus::PartiallyEnforced,
            at(ABI::V3),
            16,
            "tcp connect 443",
        );
        assert_eq!(e.level, Level::Partial);
        assert_eq!(
            e.detail,
            "kernel ABI 3: fs rules (16 paths); tcp connect 443; no tcp port rules, no device ioctl rule, \
             no scoping of abstract unix sockets and signals"
        );
        let e = entry_for(&RulesetStatus::PartiallyEnforced, at(ABI::V5), 16, NO_PORTS);
        assert!(
            e.detail
                .ends_with("; no scoping of abstract unix sockets and signals"),
            "{}",
            e.detail
        );
        let e = entry_for(
            &RulesetStatus::NotEnforced,
            LandlockStatus::NotImplemented,
            0,
            NO_PORTS,
        );
        assert_eq!(
            (e.level, e.detail.contains("without Landlock")),
            (Level::Off, true)
        );
        let e = entry_for(
            &RulesetStatus::NotEnforced,
            LandlockStatus::NotEnabled,
            0,
            NO_PORTS,
        );
        assert!(e.detail.contains("lsm="), "{}", e.detail);
        // A kernel newer than the crate knows: its own number is reported.
        let newer = LandlockStatus::Available {
            effective_abi: ABI::V7,
            kernel_abi: Some(12),
        };
        let e = entry_for(&RulesetStatus::FullyEnforced, newer, 16, NO_PORTS);
        assert!(e.detail.starts_with("ABI 12:"), "{}", e.detail);
    }
}
