//! From a user's request (CLI flags today, policy files later) to a validated `JailSpec`.
//! Everything that can be wrong with the input is found here, before any syscall that changes
//! state; the few host facts the default plan depends on (which /etc entries exist, whether /bin
//! is a usrmerge symlink) are read here too, so the child only executes.

use std::path::{Path, PathBuf};

use crate::caps::Capability;
use crate::rlimits::RlimitSpec;
use crate::spec::{
    jail_path, BindMode, Identity, JailSpec, MountOp, Protection, SeccompPlan, SpecError,
};
use ironpen_policy::seccomp::{self as sc, Arch, OciContext};

/// Host id that a root-started jail's ids map to: the kernel's overflow id "nobody", which owns
/// nothing that matters on a host. See docs/jail.md.
pub const ROOT_JAIL_HOST_ID: u32 = 65534;

/// Default PATH inside the jail.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One user-requested file system operation, in command-line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserMount {
    Bind {
        src: String,
        dst: String,
        mode: BindMode,
    },
    Tmpfs {
        dst: String,
    },
    Symlink {
        target: String,
        link: String,
    },
}

/// What the user asked for. Every field has the safe default when left empty.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub argv: Vec<String>,
    pub mounts: Vec<UserMount>,
    pub chdir: Option<String>,
    pub hostname: Option<String>,
    pub share_net: bool,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub caps: Vec<String>,
    pub rlimits: Vec<String>,
    pub setenv: Vec<String>,
    pub keep_env: Vec<String>,
    pub pass_fds: Vec<i32>,
    pub strict: bool,
    /// Refuse to start on a machine known to be unfit (`--require-fit`, policy `[fitness]`);
    /// checked by the caller before planning (see `ironpen_audit::gate`).
    pub require_fit: bool,
    /// Known risks accepted for `require_fit` (`--accept-risk`).
    pub accept_risk: Vec<String>,
    /// `default` (or unset), `none`, or the path of a profile file (OCI/Docker JSON or ours).
    pub seccomp: Option<String>,
    /// Landlock: best effort (unset), required, or off (`--landlock`).
    pub landlock: Option<Protection>,
    /// Run without memory-deny-write-execute (`--allow-jit`).
    pub allow_jit: bool,
    /// Extra places where Landlock allows execution (`--allow-exec DIR`).
    pub allow_exec: Vec<String>,
    /// Named syscall sets applied on top of the seccomp profile, in order: `(set, allow)`
    /// (policy files' `seccomp.add_sets` / `remove_sets`).
    pub seccomp_sets: Vec<(String, bool)>,
    /// `--tty`: `auto` (or unset), `always`, `never`.
    pub tty: Option<String>,
    /// TCP ports the program may connect to / bind (`--allow-connect`, `--allow-bind`: a port or
    /// `none`); empty: not restricted.
    pub allow_connect: Vec<String>,
    pub allow_bind: Vec<String>,
    /// cgroup limits as spelled by the user (`--memory`, `--pids`, `--cpu-percent`) and where
    /// to create the jail's cgroups (`--cgroup-parent`); see docs/limits.md.
    pub memory: Option<String>,
    pub pids: Option<String>,
    pub cpu_percent: Option<String>,
    pub cgroup_parent: Option<String>,
}

/// Host entries under /etc that ordinary programs need (read-only). Missing ones are skipped.
const ETC_ENTRIES: &[&str] = &[
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "nsswitch.conf",
    "host.conf",
    "gai.conf",
    "localtime",
    "timezone",
    "ssl",
    "ca-certificates",
    "protocols",
    "services",
    "os-release",
    // Interactive shells: readline's keys; bash's system-wide rc, read by an interactive
    // non-login bash (`ironpen run -- bash` on a terminal; `ironpen shell` is a login shell
    // and, with no /etc/profile, keeps the environment ironpen set).
    "inputrc",
    "bash.bashrc",
    // man: its search path and groff's local macros.
    "manpath.config",
    "groff",
    // fontconfig (anything that renders text: plots, graphviz, ImageMagick).
    "fonts",
    // OpenJDK on Debian/Ubuntu: the JDK's conf/ and lib/jvm.cfg are symlinks into these
    // (java.security, TLS and crypto policy); without them `java` fails to set up security.
    "java-8-openjdk",
    "java-11-openjdk",
    "java-17-openjdk",
    "java-21-openjdk",
    "java-25-openjdk",
];

