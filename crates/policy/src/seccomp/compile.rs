//! IR -> classic BPF. Layout: arch check, x32 guard (x86_64), a binary search over syscall-number
//! intervals whose leaves either return at once (so the kernel's action cache can prove hot
//! syscalls constant-allow from `arch` and `nr` alone) or run that syscall's argument checks.

use std::collections::BTreeMap;

use super::ir::{Action, Cond, Filter, IrError, Op, Rule, Width};
use super::syscalls::{is_known_anywhere, Arch, X32_SYSCALL_BIT};

/// One classic BPF instruction, laid out like the kernel's `struct sock_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(C)]
pub struct Instruction {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl Instruction {
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Instruction {
        Instruction { code, jt, jf, k }
    }
    pub const fn stmt(code: u16, k: u32) -> Instruction {
        Instruction {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }
    /// `(code, jt, jf, k)`, for converting into the kernel type without a dependency.
    pub fn to_tuple(self) -> (u16, u8, u8, u32) {
        (self.code, self.jt, self.jf, self.k)
    }
}

impl From<(u16, u8, u8, u32)> for Instruction {
    fn from((code, jt, jf, k): (u16, u8, u8, u32)) -> Instruction {
        Instruction { code, jt, jf, k }
    }
}

/// Classic BPF opcode pieces (linux/bpf_common.h).
pub mod bpf {
    pub const LD: u16 = 0x00;
    pub const LDX: u16 = 0x01;
    pub const ST: u16 = 0x02;
    pub const STX: u16 = 0x03;
    pub const ALU: u16 = 0x04;
    pub const JMP: u16 = 0x05;
    pub const RET: u16 = 0x06;
    pub const MISC: u16 = 0x07;
    pub const W: u16 = 0x00;
    pub const H: u16 = 0x08;
    pub const B: u16 = 0x10;
    pub const IMM: u16 = 0x00;
    pub const ABS: u16 = 0x20;
    pub const IND: u16 = 0x40;
    pub const MEM: u16 = 0x60;
    pub const LEN: u16 = 0x80;
    pub const MSH: u16 = 0xa0;
    pub const ADD: u16 = 0x00;
    pub const SUB: u16 = 0x10;
    pub const MUL: u16 = 0x20;
    pub const DIV: u16 = 0x30;
    pub const OR: u16 = 0x40;
    pub const AND: u16 = 0x50;
    pub const LSH: u16 = 0x60;
    pub const RSH: u16 = 0x70;
    pub const NEG: u16 = 0x80;
    pub const MOD: u16 = 0x90;
    pub const XOR: u16 = 0xa0;
    pub const JA: u16 = 0x00;
    pub const JEQ: u16 = 0x10;
    pub const JGT: u16 = 0x20;
    pub const JGE: u16 = 0x30;
    pub const JSET: u16 = 0x40;
    pub const K: u16 = 0x00;
    pub const X: u16 = 0x08;
    pub const A: u16 = 0x10;
    pub const TAX: u16 = 0x00;
    pub const TXA: u16 = 0x80;
    pub const MAXINSNS: usize = 4096;
    pub const MEMWORDS: u32 = 16;
}

/// Why a filter could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    #[error("invalid seccomp filter: {0}")]
    Invalid(#[from] IrError),
    #[error("seccomp filter names syscall `{0}`, which no supported architecture has")]
    UnknownSyscall(String),
    #[error(
        "compiled seccomp program for {arch} has {len} instructions; the kernel takes at most 4096"
    )]
    TooLong { arch: Arch, len: usize },
}

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;

