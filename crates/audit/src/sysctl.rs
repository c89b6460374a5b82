//! Kernel settings that weaken isolation. They are advice: they do not change the verdict,
//! because ironpen's own jails block the affected interfaces (seccomp, new pty, own user
//! namespace), but other programs on the host rely on them.

use std::fs;
use std::path::Path;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SysctlState {
    /// At or beyond the recommended value.
    Ok,
    /// Weaker than recommended.
    Weak,
    /// The kernel has no such knob; `detail` says what that means.
    Absent(String),
    /// It exists but could not be read or parsed.
    Unreadable(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysctlFinding {
    pub name: &'static str,
    pub value: Option<i64>,
    pub state: SysctlState,
    pub recommended: &'static str,
    pub why: &'static str,
}

struct Rule {
    name: &'static str,
    ok: fn(i64) -> bool,
    recommended: &'static str,
    why: &'static str,
    when_absent: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        name: "dev.tty.legacy_tiocsti",
        ok: |v| v == 0,
        recommended: "0",
        why: "TIOCSTI lets any process that holds a terminal fd push input into it: a program sharing the caller's terminal can type commands into the parent shell",
        when_absent: "kernel older than 6.2: TIOCSTI cannot be turned off system-wide",
    },
    Rule {
        name: "dev.tty.ldisc_autoload",
        ok: |v| v == 0,
        recommended: "0",
        why: "1 lets any user who can open a pty load line-discipline modules (n_hdlc, n_gsm had local-root bugs), so a jail with a pty can pull kernel attack surface in",
        when_absent: "kernel older than 5.1: line disciplines always autoload",
    },
    Rule {
        name: "fs.protected_symlinks",
        ok: |v| v >= 1,
        recommended: "1",
        why: "0 lets a process plant symlinks in shared sticky directories (a bind-mounted /tmp) that root processes on the host then follow",
        when_absent: "kernel without the knob",
    },
    Rule {
        name: "fs.protected_hardlinks",
        ok: |v| v >= 1,
        recommended: "1",
        why: "0 lets a process hard-link files it cannot write (setuid binaries, root-owned configs) into places it controls",
        when_absent: "kernel without the knob",
    },
    Rule {
        name: "kernel.yama.ptrace_scope",
        ok: |v| v >= 1,
        recommended: ">= 1",
        why: "0 lets a process ptrace any other process of the same uid, reading its memory and secrets",
        when_absent: "Yama is not built or not enabled: ptrace is limited only by uid and dumpable checks",
    },
    Rule {
        name: "kernel.unprivileged_bpf_disabled",
        ok: |v| v >= 1,
        recommended: ">= 1",
        why: "unprivileged eBPF is a large, often exploited kernel attack surface (verifier bugs) and a speculative-execution gadget source",
        when_absent: "kernel without the knob (or without BPF syscall)",
    },
    Rule {
        name: "vm.unprivileged_userfaultfd",
        ok: |v| v == 0,
        recommended: "0",
        why: "userfaultfd lets unprivileged code stall kernel copies at will, which turns kernel races into reliable exploits",
        when_absent: "kernel older than 5.2: userfaultfd is unrestricted",
    },
    Rule {
        name: "kernel.perf_event_paranoid",
        ok: |v| v >= 2,
        recommended: ">= 2",
        why: "lower values expose kernel profiling and CPU events to unprivileged users: side channels and kernel attack surface",
        when_absent: "kernel without perf events",
    },
    Rule {
        name: "kernel.kptr_restrict",
        ok: |v| v >= 1,
        recommended: ">= 1",
        why: "0 prints kernel pointers in /proc and logs, defeating KASLR for exploit writers",
        when_absent: "kernel without the knob",
    },
    Rule {
        name: "kernel.dmesg_restrict",
        ok: |v| v >= 1,
        recommended: "1",
        why: "0 lets any user read the kernel log, which leaks addresses and other processes' activity",
        when_absent: "kernel without the knob",
    },
];

/// Read the settings under `<procfs_root>/sys`.
pub fn read(procfs_root: &Path) -> Vec<SysctlFinding> {
    RULES
        .iter()
        .map(|r| {
            let path = procfs_root.join("sys").join(r.name.replace('.', "/"));
            let (value, state) = match fs::read_to_string(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    (None, SysctlState::Absent(r.when_absent.to_owned()))
                }
                Err(e) => (
                    None,
                    SysctlState::Unreadable(format!("read {}: {e}", path.display())),
                ),
                Ok(text) => match text.trim().parse::<i64>() {
                    Ok(v) if (r.ok)(v) => (Some(v), SysctlState::Ok),
                    Ok(v) => (Some(v), SysctlState::Weak),
                    Err(e) => (
                        None,
                        SysctlState::Unreadable(format!(
                            "parse {}: {:?}: {e}",
                            path.display(),
                            text.trim()
                        )),
                    ),
                },
            };
            SysctlFinding {
                name: r.name,
                value,
                state,
                recommended: r.recommended,
                why: r.why,
            }
        })
        .collect()
}