/// /etc files up to this size are copied into the jail instead of bound (see default_mounts).
const SMALL_ETC_FILE: u64 = 32 * 1024;

/// The jail's /etc/hosts: the host's entries plus the jail's own host name, which must resolve
/// (`hostname -i`, Python's `gethostbyname(gethostname())`, Java's `getLocalHost` fail
/// without it) — to 127.0.1.1, Debian's address for the machine's own name, which the jail's
/// loopback serves. A host file too large to copy is bound unchanged with `--share-net` (its
/// entries are what the shared network needs) and replaced by loopback's names otherwise.
fn etc_hosts(hostname: &str, share_net: bool) -> MountOp {
    const HOST: &str = "/etc/hosts";
    let file = |host: &str| MountOp::File {
        dst: HOST.into(),
        contents: hosts_with_name(host, hostname),
        mode: 0o644,
    };
    let small = std::fs::metadata(HOST).map(|m| m.is_file() && m.len() <= SMALL_ETC_FILE);
    match (small, share_net) {
        (Ok(true), _) => match std::fs::read_to_string(HOST) {
            Ok(host) => file(&host),
            Err(_) if share_net => ro_bind(HOST),
            Err(_) => file(LOOPBACK_HOSTS),
        },
        (Ok(false), true) => ro_bind(HOST),
        _ => file(LOOPBACK_HOSTS),
    }
}

/// /etc/hosts when the host's cannot be used.
const LOOPBACK_HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/// `host` (a hosts file) with a line for `hostname` at 127.0.1.1 unless it already names it.
/// A name that cannot stand in a hosts file (blanks, a comment sign, a line break) is not added.
fn hosts_with_name(host: &str, hostname: &str) -> String {
    let usable = hostname
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    let listed = host.lines().any(|l| {
        let entry = l.split('#').next().unwrap_or("");
        entry
            .split_whitespace()
            .skip(1)
            .any(|name| name == hostname)
    });
    let mut out = host.to_owned();
    if usable && !listed {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("127.0.1.1\t{hostname}\n"));
    }
    out
}

