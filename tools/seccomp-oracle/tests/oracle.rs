//! libseccomp as an oracle: the same rules compiled by libseccomp and by us must decide the same
//! on every input (both programs run in our interpreter); our syscall tables must agree with
//! libseccomp's resolver.

use ironpen_policy::seccomp::*;
use proptest::prelude::*;
use seccomp_oracle::{action_name, LibSeccomp, OracleOpts};

const POOL: &[u64] = &[
    0,
    1,
    2,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    u64::MAX,
    0x5412,
    0x1_0000_5412,
];
const NAMES: &[&str] = &[
    "read",
    "write",
    "close",
    "ioctl",
    "getppid",
    "clone",
    "personality",
    "socket",
    "openat",
    "kill",
    "mmap",
    "futex",
];

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![3 => proptest::sample::select(POOL), 1 => any::<u64>()]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Allow),
        (1u16..200).prop_map(Action::Errno),
        Just(Action::KillProcess),
        Just(Action::KillThread),
        Just(Action::Trap(0)),
        Just(Action::Log),
        Just(Action::UserNotify),
    ]
}

/// Filters whose meaning libseccomp and we share: one action per syscall (rules OR-ed), 64-bit
/// conditions on distinct arguments, no rule repeating the default action.
fn filter() -> impl Strategy<Value = Filter> {
    let op = prop_oneof![
        Just(Op::Eq),
        Just(Op::Ne),
        Just(Op::Lt),
        Just(Op::Le),
        Just(Op::Gt),
        Just(Op::Ge),
        value().prop_map(|mask| Op::MaskedEq { mask }),
    ];
    // libseccomp 2.5.4 mis-builds its tree when a never-true comparison (`arg < 0`) shares a
    // syscall with another rule on that argument (found by this test; the rule is dropped), so
    // relational comparisons avoid the degenerate ends 0 and u64::MAX.
    let cond = (0u8..6, op, value()).prop_map(|(arg, op, v)| {
        let v = match op {
            Op::Lt | Op::Le | Op::Gt | Op::Ge => v.clamp(1, u64::MAX - 1),
            _ => v,
        };
        Cond::new(arg, Width::W64, op, v)
    });
    let conds = proptest::collection::vec(cond, 0..3).prop_map(|mut cs| {
        cs.sort_by_key(|c| c.arg);
        cs.dedup_by_key(|c| c.arg);
        cs
    });
    let sys = (action(), proptest::collection::vec(conds, 1..3));
    (
        action(),
        proptest::collection::btree_map(proptest::sample::select(NAMES), sys, 0..8),
    )
        .prop_map(|(default, calls)| {
            let mut f = Filter::new(default);
            f.bad_arch_action = Action::KillThread;
            f.x32_action = Action::KillThread;
            for (name, (act, rules)) in calls {
                if act == default {
                    continue;
                }
                // An unconditional rule makes the others moot; keep the set unambiguous.
                let mut rules: Vec<_> = if rules.iter().any(Vec::is_empty) {
                    vec![vec![]]
                } else {
                    rules
                };
                // libseccomp 2.5.4 also merges two range comparisons on one argument from different
                // rules wrongly (`a4 < 1 || a4 < 2^32` allows a4 == 1): ranges only in the first
                // rule. And it mis-merges a `!=` with any other rule of the syscall that compares
                // the same argument (libseccomp_ne_merge_bug below): `!=` only in lone rules.
                let several = rules.len() > 1;
                for (i, conds) in rules.iter_mut().enumerate() {
                    for c in conds.iter_mut() {
                        let range = matches!(c.op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
                        if (i > 0 && range) || (several && c.op == Op::Ne) {
                            c.op = Op::Eq;
                        }
                    }
                }
                for conds in rules {
                    f.add(name, Rule::when(act, conds));
                }
            }
            f
        })
}

fn inputs() -> impl Strategy<Value = Vec<SeccompData>> {
    let t = Arch::X86_64.table();
    let nr = prop_oneof![
        4 => proptest::sample::select(NAMES).prop_map(move |n| t.nr(n).unwrap()),
        1 => 0u32..460,
        1 => (0u32..400).prop_map(|n| n | X32_SYSCALL_BIT),
    ];
    let arch = prop_oneof![8 => Just(AUDIT_ARCH_X86_64), 1 => Just(AUDIT_ARCH_I386), 1 => Just(AUDIT_ARCH_AARCH64)];
    let d =
        (arch, nr, proptest::array::uniform6(value())).prop_map(|(arch, nr, args)| SeccompData {
            arch,
            ..SeccompData::new(Arch::X86_64, nr, args)
        });
    proptest::collection::vec(d, 64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn same_decisions_as_libseccomp(f in filter(), data in inputs()) {
        let Some(lib) = LibSeccomp::for_test() else { return Ok(()) };
        let ours = compile(&f, Arch::X86_64).unwrap();
        for opts in [OracleOpts::default(), OracleOpts { optimize: Some(2), ..OracleOpts::default() }] {
            let theirs = lib.compile(&f, &opts).unwrap();
            prop_assert_eq!(verify(&theirs), Ok(()), "our verifier must accept libseccomp's program");
            for d in &data {
                let (a, b) = (interpret(&ours, d).unwrap(), interpret(&theirs, d).unwrap());
                prop_assert_eq!(a, b, "nr {:#x} arch {:#x} args {:x?}: ours {} libseccomp {}", d.nr, d.arch, d.args, action_name(a), action_name(b));
            }
        }
    }
}

#[test]
fn docker_profile_same_decisions_as_libseccomp() {
    let Some(lib) = LibSeccomp::for_test() else {
        return;
    };
    let dir = std::env::var_os("IRONPEN_SECCOMP_PROFILES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/seccomp-profiles")
        });
    for (file, caps) in [
        ("docker-default.json", vec![]),
        (
            "docker-default.json",
            vec!["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"],
        ),
        ("podman-default.json", vec![]),
    ] {
        let Ok(json) = std::fs::read_to_string(dir.join(file)) else {
            let req = std::env::var("IRONPEN_TEST_REQUIRE").unwrap_or_default();
            assert!(
                !req.contains("seccomp-profiles"),
                "{file} missing: run tests/fetch-seccomp-profiles.sh"
            );
            eprintln!(
                "SKIP: {} missing; run tests/fetch-seccomp-profiles.sh",
                dir.join(file).display()
            );
            return;
        };
        let mut ctx = OciContext::new(Arch::X86_64);
        ctx.caps = caps.iter().map(|c| c.to_string()).collect();
        let mut f = from_oci_json(&json, &ctx).unwrap();
        f.bad_arch_action = Action::KillThread; // libseccomp's default bad-arch action
        f.x32_action = Action::KillThread;
        let ours = compile(&f, Arch::X86_64).unwrap();
        let theirs = lib.compile(&f, &OracleOpts::default()).unwrap();
        let argsets: [[u64; 6]; 6] = [
            [0; 6],
            [0x11, 0x5412, 9, 0, 0, 0],
            [0x1000_0011, 1, 2, 3, 4, 5],
            [8, 0, 0, 0, 0, 0],
            [16, 3, 9, 0, 0, 0],
            [0xffff_ffff, u64::MAX, 0x1_0000_0000, 0, 0, 0],
        ];
        for nr in 0..470u32 {
            for args in argsets {
                let d = SeccompData::new(Arch::X86_64, nr, args);
                let (a, b) = (
                    interpret(&ours, &d).unwrap(),
                    interpret(&theirs, &d).unwrap(),
                );
                assert_eq!(
                    a,
                    b,
                    "{file} {caps:?} nr {nr} args {args:x?}: ours {} libseccomp {}",
                    action_name(a),
                    action_name(b)
                );
            }
        }
    }
}

