//! A verifier that mirrors the kernel's checks on a seccomp classic-BPF program
//! (`bpf_check_classic` + `seccomp_check_filter`), so a program we emit is never refused at load.

use super::compile::{bpf, Instruction};
use super::SECCOMP_DATA_SIZE;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("seccomp program has {0} instructions; it must have 1..=4096")]
    Length(usize),
    #[error("instruction {pc}: opcode {code:#06x} is not allowed in a seccomp filter")]
    Opcode { pc: usize, code: u16 },
    #[error("instruction {pc}: load at offset {off} is not an aligned word inside seccomp_data (64 bytes)")]
    Load { pc: usize, off: u32 },
    #[error("instruction {pc}: jump leaves the program")]
    Jump { pc: usize },
    #[error("instruction {pc}: {reason}")]
    Operand { pc: usize, reason: &'static str },
    #[error("the last instruction is not a return, so some path runs off the end")]
    NoReturn,
    #[error("instruction {pc}: reads scratch memory M[{slot}] before every path has written it")]
    UninitMem { pc: usize, slot: u32 },
}

/// The opcodes `seccomp_check_filter` accepts (after rewriting `ld [abs]`).
fn allowed(code: u16) -> bool {
    use bpf::*;
    matches!(
        code,
        c if c == LD | W | ABS
            || c == LD | W | LEN
            || c == LDX | W | LEN
            || c == RET | K
            || c == RET | A
            || c == LD | IMM
            || c == LD | MEM
            || c == LDX | IMM
            || c == LDX | MEM
            || c == ST
            || c == STX
            || c == MISC | TAX
            || c == MISC | TXA
            || c == JMP | JA
    ) || {
        let class = code & 0x07;
        let op = code & 0xf0;
        let src = code & 0x08;
        let rest = code & !0xff;
        rest == 0
            && match class {
                ALU => {
                    matches!(op, ADD | SUB | MUL | DIV | AND | OR | XOR | LSH | RSH)
                        || (op == NEG && src == K)
                }
                JMP => matches!(op, JEQ | JGE | JGT | JSET),
                _ => false,
            }
    }
}

/// Check `prog` as the kernel would before loading it.
pub fn verify(prog: &[Instruction]) -> Result<(), VerifyError> {
    use bpf::*;
    let len = prog.len();
    if len == 0 || len > MAXINSNS {
        return Err(VerifyError::Length(len));
    }
    for (pc, ins) in prog.iter().enumerate() {
        if !allowed(ins.code) {
            return Err(VerifyError::Opcode { pc, code: ins.code });
        }
        let class = ins.code & 0x07;
        let op = ins.code & 0xf0;
        if ins.code == LD | W | ABS && (ins.k % 4 != 0 || ins.k >= SECCOMP_DATA_SIZE) {
            return Err(VerifyError::Load { pc, off: ins.k });
        }
        if class == ALU && ins.code & 0x08 == K {
            if op == DIV && ins.k == 0 {
                return Err(VerifyError::Operand {
                    pc,
                    reason: "division by constant zero",
                });
            }
            if (op == LSH || op == RSH) && ins.k >= 32 {
                return Err(VerifyError::Operand {
                    pc,
                    reason: "shift by 32 or more",
                });
            }
        }
        let mem =
            ins.code == LD | MEM || ins.code == LDX | MEM || ins.code == ST || ins.code == STX;
        if mem && ins.k >= MEMWORDS {
            return Err(VerifyError::Operand {
                pc,
                reason: "scratch memory index out of range",
            });
        }
        if class == JMP {
            let rest = len - pc - 1;
            if op == JA {
                if usize::try_from(ins.k).map_or(true, |k| k >= rest) {
                    return Err(VerifyError::Jump { pc });
                }
            } else if usize::from(ins.jt) >= rest || usize::from(ins.jf) >= rest {
                return Err(VerifyError::Jump { pc });
            }
        }
    }
    if prog[len - 1].code & 0x07 != RET {
        return Err(VerifyError::NoReturn);
    }
    check_mem(prog)
}

/// Scratch memory: a slot may be read only where every path to it has stored to it
/// (the kernel's `check_load_and_stores`). Jumps go forward, so one pass in order suffices.
fn check_mem(prog: &[Instruction]) -> Result<(), VerifyError> {
    use bpf::*;
    // For each pc, the slots written on every path reaching it (AND over incoming edges).
    let mut valid: Vec<Option<u16>> = vec![None; prog.len()];
    valid[0] = Some(0);
    for pc in 0..prog.len() {
        let Some(mut v) = valid[pc] else { continue }; // unreachable
        let ins = prog[pc];
        if ins.code == ST || ins.code == STX {
            v |= 1 << ins.k;
        }
        if (ins.code == LD | MEM || ins.code == LDX | MEM) && v & (1 << ins.k) == 0 {
            return Err(VerifyError::UninitMem { pc, slot: ins.k });
        }
        let mut flow = |to: usize| valid[to] = Some(valid[to].map_or(v, |old| old & v));
        match ins.code & 0x07 {
            RET => {}
            JMP if ins.code & 0xf0 == JA => flow(pc + 1 + ins.k as usize),
            JMP => {
                flow(pc + 1 + usize::from(ins.jt));
                flow(pc + 1 + usize::from(ins.jf));
            }
            _ => flow(pc + 1),
        }
    }
    Ok(())
}