/// Top-level directories that are usrmerge symlinks on modern distributions (or real
/// directories on older ones, then bound read-only).
const USR_LINKS: &[&str] = &["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// Device nodes bound from the host into the jail's /dev.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

impl Request {
    /// Validate the request and produce the plan.
    pub fn plan(&self) -> Result<JailSpec, SpecError> {
        if self.argv.is_empty() {
            return Err(SpecError::new(
                "COMMAND",
                "",
                "missing: give the program to run after --",
            ));
        }
        let ids = self.identity()?;
        let caps = self
            .caps
            .iter()
            .map(|c| {
                Capability::parse(c).ok_or_else(|| {
                    SpecError::new(
                        "--cap-add",
                        c,
                        "unknown capability (see capabilities(7), e.g. net_bind_service)",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut caps = caps;
        caps.sort();
        caps.dedup();
        let rlimits = self
            .rlimits
            .iter()
            .map(|r| RlimitSpec::parse(r))
            .collect::<Result<Vec<_>, _>>()?;
        for r in &rlimits {
            r.check_allowed()?;
        }
        for &fd in &self.pass_fds {
            if fd < 3 {
                return Err(SpecError::new(
                    "--pass-fd",
                    fd.to_string(),
                    "0, 1 and 2 are always passed",
                ));
            }
            if !ironpen_sys::fd::is_open(fd) {
                return Err(SpecError::new(
                    "--pass-fd",
                    fd.to_string(),
                    "not an open file descriptor",
                ));
            }
        }
        let mut pass_fds = self.pass_fds.clone();
        pass_fds.sort_unstable();
        pass_fds.dedup();

        let hostname = self.hostname.clone().unwrap_or_else(|| "ironpen".into());
        if hostname.is_empty() || hostname.len() > 64 || hostname.contains(['/', '\0']) {
            return Err(SpecError::new(
                "--hostname",
                &hostname,
                "must be 1-64 bytes without '/' or NUL",
            ));
        }
        let mut mounts = default_mounts(&ids, self.share_net, &hostname);
        for m in &self.mounts {
            mounts.push(user_mount(m)?);
        }
        mounts.push(MountOp::RemountRootReadOnly);

        let cwd = match &self.chdir {
            Some(d) => jail_path("--chdir", d).or_else(|e| {
                if d == "/" {
                    Ok(PathBuf::from("/"))
                } else {
                    Err(e)
                }
            })?,
            None => ids.home.clone(),
        };
        let env = self.environment(&ids)?;
        let seccomp = self.seccomp_plan(&caps_names(&caps))?;
        let tty = match self.tty.as_deref() {
            Some(mode) => crate::pty::TtyMode::parse(mode)?,
            None => crate::pty::TtyMode::default(),
        };
        Ok(JailSpec {
            argv: self.argv.clone(),
            env,
            cwd,
            hostname,
            share_net: self.share_net,
            ids,
            mounts,
            caps,
            rlimits,
            pass_fds,
            strict: self.strict,
            seccomp,
            landlock: self.landlock.unwrap_or(Protection::BestEffort),
            mdwe: if self.allow_jit {
                Protection::Off
            } else {
                Protection::BestEffort
            },
            exec_paths: self
                .allow_exec
                .iter()
                .map(|p| jail_path("--allow-exec", p))
                .collect::<Result<_, _>>()?,
            tty: crate::pty::plan(tty),
            tcp_connect: tcp_ports("--allow-connect", &self.allow_connect)?,
            tcp_bind: tcp_ports("--allow-bind", &self.allow_bind)?,
            limits: crate::cgroup::Limits::parse(
                self.memory.as_deref(),
                self.pids.as_deref(),
                self.cpu_percent.as_deref(),
                self.cgroup_parent.as_deref(),
            )?,
        })
    }

    fn seccomp_plan(
        &self,
        caps: &std::collections::BTreeSet<String>,
    ) -> Result<Option<SeccompPlan>, SpecError> {
        let arch = Arch::native().ok_or_else(|| {
            SpecError::new(
                "--seccomp",
                "",
                "no syscall table for this CPU architecture",
            )
        })?;
        let filter = match self.seccomp.as_deref() {
            // The built-in profile was compiled when ironpen was built (crates/jail/build.rs).
            None | Some("default") if self.seccomp_sets.is_empty() => {
                return Ok(Some(SeccompPlan {
                    profile: "default".into(),
                    filter: None,
                }));
            }
            None | Some("default") => sc::default_profile(),
            Some("none") => return Ok(None),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| SpecError::new("--seccomp", path, format!("cannot read: {e}")))?;
                let mut ctx = OciContext::new(arch);
                ctx.caps = caps.clone();
                sc::parse_profile(&text, &ctx)
                    .map_err(|e| SpecError::new("--seccomp", path, e.to_string()))?
            }
        };
        let filter = with_sets(filter, &self.seccomp_sets)?;
        // A profile from a file is compiled here too, so a bad one is reported (naming the file)
        // before anything runs.
        sc::compile(&filter, arch).map_err(|e| {
            SpecError::new(
                "--seccomp",
                self.seccomp.as_deref().unwrap_or("default"),
                format!("does not compile: {e}"),
            )
        })?;
        let mut profile = self.seccomp.clone().unwrap_or_else(|| "default".into());
        for (set, allow) in &self.seccomp_sets {
            profile.push_str(&format!(" {}{set}", if *allow { '+' } else { '-' }));
        }
        Ok(Some(SeccompPlan {
            profile,
            filter: Some(filter),
        }))
    }

    fn identity(&self) -> Result<Identity, SpecError> {
        let caller_uid = rustix::process::getuid().as_raw();
        let caller_gid = rustix::process::getgid().as_raw();
        let (host_uid, host_gid) = if caller_uid == 0 {
            (ROOT_JAIL_HOST_ID, ROOT_JAIL_HOST_ID)
        } else {
            (caller_uid, caller_gid)
        };
        let uid = self.uid.unwrap_or(caller_uid);
        let gid = self.gid.unwrap_or(caller_gid);
        for (arg, v) in [("--uid", uid), ("--gid", gid)] {
            if v == u32::MAX {
                return Err(SpecError::new(arg, v.to_string(), "is the invalid id (-1)"));
            }
        }
        let user = if uid == 0 {
            "root".to_string()
        } else if uid == caller_uid {
            host_user_name(caller_uid).unwrap_or_else(|| "user".into())
        } else {
            "user".into()
        };
        let home = if uid == 0 {
            PathBuf::from("/root")
        } else {
            Path::new("/home").join(&user)
        };
        Ok(Identity {
            uid,
            gid,
            host_uid,
            host_gid,
            user,
            home,
        })
    }

    fn environment(&self, ids: &Identity) -> Result<Vec<(String, String)>, SpecError> {
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), DEFAULT_PATH.into()),
            ("HOME".into(), ids.home.display().to_string()),
        ];
        env.push((
            "TERM".into(),
            std::env::var("TERM").unwrap_or_else(|_| "dumb".into()),
        ));
        env.push((
            "LANG".into(),
            std::env::var("LANG").unwrap_or_else(|_| "C.UTF-8".into()),
        ));
        let mut set = |k: &str, v: String| match env.iter_mut().find(|(ek, _)| ek == k) {
            Some(e) => e.1 = v,
            None => env.push((k.to_string(), v)),
        };
        for k in &self.keep_env {
            if k.is_empty() || k.contains(['=', '\0']) {
                return Err(SpecError::new("--keep-env", k, "not a valid variable name"));
            }
            if let Ok(v) = std::env::var(k) {
                set(k, v);
            }
        }
        for kv in &self.setenv {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| SpecError::new("--setenv", kv, "expected NAME=VALUE"))?;
            if k.is_empty() || kv.contains('\0') {
                return Err(SpecError::new("--setenv", kv, "not a valid variable name"));
            }
            set(k, v.to_string());
        }
        Ok(env)
    }
}

