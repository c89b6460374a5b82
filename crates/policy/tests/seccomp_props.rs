//! Property tests of the seccomp compiler: for random filters and inputs, the compiled program
//! run by our interpreter decides exactly what the reference evaluator decides, the verifier
//! accepts every emitted program, and compilation is deterministic.

use ironpen_policy::seccomp::*;
use proptest::prelude::*;

/// Values where comparisons flip: both 32-bit boundaries, TIOCSTI with and without upper garbage.
const POOL: &[u64] = &[
    0,
    1,
    2,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0xffff_ffff_0000_0000,
    u64::MAX,
    0x5412,
    0x1_0000_5412,
    0xdead_beef_0000_5412,
];

/// Syscall names: neighbours in the x86_64 table, hot ones, x86-only and aarch64-only names.
const NAMES: &[&str] = &[
    "read",
    "write",
    "open",
    "close",
    "stat",
    "ioctl",
    "getppid",
    "getpid",
    "clone",
    "clone3",
    "personality",
    "futex",
    "mmap",
    "socket",
    "connect",
    "renameat",
    "renameat2",
    "file_setattr",
    "uretprobe",
    "io_uring_setup",
    "kill",
    "exit_group",
    "openat",
    "rseq",
    "getdents",
    "arch_prctl",
];

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![3 => proptest::sample::select(POOL), 1 => any::<u64>(), 1 => 0u64..8]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Allow),
        any::<u16>().prop_map(Action::Errno),
        Just(Action::KillProcess),
        Just(Action::KillThread),
        any::<u16>().prop_map(Action::Trap),
        Just(Action::Log),
        Just(Action::UserNotify),
        any::<u16>().prop_map(Action::Trace),
    ]
}

fn cond() -> impl Strategy<Value = Cond> {
    let op = prop_oneof![
        Just(Op::Eq),
        Just(Op::Ne),
        Just(Op::Lt),
        Just(Op::Le),
        Just(Op::Gt),
        Just(Op::Ge),
        value().prop_map(|mask| Op::MaskedEq { mask }),
    ];
    (0u8..6, any::<bool>(), op, value()).prop_map(|(arg, w32, op, v)| {
        if w32 {
            let op = match op {
                Op::MaskedEq { mask } => Op::MaskedEq {
                    mask: mask & 0xffff_ffff,
                },
                o => o,
            };
            Cond::new(arg, Width::W32, op, v & 0xffff_ffff)
        } else {
            Cond::new(arg, Width::W64, op, v)
        }
    })
}

fn rule() -> impl Strategy<Value = Rule> {
    (action(), proptest::collection::vec(cond(), 0..4)).prop_map(|(a, c)| Rule::when(a, c))
}

fn filter() -> impl Strategy<Value = Filter> {
    (
        action(),
        proptest::option::of(action()),
        action(),
        action(),
        proptest::collection::btree_map(
            proptest::sample::select(NAMES).prop_map(String::from),
            proptest::collection::vec(rule(), 0..4),
            0..12,
        ),
    )
        .prop_map(|(d, u, b, x, syscalls)| Filter {
            default_action: d,
            unknown_action: u,
            bad_arch_action: b,
            x32_action: x,
            syscalls,
        })
}