/// Our tables against libseccomp's resolver (library and `scmp_sys_resolver`); entries newer
/// than the installed libseccomp are listed explicitly.
#[test]
fn syscall_tables_match_libseccomp() {
    let Some(lib) = LibSeccomp::for_test() else {
        return;
    };
    let newer = [
        "uretprobe",
        "statmount",
        "listmount",
        "lsm_get_self_attr",
        "lsm_set_self_attr",
        "lsm_list_modules",
        "mseal",
        "setxattrat",
        "getxattrat",
        "listxattrat",
        "removexattrat",
        "open_tree_attr",
        "file_getattr",
        "file_setattr",
    ];
    for arch in Arch::ALL {
        let mut checked = 0;
        for (nr, name) in arch.table().iter() {
            match lib.resolve(arch, name) {
                Some(n) => {
                    assert_eq!(n, nr, "{arch} {name}");
                    checked += 1;
                }
                None => assert!(
                    newer.contains(&name),
                    "{arch} {name}: libseccomp does not know it and it is not listed as newer"
                ),
            }
        }
        assert!(checked > 300, "{arch}: {checked}");
        if let Ok(out) = std::process::Command::new("scmp_sys_resolver")
            .args(["-a", arch.name(), "getppid"])
            .output()
        {
            let n: u32 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("scmp_sys_resolver output");
            assert_eq!(Some(n), arch.table().nr("getppid"));
        }
    }
}

/// Found by `same_decisions_as_libseccomp`: `kill` allowed when `a5 == X`, or when `a2 == X &&
/// a5 != X`. With a2 == X and a5 != X the second rule matches: the reference evaluator (the
/// semantics) and our compiled program allow, libseccomp 2.5.4's program returns the default
/// action. Kept as a record of libseccomp's bug (and of our answer being the right one).
#[test]
fn libseccomp_ne_merge_bug() {
    let x = 0x7fff_ffff;
    let mut f = Filter::new(Action::Errno(1));
    f.bad_arch_action = Action::KillThread;
    f.x32_action = Action::KillThread;
    f.add(
        "kill",
        Rule::when(Action::Allow, vec![Cond::new(5, Width::W64, Op::Eq, x)]),
    );
    f.add(
        "kill",
        Rule::when(
            Action::Allow,
            vec![
                Cond::new(2, Width::W64, Op::Eq, x),
                Cond::new(5, Width::W64, Op::Ne, x),
            ],
        ),
    );
    let nr = Arch::X86_64.table().nr("kill").unwrap();
    let d = SeccompData::new(
        Arch::X86_64,
        nr,
        [2, 0x5412, x, 0, 0x1_0000_0001, 0x5890_ccd6_c83a_f903],
    );
    assert_eq!(reference(&f, Arch::X86_64, &d), Action::Allow);
    let ours = compile(&f, Arch::X86_64).unwrap();
    assert_eq!(interpret(&ours, &d).unwrap(), Action::Allow.to_ret());
    if let Some(lib) = LibSeccomp::for_test() {
        let theirs = lib.compile(&f, &OracleOpts::default()).unwrap();
        // If a newer libseccomp fixes it, this documents the fix instead of failing.
        let b = interpret(&theirs, &d).unwrap();
        assert!(
            b == Action::Allow.to_ret() || b == Action::Errno(1).to_ret(),
            "{}",
            action_name(b)
        );
    }
}