/// Apply named sets: a denied set replaces the profile's rules for its members; an allowed set
/// leaves members the profile already allows (perhaps by argument, like clone) as they are.
fn with_sets(mut filter: sc::Filter, sets: &[(String, bool)]) -> Result<sc::Filter, SpecError> {
    for (set, allow) in sets {
        let action = if *allow {
            sc::Action::Allow
        } else {
            sc::Action::Errno(sc::EPERM)
        };
        let mut one = sc::Filter::new(sc::Action::Allow);
        one.apply_set(set, action)
            .map_err(|e| SpecError::new("seccomp set", set, e.to_string()))?;
        for (name, rules) in one.syscalls {
            let allowed = filter
                .syscalls
                .get(&name)
                .is_some_and(|r| r.iter().any(|r| r.action == sc::Action::Allow));
            if !(*allow && allowed) {
                filter.syscalls.insert(name, rules);
            }
        }
    }
    Ok(filter)
}

/// `--allow-connect`/`--allow-bind` values: port numbers or `none`. No values: not restricted.
fn tcp_ports(arg: &str, values: &[String]) -> Result<Option<Vec<u16>>, SpecError> {
    if values.is_empty() {
        return Ok(None);
    }
    let mut ports = Vec::new();
    for v in values {
        if v == "none" {
            continue;
        }
        ports.push(v.parse::<u16>().map_err(|_| {
            SpecError::new(arg, v, "expected a TCP port number (0-65535) or \"none\"")
        })?);
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(Some(ports))
}

/// Capability names as OCI profiles spell them (`CAP_NET_BIND_SERVICE`), for `includes.caps`.
fn caps_names(caps: &[Capability]) -> std::collections::BTreeSet<String> {
    caps.iter()
        .map(|c| format!("CAP_{}", c.name().to_ascii_uppercase()))
        .collect()
}

fn host_user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2] == uid.to_string() && is_safe_name(f[0])).then(|| f[0].to_string())
    })
}

