//! Seccomp: the IR, a compiler to classic BPF, a verifier that mirrors the kernel's checks, an
//! interpreter and a reference evaluator (used to test the compiler), syscall tables and named
//! sets, the default profile, OCI/Docker JSON import and `explain`.

mod compile;
mod explain;
pub mod fuzzing;
mod interp;
mod ir;
mod oci;
mod profile;
mod reference;
pub mod sets;
mod syscalls;
mod verify;

pub use compile::{bpf, compile, CompileError, Instruction};
pub use explain::{explain, explain_text, summary, Decision, Line};
pub use interp::{interpret, InterpError};
pub use ir::*;
pub use oci::{from_oci_json, parse_profile, OciContext, OciError};
pub use profile::default_profile;
pub use reference::reference;
pub use syscalls::{
    is_known_anywhere, Arch, SyscallTable, AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_I386,
    AUDIT_ARCH_X86_64, X32_SYSCALL_BIT,
};
pub use verify::{verify, VerifyError};

/// The kernel's `struct seccomp_data`, the input of every filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompData {
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

/// `sizeof(struct seccomp_data)`.
pub const SECCOMP_DATA_SIZE: u32 = 64;

impl SeccompData {
    pub fn new(arch: Arch, nr: u32, args: [u64; 6]) -> SeccompData {
        SeccompData {
            nr: i32::from_ne_bytes(nr.to_ne_bytes()),
            arch: arch.audit_arch(),
            instruction_pointer: 0,
            args,
        }
    }

    #[allow(clippy::cast_possible_truncation)] // taking the 32-bit halves of 64-bit fields
    /// The 32-bit word at byte offset `off` (little-endian halves, as on x86_64 and aarch64).
    pub fn word(&self, off: u32) -> Option<u32> {
        if off & 3 != 0 || off >= SECCOMP_DATA_SIZE {
            return None;
        }
        let half = |v: u64, hi: bool| if hi { (v >> 32) as u32 } else { v as u32 };
        Some(match off {
            0 => u32::from_ne_bytes(self.nr.to_ne_bytes()),
            4 => self.arch,
            8 | 12 => half(self.instruction_pointer, off == 12),
            _ => {
                let i = ((off - 16) / 8) as usize;
                half(self.args[i], (off - 16) % 8 == 4)
            }
        })
    }
}

/// Names for the errno values profiles use (for `explain` and error messages).
pub fn errno_name(e: u16) -> Option<&'static str> {
    Some(match e {
        1 => "EPERM",
        2 => "ENOENT",
        13 => "EACCES",
        22 => "EINVAL",
        38 => "ENOSYS",
        95 => "EOPNOTSUPP",
        _ => return None,
    })
}

pub const EPERM: u16 = 1;
pub const EINVAL: u16 = 22;
pub const ENOSYS: u16 = 38;