fn arg_lo(i: u8) -> u32 {
    16 + 8 * u32::from(i)
}
fn arg_hi(i: u8) -> u32 {
    arg_lo(i) + 4
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Label(usize);

enum Item {
    Plain(Instruction),
    Jump {
        code: u16,
        k: u32,
        jt: Label,
        jf: Label,
    },
    Label(Label),
}

#[derive(Default)]
struct Asm {
    items: Vec<Item>,
    labels: usize,
}

impl Asm {
    fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }
    fn place(&mut self, l: Label) {
        self.items.push(Item::Label(l));
    }
    fn ld(&mut self, off: u32) {
        self.items.push(Item::Plain(Instruction::stmt(
            bpf::LD | bpf::W | bpf::ABS,
            off,
        )));
    }
    fn and(&mut self, k: u32) {
        self.items.push(Item::Plain(Instruction::stmt(
            bpf::ALU | bpf::AND | bpf::K,
            k,
        )));
    }
    fn ret(&mut self, a: Action) {
        self.items.push(Item::Plain(Instruction::stmt(
            bpf::RET | bpf::K,
            a.to_ret(),
        )));
    }
    fn jump(&mut self, op: u16, k: u32, jt: Label, jf: Label) {
        self.items.push(Item::Jump {
            code: bpf::JMP | op | bpf::K,
            k,
            jt,
            jf,
        });
    }

    /// Resolve labels. Conditional jumps reach at most 255 instructions; a farther target gets
    /// a `ja` trampoline right after the jump. Repeat until no jump needs a new trampoline.
    fn assemble(self) -> Vec<Instruction> {
        let n = self.items.len();
        let mut tramp = vec![(false, false); n];
        let mut label_at = vec![0usize; self.labels];
        loop {
            let mut addr = 0usize;
            let mut item_at = vec![0usize; n];
            for (i, item) in self.items.iter().enumerate() {
                item_at[i] = addr;
                match item {
                    Item::Plain(_) => addr += 1,
                    Item::Jump { .. } => {
                        addr += 1 + usize::from(tramp[i].0) + usize::from(tramp[i].1)
                    }
                    Item::Label(l) => label_at[l.0] = addr,
                }
            }
            let mut changed = false;
            for (i, item) in self.items.iter().enumerate() {
                if let Item::Jump { jt, jf, .. } = item {
                    let base = item_at[i] + 1;
                    let (t, f) = (label_at[jt.0], label_at[jf.0]);
                    assert!(t >= base && f >= base, "compiler emitted a backward jump");
                    if !tramp[i].0 && t - base > 255 {
                        tramp[i].0 = true;
                        changed = true;
                    }
                    if !tramp[i].1 && f - base > 255 {
                        tramp[i].1 = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                let mut out = Vec::with_capacity(addr);
                for (i, item) in self.items.iter().enumerate() {
                    match item {
                        Item::Plain(ins) => out.push(*ins),
                        Item::Label(_) => {}
                        Item::Jump { code, k, jt, jf } => {
                            let base = item_at[i] + 1;
                            let (t, f) = (label_at[jt.0], label_at[jf.0]);
                            let (nt, nf) = tramp[i];
                            let off = |target: usize| {
                                u8::try_from(target - base).expect("jump offset checked above")
                            };
                            let jt8 = if nt { 0 } else { off(t) };
                            let jf8 = if nf { u8::from(nt) } else { off(f) };
                            out.push(Instruction::new(*code, jt8, jf8, *k));
                            let mut here = base;
                            for (need, target) in [(nt, t), (nf, f)] {
                                if need {
                                    let k = u32::try_from(target - (here + 1))
                                        .expect("program length checked");
                                    out.push(Instruction::stmt(bpf::JMP | bpf::JA, k));
                                    here += 1;
                                }
                            }
                        }
                    }
                }
                return out;
            }
        }
    }
}

/// What one syscall-number interval does.
#[derive(Clone, Debug, PartialEq)]
enum Target<'a> {
    Ret(Action),
    Rules(&'a [Rule]),
}

/// Emit one condition; `known` is the seccomp_data offset the accumulator holds (if any), so a
/// repeated load of the same word is skipped. Returns what A holds wherever the condition
/// jumps to `fail`, and updates `known` for the pass path.
#[allow(clippy::cast_possible_truncation)] // splitting u64 values into their 32-bit halves
fn emit_cond(asm: &mut Asm, c: &Cond, fail: Label, known: &mut Option<u32>) -> Option<u32> {
    let pass = asm.label();
    let value = match c.op {
        Op::MaskedEq { mask } => c.value & mask,
        _ => c.value,
    };
    let (lo, hi) = (value as u32, (value >> 32) as u32);
    match c.width {
        Width::W32 => {
            if *known != Some(arg_lo(c.arg)) {
                asm.ld(arg_lo(c.arg));
            }
            match c.op {
                Op::Eq => asm.jump(bpf::JEQ, lo, pass, fail),
                Op::Ne => asm.jump(bpf::JEQ, lo, fail, pass),
                Op::Lt => asm.jump(bpf::JGE, lo, fail, pass),
                Op::Le => asm.jump(bpf::JGT, lo, fail, pass),
                Op::Gt => asm.jump(bpf::JGT, lo, pass, fail),
                Op::Ge => asm.jump(bpf::JGE, lo, pass, fail),
                Op::MaskedEq { mask } => {
                    asm.and(mask as u32);
                    asm.jump(bpf::JEQ, lo, pass, fail);
                }
            }
        }
        Width::W64 => {
            let low = asm.label();
            asm.ld(arg_hi(c.arg));
            match c.op {
                Op::Eq => asm.jump(bpf::JEQ, hi, low, fail),
                Op::Ne => asm.jump(bpf::JEQ, hi, low, pass),
                Op::Gt | Op::Ge => {
                    let eq = asm.label();
                    asm.jump(bpf::JGT, hi, pass, eq);
                    asm.place(eq);
                    asm.jump(bpf::JEQ, hi, low, fail);
                }
                Op::Lt | Op::Le => {
                    let eq = asm.label();
                    asm.jump(bpf::JGE, hi, eq, pass);
                    asm.place(eq);
                    asm.jump(bpf::JEQ, hi, low, fail);
                }
                Op::MaskedEq { mask } => {
                    asm.and((mask >> 32) as u32);
                    asm.jump(bpf::JEQ, hi, low, fail);
                }
            }
            asm.place(low);
            asm.ld(arg_lo(c.arg));
            match c.op {
                Op::Eq => asm.jump(bpf::JEQ, lo, pass, fail),
                Op::Ne => asm.jump(bpf::JEQ, lo, fail, pass),
                Op::Gt => asm.jump(bpf::JGT, lo, pass, fail),
                Op::Ge => asm.jump(bpf::JGE, lo, pass, fail),
                Op::Lt => asm.jump(bpf::JGE, lo, fail, pass),
                Op::Le => asm.jump(bpf::JGT, lo, fail, pass),
                Op::MaskedEq { mask } => {
                    asm.and(mask as u32);
                    asm.jump(bpf::JEQ, lo, pass, fail);
                }
            }
        }
    }
    asm.place(pass);
    // A plain 32-bit compare leaves the argument word in A on both paths; anything else
    // (a mask, or two halves) leaves A unknown.
    *known = match (c.width, c.op) {
        (Width::W32, op) if !matches!(op, Op::MaskedEq { .. }) => Some(arg_lo(c.arg)),
        _ => None,
    };
    *known
}

fn emit_target(asm: &mut Asm, t: &Target<'_>, fallback: Action) {
    match t {
        Target::Ret(a) => asm.ret(*a),
        Target::Rules(rules) => {
            let mut known = None; // A holds nr here, never an argument word
            for rule in rules.iter() {
                let next = asm.label();
                let mut at_fail: Option<Option<u32>> = None;
                for c in &rule.conds {
                    let f = emit_cond(asm, c, next, &mut known);
                    at_fail = Some(match at_fail {
                        Some(prev) if prev != f => None,
                        _ => f,
                    });
                }
                asm.ret(rule.action);
                asm.place(next);
                known = at_fail.flatten();
            }
            asm.ret(fallback);
        }
    }
}

/// Binary search over intervals `segs[lo..=hi]` (by start number), leaves inline.
fn emit_search(asm: &mut Asm, segs: &[(u32, Target<'_>)], fallback: Action) {
    if segs.len() == 1 {
        emit_target(asm, &segs[0].1, fallback);
        return;
    }
    let mid = segs.len() / 2;
    let (left, right) = (asm.label(), asm.label());
    asm.jump(bpf::JGE, segs[mid].0, right, left);
    asm.place(left);
    emit_search(asm, &segs[..mid], fallback);
    asm.place(right);
    emit_search(asm, &segs[mid..], fallback);
}

/// The rules that can decide `rules`' syscall: nothing after the first unconditional rule runs.
fn effective(rules: &[Rule], fallback: Action) -> Target<'_> {
    let end = rules
        .iter()
        .position(|r| r.conds.is_empty())
        .map_or(rules.len(), |i| i + 1);
    let rules = &rules[..end];
    if rules.is_empty() {
        Target::Ret(fallback)
    } else if rules[0].conds.is_empty() || rules.iter().all(|r| r.action == fallback) {
        Target::Ret(if rules[0].conds.is_empty() {
            rules[0].action
        } else {
            fallback
        })
    } else {
        Target::Rules(rules)
    }
}

/// Compile `filter` for `arch`. Deterministic: the same filter gives the same program.
pub fn compile(filter: &Filter, arch: Arch) -> Result<Vec<Instruction>, CompileError> {
    filter.validate()?;
    let table = arch.table();
    let mut by_nr: BTreeMap<u32, &[Rule]> = BTreeMap::new();
    for (name, rules) in &filter.syscalls {
        match table.nr(name) {
            Some(nr) => {
                by_nr.insert(nr, rules);
            }
            None if is_known_anywhere(name) => {} // e.g. `open` on aarch64: nothing to filter
            None => return Err(CompileError::UnknownSyscall(name.clone())),
        }
    }
    let unknown = filter.unknown_action.unwrap_or(filter.default_action);
    let fallback = filter.default_action;

    // Cover every number the search can see with intervals; merge equal neighbours.
    let top: u64 = if arch == Arch::X86_64 {
        u64::from(X32_SYSCALL_BIT)
    } else {
        1 << 32
    };
    let mut segs: Vec<(u32, Target<'_>)> = Vec::new();
    let mut next: u64 = 0;
    for (nr, _) in table.iter() {
        if u64::from(nr) >= top {
            break;
        }
        if u64::from(nr) > next {
            add_seg(
                &mut segs,
                u32::try_from(next).expect("below 2^32"),
                Target::Ret(unknown),
            );
        }
        let t = by_nr
            .get(&nr)
            .map_or(Target::Ret(fallback), |r| effective(r, fallback));
        add_seg(&mut segs, nr, t);
        next = u64::from(nr) + 1;
    }
    if next < top {
        add_seg(
            &mut segs,
            u32::try_from(next).expect("below 2^32"),
            Target::Ret(unknown),
        );
    }

    let mut asm = Asm::default();
    let ok = asm.label();
    let bad = asm.label();
    asm.ld(OFF_ARCH);
    asm.jump(bpf::JEQ, arch.audit_arch(), ok, bad);
    asm.place(bad);
    asm.ret(filter.bad_arch_action);
    asm.place(ok);
    asm.ld(OFF_NR);
    if arch == Arch::X86_64 {
        let (x32, native) = (asm.label(), asm.label());
        asm.jump(bpf::JGE, X32_SYSCALL_BIT, x32, native);
        asm.place(x32);
        asm.ret(filter.x32_action);
        asm.place(native);
    }
    emit_search(&mut asm, &segs, fallback);
    let prog = asm.assemble();
    if prog.len() > bpf::MAXINSNS {
        return Err(CompileError::TooLong {
            arch,
            len: prog.len(),
        });
    }
    Ok(prog)
}

fn add_seg<'a>(segs: &mut Vec<(u32, Target<'a>)>, start: u32, t: Target<'a>) {
    if let Some((_, last)) = segs.last() {
        if matches!((last, &t), (Target::Ret(a), Target::Ret(b)) if a == b) {
            return;
        }
    }
    segs.push((start, t));
}