fn is_safe_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 32
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn ro_bind(p: &str) -> MountOp {
    MountOp::Bind {
        src: p.into(),
        dst: p.into(),
        mode: BindMode::ReadOnly,
        optional: true,
        origin: format!("default {p}"),
    }
}

/// The default jail's file system, before user mounts. See docs/jail.md.
fn default_mounts(ids: &Identity, share_net: bool, hostname: &str) -> Vec<MountOp> {
    let mut ops = vec![MountOp::Bind {
        src: "/usr".into(),
        dst: "/usr".into(),
        mode: BindMode::ReadOnly,
        optional: false,
        origin: "default /usr".into(),
    }];
    for name in USR_LINKS {
        let host = format!("/{name}");
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(&host) {
                    ops.push(MountOp::Symlink {
                        target,
                        link: host.clone().into(),
                        origin: format!("default {host}"),
                    });
                }
            }
            Ok(m) if m.is_dir() => ops.push(ro_bind(&host)),
            _ => {}
        }
    }
    ops.push(MountOp::Dir {
        dst: "/etc".into(),
        mode: 0o755,
    });
    let mut etc: Vec<&str> = ETC_ENTRIES.to_vec();
    if share_net {
        etc.push("resolv.conf");
    }
    for name in etc {
        let host = format!("/etc/{name}");
        match std::fs::symlink_metadata(&host) {
            // resolv.conf often points into /run, which the jail does not have: bind its content.
            Ok(m) if m.file_type().is_symlink() && name != "resolv.conf" => {
                if let Ok(target) = std::fs::read_link(&host) {
                    ops.push(MountOp::Symlink {
                        target,
                        link: host.clone().into(),
                        origin: format!("default {host}"),
                    });
                }
            }
            // Small text files are copied into the jail's (read-only) root: a copy costs a few
            // syscalls, a bind mount costs a mount and its teardown in every jail.
            Ok(m) if m.is_file() && m.len() <= SMALL_ETC_FILE && name != "resolv.conf" => {
                match std::fs::read_to_string(&host) {
                    Ok(contents) => ops.push(MountOp::File {
                        dst: host.clone().into(),
                        contents,
                        mode: 0o644,
                    }),
                    Err(_) => ops.push(ro_bind(&host)),
                }
            }
            Ok(_) => ops.push(ro_bind(&host)),
            Err(_) => {}
        }
    }
    ops.push(etc_hosts(hostname, share_net));
    let (u, g) = (ids.uid, ids.gid);
    let mut passwd = String::new();
    let mut group = String::new();
    if u != 0 {
        passwd.push_str("root:x:0:0:root:/root:/bin/sh\n");
    }
    if g != 0 {
        group.push_str("root:x:0:\n");
    }
    passwd.push_str(&format!(
        "{}:x:{u}:{g}:{}:{}:/bin/sh\n",
        ids.user,
        ids.user,
        ids.home.display()
    ));
    group.push_str(&format!(
        "{}:x:{g}:\n",
        if g == 0 { "root" } else { ids.user.as_str() }
    ));
    if u != 65534 {
        passwd.push_str("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
    }
    if g != 65534 {
        group.push_str("nogroup:x:65534:\n");
    }
    ops.push(MountOp::File {
        dst: "/etc/passwd".into(),
        contents: passwd,
        mode: 0o644,
    });
    ops.push(MountOp::File {
        dst: "/etc/group".into(),
        contents: group,
        mode: 0o644,
    });

    ops.push(MountOp::Tmpfs {
        dst: "/tmp".into(),
        mode: 0o1777,
        origin: "default /tmp".into(),
    });
    ops.push(MountOp::Proc {
        dst: "/proc".into(),
    });
    ops.push(MountOp::Tmpfs {
        dst: "/dev".into(),
        mode: 0o755,
        origin: "default /dev".into(),
    });
    for d in DEVICES {
        let p = format!("/dev/{d}");
        ops.push(MountOp::Bind {
            src: p.clone().into(),
            dst: p.clone().into(),
            mode: BindMode::Device,
            optional: false,
            origin: format!("default {p}"),
        });
    }
    ops.push(MountOp::Devpts {
        dst: "/dev/pts".into(),
    });
    ops.push(MountOp::Tmpfs {
        dst: "/dev/shm".into(),
        mode: 0o1777,
        origin: "default /dev/shm".into(),
    });
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        ops.push(MountOp::Symlink {
            target: target.into(),
            link: format!("/dev/{link}").into(),
            origin: format!("default /dev/{link}"),
        });
    }
    ops.push(MountOp::Tmpfs {
        dst: ids.home.clone(),
        mode: 0o755,
        origin: "home directory".into(),
    });
    ops
}

