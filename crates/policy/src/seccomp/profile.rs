//! ironpen's default seccomp profile: an allowlist composed from named sets, at least as strict
//! as Docker's default, plus denials Docker lacks (io_uring, namespaces through clone flags,
//! personality values, TIOCSTI/TIOCLINUX, ...). Known-but-denied syscalls fail with EPERM,
//! syscalls newer than our tables with ENOSYS (as on an older kernel).

use super::ir::{Action, Cond, Filter, Op, Rule, Width};
use super::{ENOSYS, EPERM};

/// Sets whose members the default profile allows.
pub const ALLOWED_SETS: &[&str] = &[
    "@default",
    "@basic-io",
    "@file-system",
    "@io-event",
    "@aio",
    "@network-io",
    "@ipc",
    "@process",
    "@credentials",
    "@signal",
    "@memory",
    "@timer",
];

/// Sets whose members the default profile refuses (with a rule each, so `explain` gives the reason).
pub const DENIED_SETS: &[&str] = &[
    "@clock",
    "@mount",
    "@namespaces",
    "@module",
    "@reboot",
    "@swap",
    "@raw-io",
    "@keyring",
    "@debug",
    "@bpf",
    "@io-uring",
    "@privileged",
    "@obsolete",
    "@cpu-emulation",
];

/// The namespace flags of `clone(2)`: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
/// (Docker's mask 0x7E020000).
pub const CLONE_NAMESPACE_FLAGS: u64 = 0x7e02_0000;
/// `personality(2)` values that change nothing dangerous: PER_LINUX, PER_LINUX32, UNAME26,
/// PER_LINUX32|UNAME26, and 0xffffffff (query).
pub const HARMLESS_PERSONALITIES: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];
pub const TIOCSTI: u64 = 0x5412;
pub const TIOCLINUX: u64 = 0x541c;

fn with_comment(mut r: Rule, c: String) -> Rule {
    r.comment = Some(c);
    r
}

/// Build the default profile (architecture-neutral; compile it for the target arch).
pub fn default_profile() -> Filter {
    let mut f = Filter::new(Action::Errno(EPERM));
    f.unknown_action = Some(Action::Errno(ENOSYS));
    f.bad_arch_action = Action::KillProcess;
    f.x32_action = Action::Errno(EPERM);

    // Allowed sets first, denied sets after: a syscall in both (none today) ends up denied.
    for set in ALLOWED_SETS {
        f.apply_set(set, Action::Allow).expect("allowed set exists");
    }
    for set in DENIED_SETS {
        f.apply_set(set, Action::Errno(EPERM))
            .expect("denied set exists");
    }

    // Arguments that decide. All of these are `int`-sized in the kernel: compare 32 bits.
    let u32arg = |arg, op, value| Cond::new(arg, Width::W32, op, value);
    f.syscalls.insert(
        "clone".into(),
        vec![with_comment(
            Rule::when(
                Action::Allow,
                vec![u32arg(
                    0,
                    Op::MaskedEq {
                        mask: CLONE_NAMESPACE_FLAGS,
                    },
                    0,
                )],
            ),
            "@process: fork and threads; namespace flags (user namespaces above all) are refused"
                .into(),
        )],
    );
    f.syscalls.insert(
        "clone3".into(),
        vec![with_comment(
            Rule::always(Action::Errno(ENOSYS)),
            "@namespaces: flags live in memory where seccomp cannot see them; ENOSYS makes libc fall back to clone".into(),
        )],
    );
    f.syscalls.insert(
        "personality".into(),
        HARMLESS_PERSONALITIES
            .iter()
            .map(|v| {
                with_comment(
                    Rule::when(Action::Allow, vec![u32arg(0, Op::Eq, *v)]),
                    "@process: harmless execution domain".into(),
                )
            })
            .collect(),
    );
    f.syscalls.insert(
        "ioctl".into(),
        vec![
            with_comment(
                Rule::when(Action::Errno(EPERM), vec![u32arg(1, Op::Eq, TIOCSTI)]),
                "TIOCSTI pushes input into the controlling terminal (escape via the parent's shell); 32-bit compare (CVE-2019-10063)".into(),
            ),
            with_comment(
                Rule::when(Action::Errno(EPERM), vec![u32arg(1, Op::Eq, TIOCLINUX)]),
                "TIOCLINUX can paste console selections into the terminal input".into(),
            ),
            with_comment(Rule::always(Action::Allow), "@basic-io: device and terminal control".into()),
        ],
    );
    f
}