fn data() -> impl Strategy<Value = (u32, u32, [u64; 6])> {
    let arch = prop_oneof![
        4 => Just(AUDIT_ARCH_X86_64),
        4 => Just(AUDIT_ARCH_AARCH64),
        1 => Just(AUDIT_ARCH_I386),
        1 => any::<u32>(),
    ];
    let nr = prop_oneof![
        6 => proptest::sample::select(NAMES).prop_map(|n| Arch::X86_64.table().nr(n).or(Arch::Aarch64.table().nr(n)).unwrap_or(0)),
        2 => 0u32..500,
        1 => (0u32..600).prop_map(|n| n | X32_SYSCALL_BIT),
        1 => any::<u32>(),
        1 => Just(u32::MAX),
    ];
    let arg = prop_oneof![
        4 => value(),
        1 => (value(), any::<u32>()).prop_map(|(v, hi)| (v & 0xffff_ffff) | (u64::from(hi) << 32)),
    ];
    (arch, nr, proptest::array::uniform6(arg))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn compiled_program_decides_like_the_reference(f in filter(), inputs in proptest::collection::vec(data(), 48)) {
        for arch in Arch::ALL {
            let prog = compile(&f, arch).unwrap();
            prop_assert_eq!(verify(&prog), Ok(()));
            prop_assert_eq!(&compile(&f, arch).unwrap(), &prog, "deterministic");
            for (audit, nr, args) in &inputs {
                let d = SeccompData { nr: i32::from_ne_bytes(nr.to_ne_bytes()), arch: *audit, instruction_pointer: 0, args: *args };
                let want = reference(&f, arch, &d).to_ret();
                let got = interpret(&prog, &d).unwrap();
                prop_assert_eq!(got, want, "arch {} nr {:#x} audit {:#x} args {:x?}", arch, nr, audit, args);
            }
        }
    }

    #[test]
    fn serde_round_trip_compiles_identically(f in filter()) {
        let json = serde_json::to_string(&f).unwrap();
        let back: Filter = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &f);
        prop_assert_eq!(compile(&back, Arch::X86_64).unwrap(), compile(&f, Arch::X86_64).unwrap());
    }

    #[test]
    fn upper_half_of_32bit_args_never_decides(f in filter(), (audit, nr, args) in data(), garbage in any::<[u32; 6]>()) {
        // Only W32 conditions: then garbage in the upper halves must not change the result.
        let mut f = f;
        for rules in f.syscalls.values_mut() {
            for r in rules.iter_mut() {
                for c in r.conds.iter_mut() {
                    c.width = Width::W32;
                    c.value &= 0xffff_ffff;
                    if let Op::MaskedEq { mask } = &mut c.op { *mask &= 0xffff_ffff; }
                }
            }
        }
        let prog = compile(&f, Arch::X86_64).unwrap();
        let d = SeccompData { nr: i32::from_ne_bytes(nr.to_ne_bytes()), arch: audit, instruction_pointer: 0, args };
        let mut dirty = d;
        for (a, g) in dirty.args.iter_mut().zip(garbage) {
            *a = (*a & 0xffff_ffff) | (u64::from(g) << 32);
        }
        prop_assert_eq!(interpret(&prog, &d).unwrap(), interpret(&prog, &dirty).unwrap());
    }
}

/// The kernel's `seccomp_is_const_allow` (kernel/seccomp.c): emulate the program knowing only
/// `arch` and `nr`; a syscall is cached as always-allowed if that reaches `RET ALLOW`.
fn kernel_const_allow(prog: &[Instruction], arch: u32, nr: u32) -> bool {
    let mut a = 0u32;
    let mut pc = 0usize;
    while pc < prog.len() {
        let ins = prog[pc];
        match ins.code {
            0x20 => match ins.k {
                0 => a = nr,
                4 => a = arch,
                _ => return false,
            },
            0x06 => return ins.k == 0x7fff_0000,
            0x05 => pc += ins.k as usize,
            0x15 | 0x35 | 0x25 | 0x45 => {
                let taken = match ins.code {
                    0x15 => a == ins.k,
                    0x35 => a >= ins.k,
                    0x25 => a > ins.k,
                    _ => a & ins.k != 0,
                };
                pc += usize::from(if taken { ins.jt } else { ins.jf });
            }
            0x54 => a &= ins.k,
            _ => return false,
        }
        pc += 1;
    }
    false
}