fn user_mount(m: &UserMount) -> Result<MountOp, SpecError> {
    Ok(match m {
        UserMount::Bind { src, dst, mode } => {
            let flag = match mode {
                BindMode::ReadOnly => "--ro-bind",
                BindMode::ReadWrite => "--bind",
                BindMode::Device => "--dev-bind",
            };
            let origin = format!("{flag} {src} {dst}");
            let dst = jail_path(flag, dst)?;
            check_target(flag, &dst)?;
            let abs =
                std::path::absolute(src).map_err(|e| SpecError::new(flag, src, e.to_string()))?;
            if let Err(e) = std::fs::metadata(&abs) {
                return Err(SpecError::new(
                    flag,
                    src,
                    format!("source cannot be used: {e}"),
                ));
            }
            MountOp::Bind {
                src: abs,
                dst,
                mode: *mode,
                optional: false,
                origin,
            }
        }
        UserMount::Tmpfs { dst } => {
            let p = jail_path("--tmpfs", dst)?;
            check_target("--tmpfs", &p)?;
            MountOp::Tmpfs {
                dst: p,
                mode: 0o755,
                origin: format!("--tmpfs {dst}"),
            }
        }
        UserMount::Symlink { target, link } => {
            let l = jail_path("--symlink", link)?;
            check_target("--symlink", &l)?;
            if target.is_empty() || target.contains('\0') {
                return Err(SpecError::new(
                    "--symlink",
                    target,
                    "empty or invalid target",
                ));
            }
            MountOp::Symlink {
                target: target.into(),
                link: l,
                origin: format!("--symlink {target} {link}"),
            }
        }
    })
}

