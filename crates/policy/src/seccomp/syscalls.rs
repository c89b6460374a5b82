//! Syscall name <-> number tables per architecture. The data files come from libseccomp's
//! `scmp_sys_resolver` (a test re-checks them) plus syscalls newer than that libseccomp.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// A syscall ABI the compiler can target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Arch {
    X86_64,
    Aarch64,
}

/// `AUDIT_ARCH_*` values (`seccomp_data.arch`).
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub const AUDIT_ARCH_ARM: u32 = 0x4000_0028;

/// x86_64 x32 ABI syscalls have this bit set in `nr`.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    pub fn audit_arch(self) -> u32 {
        match self {
            Arch::X86_64 => AUDIT_ARCH_X86_64,
            Arch::Aarch64 => AUDIT_ARCH_AARCH64,
        }
    }

    /// The architecture this library was built for, if we have tables for it.
    pub fn native() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    pub fn table(self) -> &'static SyscallTable {
        static X86_64: OnceLock<SyscallTable> = OnceLock::new();
        static AARCH64: OnceLock<SyscallTable> = OnceLock::new();
        match self {
            Arch::X86_64 => X86_64.get_or_init(|| {
                SyscallTable::parse(include_str!("../../../../data/seccomp/x86_64.txt"))
            }),
            Arch::Aarch64 => AARCH64.get_or_init(|| {
                SyscallTable::parse(include_str!("../../../../data/seccomp/aarch64.txt"))
            }),
        }
    }
}

/// Is `name` a syscall on any architecture (libseccomp's list of all of them, and ours)? A
/// profile name missing from one architecture's table may be another architecture's syscall;
/// a name that is none is a typo.
pub fn known_on_some_arch(name: &str) -> bool {
    static ALL: OnceLock<std::collections::BTreeSet<&'static str>> = OnceLock::new();
    ALL.get_or_init(|| {
        include_str!("../../../../data/seccomp/all-names.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
    .contains(name)
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Both directions of one architecture's syscall table.
#[derive(Debug)]
pub struct SyscallTable {
    by_name: BTreeMap<&'static str, u32>,
    by_nr: BTreeMap<u32, &'static str>,
}

impl SyscallTable {
    fn parse(text: &'static str) -> SyscallTable {
        let mut by_name = BTreeMap::new();
        let mut by_nr = BTreeMap::new();
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (name, nr) = line
                .split_once(' ')
                .expect("syscall table line is `name number`");
            let nr: u32 = nr.trim().parse().expect("syscall number");
            by_name.insert(name, nr);
            by_nr.insert(nr, name);
        }
        SyscallTable { by_name, by_nr }
    }

    /// Every syscall name of the table, in name order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_name.keys().copied()
    }

    pub fn nr(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    pub fn name(&self, nr: u32) -> Option<&'static str> {
        self.by_nr.get(&nr).copied()
    }

    pub fn contains_nr(&self, nr: u32) -> bool {
        self.by_nr.contains_key(&nr)
    }

    /// All (number, name) pairs, by number.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &'static str)> + '_ {
        self.by_nr.iter().map(|(n, s)| (*n, *s))
    }

    pub fn len(&self) -> usize {
        self.by_nr.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_nr.is_empty()
    }
}

/// Is `name` a syscall on any architecture we know? (Catches typos in profiles.)
pub fn is_known_anywhere(name: &str) -> bool {
    Arch::ALL.iter().any(|a| a.table().nr(name).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_numbers() {
        let t = Arch::X86_64.table();
        assert_eq!(t.nr("read"), Some(0));
        assert_eq!(t.nr("getppid"), Some(110));
        assert_eq!(t.nr("clone3"), Some(435));
        assert_eq!(t.name(39), Some("getpid"));
        let a = Arch::Aarch64.table();
        assert_eq!(a.nr("getppid"), Some(173));
        assert_eq!(a.nr("open"), None);
        assert!(t.len() > 360 && a.len() > 310);
    }
}