#[test]
fn unconditionally_allowed_syscalls_are_kernel_cacheable() {
    let f = default_profile();
    for arch in Arch::ALL {
        let prog = compile(&f, arch).unwrap();
        let mut cached = 0;
        for line in explain(&f, arch) {
            let always_allow = line.decision
                == Decision::Always {
                    action: Action::Allow,
                };
            assert_eq!(
                kernel_const_allow(&prog, arch.audit_arch(), line.nr),
                always_allow,
                "{arch} {}",
                line.name
            );
            cached += usize::from(always_allow);
        }
        for hot in [
            "read",
            "write",
            "getppid",
            "futex",
            "mmap",
            "close",
            "epoll_wait",
            "rt_sigprocmask",
        ] {
            if let Some(nr) = arch.table().nr(hot) {
                assert!(
                    kernel_const_allow(&prog, arch.audit_arch(), nr),
                    "{hot} must be cacheable on {arch}"
                );
            }
        }
        assert!(cached > 250, "{arch}: only {cached} syscalls cacheable");
    }
}

#[test]
fn long_programs_get_trampolines_and_stay_correct() {
    // Every x86_64 syscall gets 64-bit conditions: far more than 255 instructions between
    // the search tree's jumps and their targets.
    let mut f = Filter::new(Action::Errno(1));
    for (i, (_, name)) in Arch::X86_64.table().iter().enumerate() {
        let v = i as u64;
        f.add(
            name,
            Rule::when(
                Action::Errno(2),
                vec![Cond::new(0, Width::W64, Op::Eq, v << 32 | v)],
            ),
        );
    }
    let prog = compile(&f, Arch::X86_64).unwrap();
    assert!(prog.len() > 2000, "{}", prog.len());
    verify(&prog).unwrap();
    assert!(
        prog.iter().any(|i| i.code == (bpf::JMP | bpf::JA)),
        "expected trampolines"
    );
    for (i, (nr, _)) in Arch::X86_64.table().iter().enumerate() {
        let v = i as u64;
        for args in [
            [v << 32 | v, 0, 0, 0, 0, 0],
            [0, v, 0, 0, 0, 0],
            [1, 0, 0, 0, 0, 0],
            [v, u64::MAX, 0, 0, 0, 0],
        ] {
            let d = SeccompData::new(Arch::X86_64, nr, args);
            assert_eq!(
                interpret(&prog, &d).unwrap(),
                reference(&f, Arch::X86_64, &d).to_ret(),
                "nr {nr} args {args:x?}"
            );
        }
    }
}

#[test]
fn too_long_is_refused() {
    let mut f = Filter::new(Action::Errno(1));
    for (i, (_, name)) in Arch::X86_64.table().iter().enumerate() {
        for j in 0..4u64 {
            f.add(
                name,
                Rule::when(
                    Action::Allow,
                    vec![Cond::new(0, Width::W64, Op::Eq, i as u64 * 8 + j)],
                ),
            );
        }
    }
    assert!(matches!(
        compile(&f, Arch::X86_64),
        Err(CompileError::TooLong { .. })
    ));
}

#[test]
fn unknown_syscall_and_bad_conditions_are_refused() {
    let mut f = Filter::new(Action::Allow);
    f.allow("no_such_syscall");
    assert_eq!(
        compile(&f, Arch::X86_64),
        Err(CompileError::UnknownSyscall("no_such_syscall".into()))
    );
    let mut f = Filter::new(Action::Allow);
    f.add(
        "ioctl",
        Rule::when(
            Action::Errno(1),
            vec![Cond::new(1, Width::W32, Op::Eq, 0x1_0000_5412)],
        ),
    );
    assert!(matches!(
        compile(&f, Arch::X86_64),
        Err(CompileError::Invalid(_))
    ));
    let mut f = Filter::new(Action::Allow);
    f.add(
        "ioctl",
        Rule::when(Action::Errno(1), vec![Cond::new(6, Width::W64, Op::Eq, 0)]),
    );
    assert!(matches!(
        compile(&f, Arch::X86_64),
        Err(CompileError::Invalid(_))
    ));
    // A name only another architecture has is not an error: there is nothing to filter.
    let mut f = Filter::new(Action::Allow);
    f.allow("open");
    compile(&f, Arch::Aarch64).unwrap();
}
