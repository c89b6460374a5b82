//! The reference evaluator: what a filter decides, computed from the IR directly. The compiled
//! program must agree with it on every input.

use super::ir::{Action, Filter};
use super::syscalls::{Arch, X32_SYSCALL_BIT};
use super::SeccompData;

/// The decision `filter`, compiled for `arch`, must take on `data`.
pub fn reference(filter: &Filter, arch: Arch, data: &SeccompData) -> Action {
    if data.arch != arch.audit_arch() {
        return filter.bad_arch_action;
    }
    let nr = data.nr as u32;
    if arch == Arch::X86_64 && nr >= X32_SYSCALL_BIT {
        return filter.x32_action;
    }
    let Some(name) = arch.table().name(nr) else {
        return filter.unknown_action.unwrap_or(filter.default_action);
    };
    filter
        .syscalls
        .get(name)
        .and_then(|rules| rules.iter().find(|r| r.matches(&data.args)))
        .map_or(filter.default_action, |r| r.action)
}
