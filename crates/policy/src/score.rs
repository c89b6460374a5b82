//! Exposure score of a merged policy, in the spirit of `systemd-analyze security`: each
//! protection has a weight; the score is the weight of the protections that are off, scaled to
//! 0 (locked down) … 10 (no isolation).

use serde::Serialize;

use crate::model::{normalize_cap, NetMode, Policy, Protection, DANGEROUS_CAPS, DANGEROUS_SETS};

/// One protection of the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub weight: f64,
    pub on: bool,
    pub description: &'static str,
}

/// The score and its lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// 0.0 (locked down) … 10.0 (no isolation), one decimal.
    pub exposure: f64,
    pub rating: &'static str,
    pub checks: Vec<Check>,
}

/// Host paths whose read-write exposure gives the program the host (or its user) to keep.
const BROAD: &[&str] = &[
    "/", "/home", "/root", "/etc", "/var", "/run", "/usr", "/boot", "/dev", "/proc", "/sys",
];

/// Host directory of the X11 server sockets.
const X11_SOCKETS: &str = "/tmp/.X11-unix";

/// Whether bind entry `e` exposes the X11 sockets (the directory, one socket in it, or a parent).
fn x11(e: &str) -> bool {
    let h = Policy::bind_paths(e).0.trim_end_matches('/');
    let h = if h.is_empty() { "/" } else { h };
    h == X11_SOCKETS
        || h.strip_prefix(X11_SOCKETS)
            .is_some_and(|r| r.starts_with('/'))
        || X11_SOCKETS
            .strip_prefix(h)
            .is_some_and(|r| h == "/" || r.starts_with('/'))
}

pub fn score(p: &Policy) -> Score {
    let l = &p.layer;
    let caps: Vec<String> = l
        .capabilities
        .add
        .iter()
        .map(|c| normalize_cap(&c.value))
        .collect();
    let dangerous_cap = caps.iter().any(|c| DANGEROUS_CAPS.contains(&c.as_str()));
    let sys_admin = caps.iter().any(|c| c == "sys_admin");
    let seccomp_on = l.seccomp.profile.as_deref() != Some("none");
    let dangerous_set = l
        .seccomp
        .add_sets
        .iter()
        .any(|s| DANGEROUS_SETS.contains(&s.value.as_str()));
    let mount_set = l
        .seccomp
        .add_sets
        .iter()
        .any(|s| s.value == "@mount" || s.value == "@namespaces");
    let landlock = l.landlock.mode.unwrap_or(Protection::BestEffort);
    let host = |e: &str| Policy::bind_paths(e).0.trim_end_matches('/').to_string();
    let broad = |e: &str| {
        let h = host(e);
        let h = if h.is_empty() { "/".to_string() } else { h };
        BROAD.contains(&h.as_str()) || h.starts_with("/home/") && h.matches('/').count() == 2
    };
    let checks = vec![
        Check {
            name: "private-network",
            weight: 3.5,
            on: l.network.mode != Some(NetMode::Host),
            description: "own network namespace with only loopback (no host network)",
        },
        Check {
            name: "tcp-ports-restricted",
            weight: 0.5,
            on: l.network.mode != Some(NetMode::Host)
                || (l.network.tcp_connect.is_some() && l.network.tcp_bind.is_some()),
            description: "private network, or TCP connect and bind limited to listed ports",
        },
        Check {
            name: "no-dangerous-capabilities",
            weight: 4.0,
            on: !dangerous_cap,
            description:
                "no capability that weakens the jail (sys_admin, sys_ptrace, net_admin, ...)",
        },
        Check {
            name: "no-capabilities",
            weight: 0.5,
            on: caps.is_empty(),
            description: "the program holds no capability at all",
        },
        Check {
            name: "fixed-mounts",
            weight: 1.5,
            on: !sys_admin && !mount_set,
            description:
                "the program cannot mount or create namespaces (no sys_admin, @mount denied)",
        },
        Check {
            name: "seccomp",
            weight: 1.5,
            on: seccomp_on,
            description: "a seccomp filter limits the syscalls",
        },
        Check {
            name: "seccomp-no-dangerous-sets",
            weight: 1.0,
            on: seccomp_on && !dangerous_set,
            description: "no dangerous syscall set added (@debug, @mount, @bpf, ...)",
        },
        Check {
            name: "landlock",
            weight: 0.8,
            on: landlock != Protection::Off,
            description: "Landlock limits file access and execution",
        },
        Check {
            name: "landlock-required",
            weight: 0.2,
            on: landlock == Protection::Required,
            description: "refuse to run without full Landlock",
        },
        Check {
            name: "mdwe",
            weight: 0.4,
            on: l.mdwe.allow_jit != Some(true),
            description: "memory-deny-write-execute (no JIT exception)",
        },
        Check {
            name: "no-host-writes",
            weight: 0.8,
            on: l.filesystem.rw.is_empty(),
            description: "no host path is writable",
        },
        Check {
            name: "no-broad-host-paths",
            weight: 0.7,
            on: !l
                .filesystem
                .rw
                .iter()
                .chain(&l.filesystem.ro)
                .any(|e| broad(&e.value)),
            description: "no bind of /, a home directory, /etc, /var, /run, ... (read-only or not)",
        },
        Check {
            name: "no-devices",
            weight: 0.8,
            on: l.filesystem.dev.is_empty(),
            description:
                "no host device bound (/dev/kvm, /dev/dri, ...: a kernel driver's attack surface)",
        },
        Check {
            name: "no-display-server",
            weight: 0.6,
            on: !l
                .filesystem
                .rw
                .iter()
                .chain(&l.filesystem.ro)
                .any(|e| x11(&e.value)),
            description:
                "no X11 socket directory bound (an X client can read other windows and keystrokes)",
        },
        Check {
            name: "non-root-inside",
            weight: 0.3,
            on: matches!(l.identity.uid, Some(u) if u != 0),
            description: "runs as a non-zero uid inside the jail",
        },
        Check {
            name: "no-host-environment",
            weight: 0.2,
            on: l.environment.keep.is_empty(),
            description: "no variable copied from the host environment (secrets leak there)",
        },
        Check {
            name: "resource-limits",
            weight: 0.2,
            on: !l.limits.rlimits.is_empty(),
            description: "resource limits set (core dumps, open files, ...)",
        },
    ];
    let total: f64 = checks.iter().map(|c| c.weight).sum();
    let off: f64 = checks.iter().filter(|c| !c.on).map(|c| c.weight).sum();
    let exposure = (off / total * 100.0).round() / 10.0;
    let rating = match exposure {
        x if x < 2.0 => "locked down",
        x if x < 4.5 => "ok",
        x if x < 7.0 => "medium",
        _ => "exposed",
    };
    Score {
        exposure,
        rating,
        checks,
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<28} {:>6}  {:<3}  DESCRIPTION",
            "PROTECTION", "WEIGHT", "ON"
        )?;
        for c in &self.checks {
            writeln!(
                f,
                "{:<28} {:>6.1}  {:<3}  {}",
                c.name,
                c.weight,
                if c.on { "yes" } else { "NO" },
                c.description
            )?;
        }
        writeln!(f, "exposure {:.1}/10 ({})", self.exposure, self.rating)
    }
}
