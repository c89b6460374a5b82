//! A classic-BPF interpreter over `seccomp_data`, with the kernel's semantics for the
//! instructions seccomp allows. Used to test the compiler and to explain decisions.

use super::compile::{bpf, Instruction};
use super::{verify, SeccompData, VerifyError};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InterpError {
    #[error("program rejected: {0}")]
    Invalid(#[from] VerifyError),
}

/// Run a verified program; returns the filter's 32-bit return value.
pub fn interpret(prog: &[Instruction], data: &SeccompData) -> Result<u32, InterpError> {
    verify(prog)?;
    Ok(run(prog, data))
}

/// Run a program that `verify` accepted (panics on programs it would refuse).
pub(crate) fn run(prog: &[Instruction], data: &SeccompData) -> u32 {
    use bpf::*;
    let (mut a, mut x): (u32, u32) = (0, 0);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    loop {
        let ins = prog[pc];
        pc += 1;
        let k = ins.k;
        match ins.code & 0x07 {
            LD => match ins.code {
                c if c == LD | W | ABS => a = data.word(k).expect("verified load"),
                c if c == LD | W | LEN => a = super::SECCOMP_DATA_SIZE,
                c if c == LD | IMM => a = k,
                c if c == LD | MEM => a = mem[k as usize],
                c => unreachable!("opcode {c:#x}"),
            },
            LDX => match ins.code {
                c if c == LDX | W | LEN => x = super::SECCOMP_DATA_SIZE,
                c if c == LDX | IMM => x = k,
                c if c == LDX | MEM => x = mem[k as usize],
                c => unreachable!("opcode {c:#x}"),
            },
            ST => mem[k as usize] = a,
            STX => mem[k as usize] = x,
            ALU => {
                let src = if ins.code & 0x08 == X { x } else { k };
                if ins.code & 0xf0 == DIV && src == 0 {
                    return 0; // the kernel ends the program with 0 (kill) on division by X == 0
                }
                a = match ins.code & 0xf0 {
                    ADD => a.wrapping_add(src),
                    SUB => a.wrapping_sub(src),
                    MUL => a.wrapping_mul(src),
                    DIV => a / src,
                    AND => a & src,
                    OR => a | src,
                    XOR => a ^ src,
                    LSH => a.checked_shl(src).unwrap_or(0),
                    RSH => a.checked_shr(src).unwrap_or(0),
                    NEG => a.wrapping_neg(),
                    op => unreachable!("alu op {op:#x}"),
                };
            }
            JMP => {
                let src = if ins.code & 0x08 == X { x } else { k };
                let taken = match ins.code & 0xf0 {
                    JA => {
                        pc += k as usize;
                        continue;
                    }
                    JEQ => a == src,
                    JGT => a > src,
                    JGE => a >= src,
                    JSET => a & src != 0,
                    op => unreachable!("jmp op {op:#x}"),
                };
                pc += usize::from(if taken { ins.jt } else { ins.jf });
            }
            RET => return if ins.code & 0x18 == A { a } else { k },
            MISC => {
                if ins.code & 0xf8 == TXA {
                    a = x;
                } else {
                    x = a;
                }
            }
            _ => unreachable!(),
        }
    }
}
