//! The seccomp IR: what a filter decides, independent of any architecture's syscall numbers.
//! A filter maps syscall names to ordered rules (first match wins); each rule is an AND of
//! argument conditions. Several rules with the same action give the OR.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the kernel does with a syscall (the `SECCOMP_RET_*` actions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Action {
    Allow,
    /// Fail the syscall with this errno (the kernel caps it at 4095).
    Errno(u16),
    KillProcess,
    KillThread,
    /// Send SIGSYS with this value in `si_errno`.
    Trap(u16),
    /// Allow, and log it.
    Log,
    /// Hand the decision to the supervisor listening on the notify fd.
    UserNotify,
    /// Notify a ptrace tracer with this message value (ENOSYS without a tracer).
    Trace(u16),
}

pub const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const SECCOMP_RET_KILL_THREAD: u32 = 0x0000_0000;
pub const SECCOMP_RET_TRAP: u32 = 0x0003_0000;
pub const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
pub const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
pub const SECCOMP_RET_LOG: u32 = 0x7ffc_0000;
pub const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

impl Action {
    /// The 32-bit value a filter returns for this action.
    pub fn to_ret(self) -> u32 {
        match self {
            Action::Allow => SECCOMP_RET_ALLOW,
            Action::Errno(e) => SECCOMP_RET_ERRNO | u32::from(e),
            Action::KillProcess => SECCOMP_RET_KILL_PROCESS,
            Action::KillThread => SECCOMP_RET_KILL_THREAD,
            Action::Trap(d) => SECCOMP_RET_TRAP | u32::from(d),
            Action::Log => SECCOMP_RET_LOG,
            Action::UserNotify => SECCOMP_RET_USER_NOTIF,
            Action::Trace(d) => SECCOMP_RET_TRACE | u32::from(d),
        }
    }

    /// Decode a filter return value (the inverse of [`Action::to_ret`]).
    pub fn from_ret(ret: u32) -> Option<Action> {
        let data = u16::try_from(ret & 0xffff).unwrap_or(0);
        Some(match ret & 0xffff_0000 {
            SECCOMP_RET_ALLOW => Action::Allow,
            SECCOMP_RET_ERRNO => Action::Errno(data),
            SECCOMP_RET_KILL_PROCESS => Action::KillProcess,
            SECCOMP_RET_KILL_THREAD => Action::KillThread,
            SECCOMP_RET_TRAP => Action::Trap(data),
            SECCOMP_RET_LOG => Action::Log,
            SECCOMP_RET_USER_NOTIF => Action::UserNotify,
            SECCOMP_RET_TRACE => Action::Trace(data),
            _ => return None,
        })
    }

    /// Does the syscall go ahead (possibly logged)?
    pub fn permits(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Allow => f.write_str("allow"),
            Action::Errno(e) => match super::errno_name(*e) {
                Some(n) => write!(f, "errno {e} ({n})"),
                None => write!(f, "errno {e}"),
            },
            Action::KillProcess => f.write_str("kill-process"),
            Action::KillThread => f.write_str("kill-thread"),
            Action::Trap(d) => write!(f, "trap {d}"),
            Action::Log => f.write_str("log"),
            Action::UserNotify => f.write_str("user-notify"),
            Action::Trace(d) => write!(f, "trace {d}"),
        }
    }
}

/// How many bits of an argument a condition looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Width {
    /// An `int`/`unsigned int` argument: only the low 32 bits count; the kernel ignores the upper
    /// half, so the filter must too (CVE-2019-10063 was a 64-bit compare on `ioctl`'s cmd).
    W32,
    /// A `long`, pointer-sized or 64-bit argument: all 64 bits count.
    W64,
}

/// Comparison operator; all comparisons are unsigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `(arg & mask) == (value & mask)` (libseccomp's meaning: value bits outside the mask are
    /// ignored).
    MaskedEq {
        mask: u64,
    },
}

/// One argument condition: `args[arg] <op> value`, on `width` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cond {
    pub arg: u8,
    pub width: Width,
    pub op: Op,
    pub value: u64,
}

impl Cond {
    pub fn new(arg: u8, width: Width, op: Op, value: u64) -> Cond {
        Cond {
            arg,
            width,
            op,
            value,
        }
    }

    /// Evaluate on a raw 64-bit argument value.
    pub fn matches(&self, raw: u64) -> bool {
        let (a, v, mask) = match self.width {
            Width::W32 => (raw & 0xffff_ffff, self.value & 0xffff_ffff, 0xffff_ffff),
            Width::W64 => (raw, self.value, u64::MAX),
        };
        match self.op {
            Op::Eq => a == v,
            Op::Ne => a != v,
            Op::Lt => a < v,
            Op::Le => a <= v,
            Op::Gt => a > v,
            Op::Ge => a >= v,
            Op::MaskedEq { mask: m } => a & m & mask == v & m,
        }
    }
}

