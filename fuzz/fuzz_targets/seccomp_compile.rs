//! Compile-then-verify on arbitrary IR: every program the compiler emits must pass the verifier,
//! and decide like the reference evaluator on inputs taken from the same bytes.
#![no_main]

use ironpen_policy::seccomp::*;
use libfuzzer_sys::fuzz_target;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }
    fn action(&mut self) -> Action {
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
    fn cond(&mut self) -> Cond {
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
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let mut f = Filter::new(b.action());
    f.unknown_action = (b.u8() & 1 == 1).then(|| b.action());
    f.bad_arch_action = b.action();
    f.x32_action = b.action();
    let names: Vec<&str> = Arch::X86_64.table().iter().map(|(_, n)| n).collect();
    for _ in 0..b.u8() % 24 {
        let name = names[usize::from(b.u16()) % names.len()];
        for _ in 0..b.u8() % 4 {
            let action = b.action();
            let conds = (0..b.u8() % 4).map(|_| b.cond()).collect();
            f.add(name, Rule::when(action, conds));
        }
    }
    for arch in Arch::ALL {
        let prog = match compile(&f, arch) {
            Ok(p) => p,
            Err(CompileError::TooLong { .. }) => continue,
            Err(e) => panic!("valid IR refused: {e}"),
        };
        verify(&prog).expect("compiler emitted a program the kernel would refuse");
        for _ in 0..8 {
            let d = SeccompData {
                nr: i32::from_le_bytes(b.u32().to_le_bytes()) & 0x4000_01ff,
                arch: if b.u8() & 3 == 0 { b.u32() } else { arch.audit_arch() },
                instruction_pointer: 0,
                args: [b.u64(), b.u64(), b.u64(), b.u64(), b.u64(), b.u64()],
            };
            assert_eq!(interpret(&prog, &d).unwrap(), reference(&f, arch, &d).to_ret());
        }
    }
});
