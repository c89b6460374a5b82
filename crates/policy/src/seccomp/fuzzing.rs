//! Shared by the cargo-fuzz target (`fuzz/fuzz_targets/seccomp_compile.rs`) and the
//! stable-toolchain fuzz smoke (`tests/fuzz_smoke.rs`): decode arbitrary bytes into seccomp IR and
//! probe inputs, and check the compiler's promises on them. Pure; panics on a broken promise.

use super::*;

/// Bytes -> IR and inputs. Reads past the end as zeros.
pub struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    pub fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }
    pub fn action(&mut self) -> Action {
        match self.u8() % 8 {
            0 => Action::Allow,
            1 => Action::Errno(self.u16()),
            2 => Action::KillProcess,
            3 => Action::KillThread,
            4 => Action::Trap(self.u16()),
            5 => Action::Log,
            6 => Action::UserNotify,
            _ => Action::Trace(self.u16()),
        }
    }
    pub fn cond(&mut self) -> Cond {
        let arg = self.u8() % 6;
        let w32 = self.u8() & 1 == 1;
        let mut value = self.u64();
        let mut op = match self.u8() % 7 {
            0 => Op::Eq,
            1 => Op::Ne,
            2 => Op::Lt,
            3 => Op::Le,
            4 => Op::Gt,
            5 => Op::Ge,
            _ => Op::MaskedEq { mask: self.u64() },
        };
        if w32 {
            value &= 0xffff_ffff;
            if let Op::MaskedEq { mask } = &mut op {
                *mask &= 0xffff_ffff;
            }
        }
        Cond::new(arg, if w32 { Width::W32 } else { Width::W64 }, op, value)
    }
    pub fn filter(&mut self) -> Filter {
        let mut f = Filter::new(self.action());
        f.unknown_action = (self.u8() & 1 == 1).then(|| self.action());
        f.bad_arch_action = self.action();
        f.x32_action = self.action();
        let names: Vec<&str> = Arch::X86_64.table().iter().map(|(_, n)| n).collect();
        for _ in 0..self.u8() % 24 {
            let name = names[usize::from(self.u16()) % names.len()];
            for _ in 0..self.u8() % 4 {
                let action = self.action();
                let conds = (0..self.u8() % 4).map(|_| self.cond()).collect();
                f.add(name, Rule::when(action, conds));
            }
        }
        f
    }
}

/// What the compile target asserts, for one filter: it compiles (or is too long) for every
/// architecture, the verifier accepts the program, and the interpreter decides like the reference
/// evaluator on inputs from `inputs`. Returns whether any architecture compiled.
pub fn check_compiled(f: &Filter, inputs: &mut Bytes<'_>) -> bool {
    let mut compiled = false;
    for arch in Arch::ALL {
        let prog = match compile(f, arch) {
            Ok(p) => p,
            Err(CompileError::TooLong { .. }) => continue,
            Err(e) => panic!("valid IR refused: {e}"),
        };
        compiled = true;
        verify(&prog).expect("compiler emitted a program the kernel would refuse");
        for _ in 0..8 {
            let d = SeccompData {
                nr: i32::from_le_bytes(inputs.u32().to_le_bytes()) & 0x4000_01ff,
                arch: if inputs.u8() & 3 == 0 {
                    inputs.u32()
                } else {
                    arch.audit_arch()
                },
                instruction_pointer: 0,
                args: [
                    inputs.u64(),
                    inputs.u64(),
                    inputs.u64(),
                    inputs.u64(),
                    inputs.u64(),
                    inputs.u64(),
                ],
            };
            assert_eq!(
                interpret(&prog, &d).expect("verified program runs"),
                reference(f, arch, &d).to_ret(),
                "{arch}, {d:?}"
            );
        }
    }
    compiled
}