impl std::fmt::Display for Cond {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = match self.width {
            Width::W32 => "(u32)",
            Width::W64 => "",
        };
        let arg = format!("{w}arg{}", self.arg);
        match self.op {
            Op::Eq => write!(f, "{arg} == {:#x}", self.value),
            Op::Ne => write!(f, "{arg} != {:#x}", self.value),
            Op::Lt => write!(f, "{arg} < {:#x}", self.value),
            Op::Le => write!(f, "{arg} <= {:#x}", self.value),
            Op::Gt => write!(f, "{arg} > {:#x}", self.value),
            Op::Ge => write!(f, "{arg} >= {:#x}", self.value),
            Op::MaskedEq { mask } => write!(f, "{arg} & {mask:#x} == {:#x}", self.value),
        }
    }
}

/// `action` if every condition holds (an empty list always holds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub action: Action,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conds: Vec<Cond>,
    /// Why this rule exists (shown by `explain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Rule {
    pub fn always(action: Action) -> Rule {
        Rule {
            action,
            conds: Vec::new(),
            comment: None,
        }
    }
    pub fn when(action: Action, conds: Vec<Cond>) -> Rule {
        Rule {
            action,
            conds,
            comment: None,
        }
    }
    pub fn matches(&self, args: &[u64; 6]) -> bool {
        self.conds
            .iter()
            .all(|c| c.matches(args[usize::from(c.arg)]))
    }
}

/// A complete seccomp policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// For syscalls the architecture knows but no rule decides.
    pub default_action: Action,
    /// For numbers the architecture's table does not know (newer syscalls, garbage). `None`:
    /// the default action. ENOSYS here makes new syscalls fail as on an older kernel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_action: Option<Action>,
    /// For a syscall made with a foreign audit architecture (e.g. `int 0x80` on x86_64).
    #[serde(default = "default_bad_arch")]
    pub bad_arch_action: Action,
    /// For x32 syscall numbers on x86_64 (`nr >= 0x40000000`).
    #[serde(default = "default_bad_arch")]
    pub x32_action: Action,
    /// Per syscall name: rules tried in order; the first match decides, else `default_action`.
    #[serde(default)]
    pub syscalls: BTreeMap<String, Vec<Rule>>,
}

fn default_bad_arch() -> Action {
    Action::KillProcess
}

impl Filter {
    pub fn new(default_action: Action) -> Filter {
        Filter {
            default_action,
            unknown_action: None,
            bad_arch_action: Action::KillProcess,
            x32_action: Action::KillProcess,
            syscalls: BTreeMap::new(),
        }
    }

    /// Append a rule for `name` (after the rules it already has).
    pub fn add(&mut self, name: &str, rule: Rule) -> &mut Self {
        self.syscalls
            .entry(name.to_string())
            .or_default()
            .push(rule);
        self
    }

    pub fn allow(&mut self, name: &str) -> &mut Self {
        self.add(name, Rule::always(Action::Allow))
    }

    /// Give every member of a named set (`@mount`, ...) the unconditional `action`, replacing
    /// its rules; each rule's comment is the set's reason for that member. Members no
    /// architecture we know has (other ABIs' names) are skipped.
    pub fn apply_set(&mut self, set: &str, action: Action) -> Result<&mut Self, IrError> {
        let s = super::sets::get(set).ok_or_else(|| IrError {
            syscall: set.to_string(),
            rule: 0,
            reason: "no such syscall set".into(),
        })?;
        for (name, why) in s.members {
            if super::is_known_anywhere(name) {
                let rule = Rule {
                    action,
                    conds: Vec::new(),
                    comment: Some(format!("{}: {why}", s.name)),
                };
                self.syscalls.insert(name.to_string(), vec![rule]);
            }
        }
        Ok(self)
    }

    /// Check what the compiler relies on: argument indexes 0..=5, 32-bit values fit in 32 bits.
    pub fn validate(&self) -> Result<(), IrError> {
        for (name, rules) in &self.syscalls {
            for (i, rule) in rules.iter().enumerate() {
                for c in &rule.conds {
                    if c.arg > 5 {
                        return Err(IrError {
                            syscall: name.clone(),
                            rule: i,
                            reason: format!("argument index {} is not in 0..=5", c.arg),
                        });
                    }
                    if c.width == Width::W32 {
                        let mask = match c.op {
                            Op::MaskedEq { mask } => mask,
                            _ => 0,
                        };
                        if c.value > 0xffff_ffff || mask > 0xffff_ffff {
                            return Err(IrError {
                                syscall: name.clone(),
                                rule: i,
                                reason: format!(
                                    "32-bit condition `{c}` has a value or mask wider than 32 bits"
                                ),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// A filter the compiler cannot take as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("seccomp rule {rule} of syscall `{syscall}`: {reason}")]
pub struct IrError {
    pub syscall: String,
    pub rule: usize,
    pub reason: String,
}