/// Targets under /proc and /dev/pts are kernel file systems where nothing can be created.
fn check_target(flag: &str, dst: &Path) -> Result<(), SpecError> {
    for fs in ["/proc", "/dev/pts"] {
        if dst.starts_with(fs) {
            return Err(SpecError::new(
                flag,
                dst.display().to_string(),
                format!("cannot mount over or inside {fs} (a kernel file system of the jail)"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_names_the_jail() {
        let host = "127.0.0.1 localhost\n# comment naming ironpen\n10.0.0.5 db";
        assert_eq!(
            hosts_with_name(host, "ironpen"),
            format!("{host}\n127.0.1.1\tironpen\n")
        );
        // Already there (even as an alias): unchanged.
        let listed = "127.0.0.1 localhost\n10.0.0.7 web.lan web # the box\n";
        assert_eq!(hosts_with_name(listed, "web"), listed);
        // Names that would break the file or add lines are left out.
        for bad in ["a b", "x\n10.0.0.1 evil", "h#1", "tab\there"] {
            assert_eq!(
                hosts_with_name(LOOPBACK_HOSTS, bad),
                LOOPBACK_HOSTS,
                "{bad:?}"
            );
        }
        assert_eq!(
            hosts_with_name("", "box-1.example"),
            "127.0.1.1\tbox-1.example\n"
        );
    }

    #[test]
    fn default_plan_has_a_hosts_file_with_the_jail_name() {
        let mut r = req(&["true"]);
        r.hostname = Some("jailbox".into());
        let spec = r.plan().unwrap();
        let hosts = spec
            .mounts
            .iter()
            .find_map(|m| match m {
                MountOp::File { dst, contents, .. } if dst == Path::new("/etc/hosts") => {
                    Some(contents.clone())
                }
                _ => None,
            })
            .expect("a generated /etc/hosts");
        assert!(hosts.contains("127.0.1.1\tjailbox\n"), "{hosts}");
        assert!(hosts.contains("localhost"), "{hosts}");
    }

    fn req(argv: &[&str]) -> Request {
        Request {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn default_plan_is_hardened() {
        let spec = req(&["true"]).plan().unwrap();
        assert!(spec.caps.is_empty());
        assert!(!spec.share_net);
        assert!(matches!(
            spec.mounts.last(),
            Some(MountOp::RemountRootReadOnly)
        ));
        assert!(spec
            .mounts
            .iter()
            .any(|m| matches!(m, MountOp::Proc { .. })));
        let usr = spec
            .mounts
            .iter()
            .find(|m| m.target() == Some(Path::new("/usr")))
            .unwrap();
        assert!(matches!(
            usr,
            MountOp::Bind {
                mode: BindMode::ReadOnly,
                ..
            }
        ));
        assert!(!spec
            .mounts
            .iter()
            .any(|m| m.target() == Some(Path::new("/etc/resolv.conf"))));
        let keys: Vec<&str> = spec.env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["PATH", "HOME", "TERM", "LANG"]);
        if rustix::process::getuid().is_root() {
            assert_eq!((spec.ids.uid, spec.ids.host_uid), (0, ROOT_JAIL_HOST_ID));
        }
    }

    #[test]
    fn bad_input_names_the_argument() {
        let mut r = req(&["true"]);
        r.caps = vec!["net_bind".into()];
        assert_eq!(r.plan().unwrap_err().arg, "--cap-add");
        let mut r = req(&["true"]);
        r.mounts = vec![UserMount::Bind {
            src: "/definitely/not/here".into(),
            dst: "/x".into(),
            mode: BindMode::ReadOnly,
        }];
        let e = r.plan().unwrap_err();
        assert_eq!(
            (e.arg.as_str(), e.value.as_str()),
            ("--ro-bind", "/definitely/not/here")
        );
        let mut r = req(&["true"]);
        r.mounts = vec![UserMount::Tmpfs {
            dst: "/a/../../etc".into(),
        }];
        assert!(r.plan().unwrap_err().reason.contains(".."));
        let mut r = req(&["true"]);
        r.mounts = vec![UserMount::Tmpfs {
            dst: "/proc/sys".into(),
        }];
        assert!(r.plan().unwrap_err().reason.contains("/proc"));
        let mut r = req(&["true"]);
        r.pass_fds = vec![987];
        assert!(r.plan().unwrap_err().reason.contains("not an open"));
        let mut r = req(&["true"]);
        r.setenv = vec!["NOVALUE".into()];
        assert_eq!(r.plan().unwrap_err().arg, "--setenv");
        assert_eq!(req(&[]).plan().unwrap_err().arg, "COMMAND");
    }

    #[test]
    fn env_and_caps_are_normalized() {
        let mut r = req(&["true"]);
        r.setenv = vec!["A=1".into(), "PATH=/x".into()];
        r.caps = vec!["CAP_NET_BIND_SERVICE".into(), "net_bind_service".into()];
        let spec = r.plan().unwrap();
        assert!(spec.env.contains(&("A".into(), "1".into())));
        assert!(spec.env.contains(&("PATH".into(), "/x".into())));
        assert_eq!(spec.caps.len(), 1);
    }

    #[test]
    fn plan_round_trips_through_json() {
        let spec = req(&["sh", "-c", "echo hi"]).plan().unwrap();
        let json = serde_json::to_string(&spec).unwrap();
        let back: JailSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(spec, back);
    }
}
