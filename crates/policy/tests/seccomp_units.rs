//! Verifier, OCI import and default-profile decisions on concrete inputs.

use std::path::PathBuf;

use ironpen_policy::seccomp::*;

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> Instruction {
    Instruction::new(code, jt, jf, k)
}
const RET_ALLOW: Instruction = Instruction::stmt(bpf::RET | bpf::K, 0x7fff_0000);

#[test]
fn verifier_mirrors_kernel_checks() {
    assert_eq!(verify(&[]), Err(VerifyError::Length(0)));
    assert_eq!(
        verify(&vec![RET_ALLOW; 4097]),
        Err(VerifyError::Length(4097))
    );
    verify(&vec![RET_ALLOW; 4096]).unwrap();
    // Loads: aligned words inside the 64-byte seccomp_data only.
    assert!(matches!(
        verify(&[ins(0x20, 0, 0, 64), RET_ALLOW]),
        Err(VerifyError::Load { pc: 0, off: 64 })
    ));
    assert!(matches!(
        verify(&[ins(0x20, 0, 0, 2), RET_ALLOW]),
        Err(VerifyError::Load { .. })
    ));
    verify(&[ins(0x20, 0, 0, 60), RET_ALLOW]).unwrap();
    // Byte/half loads and indirect loads are refused by seccomp.
    assert!(matches!(
        verify(&[ins(0x30, 0, 0, 0), RET_ALLOW]),
        Err(VerifyError::Opcode { pc: 0, code: 0x30 })
    ));
    assert!(matches!(
        verify(&[ins(0x40, 0, 0, 0), RET_ALLOW]),
        Err(VerifyError::Opcode { .. })
    ));
    // Jumps: in range and forward.
    assert!(matches!(
        verify(&[ins(0x15, 1, 0, 0), RET_ALLOW]),
        Err(VerifyError::Jump { pc: 0 })
    ));
    assert!(matches!(
        verify(&[ins(0x05, 0, 0, 1), RET_ALLOW]),
        Err(VerifyError::Jump { pc: 0 })
    ));
    assert!(matches!(
        verify(&[ins(0x05, 0, 0, u32::MAX), RET_ALLOW]),
        Err(VerifyError::Jump { pc: 0 })
    ));
    verify(&[ins(0x15, 1, 0, 0), RET_ALLOW, RET_ALLOW]).unwrap();
    // The last instruction must return.
    assert_eq!(
        verify(&[RET_ALLOW, ins(0x20, 0, 0, 0)]),
        Err(VerifyError::NoReturn)
    );
    // Division by zero and wide shifts.
    assert!(matches!(
        verify(&[ins(0x34, 0, 0, 0), RET_ALLOW]),
        Err(VerifyError::Operand { .. })
    ));
    assert!(matches!(
        verify(&[ins(0x64, 0, 0, 32), RET_ALLOW]),
        Err(VerifyError::Operand { .. })
    ));
    // Scratch memory: read after write on every path only.
    assert!(matches!(
        verify(&[ins(0x60, 0, 0, 3), RET_ALLOW]),
        Err(VerifyError::UninitMem { pc: 0, slot: 3 })
    ));
    verify(&[ins(0x02, 0, 0, 3), ins(0x60, 0, 0, 3), RET_ALLOW]).unwrap();
    let one_path_only = [
        ins(0x15, 0, 1, 0),
        ins(0x02, 0, 0, 3),
        ins(0x60, 0, 0, 3),
        RET_ALLOW,
    ];
    assert!(matches!(
        verify(&one_path_only),
        Err(VerifyError::UninitMem { pc: 2, .. })
    ));
    assert!(matches!(
        verify(&[ins(0x02, 0, 0, 16), RET_ALLOW]),
        Err(VerifyError::Operand { .. })
    ));
}

#[test]
fn interpreter_runs_scratch_and_alu() {
    // A = nr; M[0] = A; A = A + 5; X = A; A = M[0]; ret A  -> returns nr
    let prog = [
        ins(0x20, 0, 0, 0),
        ins(0x02, 0, 0, 0),
        ins(0x04, 0, 0, 5),
        ins(0x07, 0, 0, 0),
        ins(0x60, 0, 0, 0),
        ins(0x16, 0, 0, 0),
    ];
    let d = SeccompData::new(Arch::X86_64, 42, [0; 6]);
    assert_eq!(interpret(&prog, &d), Ok(42));
    assert!(interpret(&[], &d).is_err());
}

fn decide(f: &Filter, name: &str, args: [u64; 6]) -> Action {
    let arch = Arch::X86_64;
    let prog = compile(f, arch).unwrap();
    let nr = arch.table().nr(name).unwrap_or_else(|| panic!("{name}"));
    let d = SeccompData::new(arch, nr, args);
    let r = interpret(&prog, &d).unwrap();
    assert_eq!(r, reference(f, arch, &d).to_ret());
    Action::from_ret(r).unwrap()
}

#[test]
fn default_profile_decisions() {
    let f = default_profile();
    let eperm = Action::Errno(EPERM);
    for ok in [
        "read",
        "write",
        "getppid",
        "futex",
        "mmap",
        "close",
        "execve",
        "wait4",
        "openat",
        "socket",
        "rt_sigaction",
        "exit_group",
    ] {
        assert_eq!(decide(&f, ok, [0; 6]), Action::Allow, "{ok}");
    }
    for no in [
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "userfaultfd",
        "bpf",
        "perf_event_open",
        "keyctl",
        "add_key",
        "request_key",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "mount",
        "umount2",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "move_mount",
        "open_tree",
        "mount_setattr",
        "unshare",
        "setns",
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "acct",
        "swapon",
        "swapoff",
        "reboot",
        "settimeofday",
        "clock_settime",
        "adjtimex",
        "iopl",
        "ioperm",
        "open_by_handle_at",
        "name_to_handle_at",
        "quotactl",
        "lookup_dcookie",
        "nfsservctl",
        "pivot_root",
        "chroot",
        "syslog",
    ] {
        assert_eq!(decide(&f, no, [0; 6]), eperm, "{no}");
    }
    assert_eq!(decide(&f, "clone3", [0; 6]), Action::Errno(ENOSYS));
    // clone: threads and fork yes, namespaces no (flags are an int: upper garbage ignored).
    assert_eq!(
        decide(&f, "clone", [0x3d0f00, 0, 0, 0, 0, 0]),
        Action::Allow
    );
    assert_eq!(
        decide(
            &f,
            "clone",
            [0x1200011 | 0xffff_0000_0000_0000, 0, 0, 0, 0, 0]
        ),
        Action::Allow
    );
    for ns in [
        0x1000_0000u64,
        0x2_0000,
        0x2000_0000,
        0x4000_0000,
        0x0800_0000,
        0x0400_0000,
        0x0200_0000,
    ] {
        assert_eq!(
            decide(&f, "clone", [ns | 0x11, 0, 0, 0, 0, 0]),
            eperm,
            "{ns:#x}"
        );
    }
    for p in [0u64, 8, 0x20000, 0x20008, 0xffff_ffff] {
        assert_eq!(decide(&f, "personality", [p, 0, 0, 0, 0, 0]), Action::Allow);
    }
    for p in [
        0x0040_0000u64, /* READ_IMPLIES_EXEC */
        0x0004_0000,    /* ADDR_NO_RANDOMIZE */
        1,
    ] {
        assert_eq!(decide(&f, "personality", [p, 0, 0, 0, 0, 0]), eperm);
    }
    // TIOCSTI/TIOCLINUX with garbage in the upper half are still refused (CVE-2019-10063).
    for cmd in [
        0x5412u64,
        0x1_0000_5412,
        0xffff_ffff_0000_5412,
        0x541c,
        0xdead_0000_541c,
    ] {
        assert_eq!(decide(&f, "ioctl", [0, cmd, 0, 0, 0, 0]), eperm, "{cmd:#x}");
    }
    assert_eq!(
        decide(&f, "ioctl", [0, 0x5401 /* TCGETS */, 0, 0, 0, 0]),
        Action::Allow
    );
    // Unknown numbers: ENOSYS; x32: EPERM; foreign arch: kill.
    let prog = compile(&f, Arch::X86_64).unwrap();
    let run = |d: SeccompData| Action::from_ret(interpret(&prog, &d).unwrap()).unwrap();
    assert_eq!(
        run(SeccompData::new(Arch::X86_64, 470, [0; 6])),
        Action::Errno(ENOSYS)
    );
    assert_eq!(
        run(SeccompData::new(Arch::X86_64, 400, [0; 6])),
        Action::Errno(ENOSYS)
    );
    assert_eq!(
        run(SeccompData::new(Arch::X86_64, X32_SYSCALL_BIT | 39, [0; 6])),
        eperm
    );
    assert_eq!(
        run(SeccompData {
            arch: AUDIT_ARCH_I386,
            ..SeccompData::new(Arch::X86_64, 20, [0; 6])
        }),
        Action::KillProcess
    );
}

#[test]
fn every_x86_64_syscall_is_in_a_set() {
    let f = default_profile();
    let missing: Vec<_> = Arch::X86_64
        .table()
        .iter()
        .filter(|(_, n)| !f.syscalls.contains_key(*n))
        .map(|(_, n)| n)
        .collect();
    assert!(
        missing.is_empty(),
        "unclassified syscalls (add them to a set in sets.rs): {missing:?}"
    );
    for set in sets::SETS {
        for (name, why) in set.members {
            assert!(
                !why.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{} {name}",
                set.name
            );
        }
    }
}

#[test]
fn explain_lists_reasons() {
    let text = explain_text(&default_profile(), Arch::X86_64);
    assert!(
        text.contains("x32 syscalls:             errno 1 (EPERM)"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.contains(" keyctl ")
        && l.contains("errno 1 (EPERM)")
        && l.contains("@keyring")));
    assert!(text.contains("errno 1 (EPERM) if (u32)arg1 == 0x5412"));
    let lines = explain(&default_profile(), Arch::X86_64);
    assert_eq!(lines.len(), Arch::X86_64.table().len());
}

// ---- OCI / Docker JSON ----

fn ctx() -> OciContext {
    OciContext::new(Arch::X86_64)
}

/// A name that is a syscall nowhere is refused (a typo would otherwise drop its rule, the way
/// runc drops it); another architecture's syscall is skipped on this one, as in Docker's
/// multi-architecture profiles.
#[test]
fn oci_typo_in_a_syscall_name_is_refused_other_arches_names_are_skipped() {
    let j = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["ptrace","ptrce"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let e = from_oci_json(j, &ctx()).unwrap_err();
    assert_eq!(e.field, "syscalls[0].names[1]");
    assert_eq!(
        e.reason,
        "`ptrce` is not a syscall on any architecture; did you mean `ptrace`?"
    );
    let j = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["ptrace","arm_fadvise64_64","s390_pci_mmio_read","socketcall"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let f = from_oci_json(j, &ctx()).unwrap();
    assert_eq!(f.syscalls.keys().collect::<Vec<_>>(), ["ptrace"]);
}

#[test]
fn oci_errors_name_the_field() {
    let e = from_oci_json("{}", &ctx()).unwrap_err();
    assert_eq!(e.field, "defaultAction");
    let e = from_oci_json(r#"{"defaultAction":"SCMP_ACT_NOPE"}"#, &ctx()).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.reason.as_str()),
        ("defaultAction", "unknown action `SCMP_ACT_NOPE`")
    );
    let j = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},
              {"names":["ioctl"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":1,"op":"SCMP_CMP_LIKE"}]}]}"#;
    let e = from_oci_json(j, &ctx()).unwrap_err();
    assert_eq!(e.field, "syscalls[1].args[0].op");
    assert!(
        e.to_string().contains("unknown comparison `SCMP_CMP_LIKE`"),
        "{e}"
    );
    let j = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ALLOW","args":[{"index":7,"op":"SCMP_CMP_EQ"}]}]}"#;
    assert_eq!(
        from_oci_json(j, &ctx()).unwrap_err().field,
        "syscalls[0].args[0].index"
    );
    let j = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":"read","action":"SCMP_ACT_ALLOW"}]}"#;
    assert_eq!(
        from_oci_json(j, &ctx()).unwrap_err().field,
        "syscalls[0].names"
    );
    let j = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_VAX"]}"#;
    assert_eq!(
        from_oci_json(j, &ctx()).unwrap_err().field,
        "architectures[0]"
    );
    let j = r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}"#;
    assert_eq!(
        from_oci_json(j, &ctx()).unwrap_err().field,
        "defaultErrnoRet"
    );
    assert_eq!(from_oci_json("[", &ctx()).unwrap_err().field, "(document)");
}

#[test]
fn oci_semantics_like_runc() {
    let j = r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[
        {"names":["read","write","arm_fadvise64_64"],"action":"SCMP_ACT_ALLOW"},
        {"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
        {"names":["kill"],"action":"SCMP_ACT_ERRNO"},
        {"names":["syslog"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYSLOG"]}},
        {"names":["ptrace"],"action":"SCMP_ACT_ALLOW","excludes":{"caps":["CAP_SYS_ADMIN"]}},
        {"names":["uname"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"5.10"}},
        {"names":["arch_prctl"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["amd64"]}},
        {"names":["getppid"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["arm64"]}},
        {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
        {"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"op":"SCMP_CMP_MASKED_EQ"}]}
    ]}"#;
    let f = from_oci_json(j, &ctx()).unwrap();
    assert_eq!(decide(&f, "read", [0; 6]), Action::Allow);
    assert_eq!(decide(&f, "getpid", [0; 6]), Action::Errno(13));
    assert_eq!(
        decide(&f, "kill", [0; 6]),
        Action::Errno(1),
        "errnoRet absent: EPERM as runc"
    );
    assert_eq!(decide(&f, "close", [0; 6]), Action::Errno(38));
    assert_eq!(decide(&f, "syslog", [0; 6]), Action::Errno(38));
    assert_eq!(decide(&f, "ptrace", [0; 6]), Action::Allow);
    assert_eq!(decide(&f, "uname", [0; 6]), Action::Allow);
    assert_eq!(decide(&f, "arch_prctl", [0; 6]), Action::Allow);
    assert_eq!(decide(&f, "getppid", [0; 6]), Action::Errno(38));
    // Two conditions on one argument: an OR (runc's rule).
    assert_eq!(decide(&f, "personality", [8, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(decide(&f, "personality", [0, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(
        decide(&f, "personality", [9, 0, 0, 0, 0, 0]),
        Action::Errno(38)
    );
    // 64-bit compares as libseccomp: upper bits count.
    assert_eq!(
        decide(&f, "personality", [0x1_0000_0000, 0, 0, 0, 0, 0]),
        Action::Errno(38)
    );
    assert_eq!(decide(&f, "clone", [0x11, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(
        decide(&f, "clone", [0x1000_0011, 0, 0, 0, 0, 0]),
        Action::Errno(38)
    );

    let mut c = ctx();
    c.caps.insert("CAP_SYSLOG".into());
    c.caps.insert("CAP_SYS_ADMIN".into());
    c.kernel = Some((4, 19));
    let f = from_oci_json(j, &c).unwrap();
    assert_eq!(decide(&f, "syslog", [0; 6]), Action::Allow);
    assert_eq!(decide(&f, "ptrace", [0; 6]), Action::Errno(38));
    assert_eq!(decide(&f, "uname", [0; 6]), Action::Errno(38));
}

/// Real profiles from Debian packages (tests/fetch-seccomp-profiles.sh).
fn profile(name: &str) -> Option<String> {
    let dir = std::env::var_os("IRONPEN_SECCOMP_PROFILES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/seccomp-profiles")
        });
    match std::fs::read_to_string(dir.join(name)) {
        Ok(s) => Some(s),
        Err(e) => {
            let required = std::env::var("IRONPEN_TEST_REQUIRE").unwrap_or_default();
            assert!(
                !required.contains("seccomp-profiles"),
                "{}: {e} (run tests/fetch-seccomp-profiles.sh)",
                dir.join(name).display()
            );
            eprintln!(
                "SKIP: {} missing ({e}); run tests/fetch-seccomp-profiles.sh",
                dir.join(name).display()
            );
            None
        }
    }
}

#[test]
fn docker_default_profile_decides_like_docker() {
    let Some(json) = profile("docker-default.json") else {
        return;
    };
    let f = from_oci_json(&json, &ctx()).unwrap();
    for arch in Arch::ALL {
        verify(&compile(&f, arch).unwrap()).unwrap();
    }
    for ok in [
        "read",
        "write",
        "getppid",
        "io_uring_setup",
        "ptrace",
        "arch_prctl",
        "modify_ldt",
        "socket",
    ] {
        assert_eq!(decide(&f, ok, [0; 6]), Action::Allow, "{ok}");
    }
    for no in [
        "keyctl",
        "bpf",
        "mount",
        "unshare",
        "setns",
        "reboot",
        "open_by_handle_at",
        "userfaultfd",
        "perf_event_open",
        "clock_settime",
    ] {
        assert_eq!(decide(&f, no, [0; 6]), Action::Errno(EPERM), "{no}");
    }
    assert_eq!(decide(&f, "clone3", [0; 6]), Action::Errno(ENOSYS));
    assert_eq!(
        decide(&f, "clone", [0x1200011, 0, 0, 0, 0, 0]),
        Action::Allow
    );
    assert_eq!(
        decide(&f, "clone", [0x1000_0000, 0, 0, 0, 0, 0]),
        Action::Errno(EPERM)
    );
    assert_eq!(decide(&f, "personality", [8, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(
        decide(&f, "personality", [0x40_0000, 0, 0, 0, 0, 0]),
        Action::Errno(EPERM)
    );
    // Docker lets TIOCSTI through (one of the things our default adds).
    assert_eq!(decide(&f, "ioctl", [0, 0x5412, 0, 0, 0, 0]), Action::Allow);

    // With CAP_SYS_ADMIN, Docker allows the mount family and unshare, and stops filtering clone.
    let mut c = ctx();
    c.caps.insert("CAP_SYS_ADMIN".into());
    let f = from_oci_json(&json, &c).unwrap();
    assert_eq!(decide(&f, "mount", [0; 6]), Action::Allow);
    assert_eq!(
        decide(&f, "clone", [0x1000_0000, 0, 0, 0, 0, 0]),
        Action::Allow
    );
    assert_eq!(decide(&f, "clone3", [0; 6]), Action::Allow);
}

#[test]
fn default_profile_is_at_least_as_strict_as_docker() {
    let Some(json) = profile("docker-default.json") else {
        return;
    };
    let docker = from_oci_json(&json, &ctx()).unwrap();
    let ours = default_profile();
    // Newer than Docker 20.10's list; current Docker releases allow these too.
    let newer = [
        "fchmodat2",
        "futex_wake",
        "futex_wait",
        "futex_requeue",
        "cachestat",
        "map_shadow_stack",
        "mseal",
        "uretprobe",
        "lsm_get_self_attr",
        "lsm_list_modules",
        "getxattrat",
        "listxattrat",
        "setxattrat",
        "removexattrat",
        "file_getattr",
        "file_setattr",
    ];
    let samples: Vec<[u64; 6]> = vec![
        [0; 6],
        [0x11, 0x5412, 0, 0, 0, 0],
        [0x1000_0011, 1, 2, 3, 4, 5],
        [8, 0x541c, 0, 0, 0, 0],
        [u64::MAX; 6],
    ];
    for arch in Arch::ALL {
        let (po, pd) = (
            compile(&ours, arch).unwrap(),
            compile(&docker, arch).unwrap(),
        );
        for (nr, name) in arch.table().iter() {
            if newer.contains(&name) {
                continue;
            }
            for args in &samples {
                let d = SeccompData::new(arch, nr, *args);
                let o = Action::from_ret(interpret(&po, &d).unwrap()).unwrap();
                // personality's and clone's first argument are ints: the kernel sees only the low
                // half, so Docker's 64-bit compare refusing upper garbage protects nothing.
                let mut kd = d;
                if ["personality", "clone"].contains(&name) {
                    kd.args[0] &= 0xffff_ffff;
                }
                let k = Action::from_ret(interpret(&pd, &kd).unwrap()).unwrap();
                assert!(
                    !o.permits() || k.permits(),
                    "{arch} {name} {args:x?}: ours {o}, docker {k}"
                );
            }
        }
    }
}

#[test]
fn podman_and_fixtures_load() {
    let Some(json) = profile("podman-default.json") else {
        return;
    };
    let f = from_oci_json(&json, &ctx()).unwrap();
    assert_eq!(decide(&f, "close", [0; 6]), Action::Allow);
    assert_eq!(decide(&f, "kexec_load", [0; 6]), Action::Errno(EPERM));
    assert_eq!(decide(&f, "lookup_dcookie", [0; 6]), Action::Errno(EPERM));
    // NETLINK_AUDIT sockets get EINVAL without CAP_AUDIT_WRITE; other sockets are fine.
    assert_eq!(
        decide(&f, "socket", [16, 3, 9, 0, 0, 0]),
        Action::Errno(EINVAL)
    );
    assert_eq!(decide(&f, "socket", [16, 3, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(decide(&f, "socket", [2, 1, 0, 0, 0, 0]), Action::Allow);
    // Unknown syscalls: podman's default errno is ENOSYS.
    assert_eq!(decide(&f, "add_key", [0; 6]), Action::Errno(ENOSYS));
    for fx in [
        "example.json",
        "conditional_include.json",
        "default-old-format.json",
    ] {
        let Some(json) = profile(&format!("docker-fixtures/{fx}")) else {
            return;
        };
        let f = from_oci_json(&json, &ctx()).unwrap();
        verify(&compile(&f, Arch::X86_64).unwrap()).unwrap();
    }
}

#[test]
fn explain_agrees_with_the_compiled_program() {
    let f = default_profile();
    for arch in Arch::ALL {
        let prog = compile(&f, arch).unwrap();
        for line in explain(&f, arch) {
            for args in [[0u64; 6], [0x1000_0011, 0x5412, 1, 2, 3, 4], [u64::MAX; 6]] {
                let got = Action::from_ret(
                    interpret(&prog, &SeccompData::new(arch, line.nr, args)).unwrap(),
                )
                .unwrap();
                match &line.decision {
                    Decision::Always { action } => assert_eq!(got, *action, "{arch} {}", line.name),
                    Decision::Conditional { rules, otherwise } => {
                        let want = rules
                            .iter()
                            .find(|(_, cs)| cs.iter().all(|c| c.matches(args[usize::from(c.arg)])))
                            .map_or(*otherwise, |(a, _)| *a);
                        assert_eq!(got, want, "{arch} {} {args:x?}", line.name);
                    }
                }
            }
        }
    }
}

#[test]
fn every_aarch64_syscall_is_in_a_set() {
    let f = default_profile();
    let missing: Vec<_> = Arch::Aarch64
        .table()
        .iter()
        .filter(|(_, n)| !f.syscalls.contains_key(*n))
        .map(|(_, n)| n)
        .collect();
    assert!(
        missing.is_empty(),
        "unclassified aarch64 syscalls: {missing:?}"
    );
}

#[test]
fn sets_compose_and_own_format_round_trips() {
    let mut f = Filter::new(Action::Errno(EPERM));
    f.apply_set("@basic-io", Action::Allow)
        .unwrap()
        .apply_set("@keyring", Action::KillProcess)
        .unwrap();
    assert!(f.apply_set("@nope", Action::Allow).is_err());
    assert_eq!(decide(&f, "read", [0; 6]), Action::Allow);
    assert_eq!(decide(&f, "keyctl", [0; 6]), Action::KillProcess);
    assert_eq!(decide(&f, "openat", [0; 6]), Action::Errno(EPERM));
    assert!(sets::get("@keyring")
        .unwrap()
        .reason("keyctl")
        .unwrap()
        .contains("shared with the host"));
    let json = serde_json::to_string(&default_profile()).unwrap();
    assert_eq!(parse_profile(&json, &ctx()).unwrap(), default_profile());
    let oci = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#;
    assert_eq!(
        decide(&parse_profile(oci, &ctx()).unwrap(), "read", [0; 6]),
        Action::Allow
    );
    assert_eq!(parse_profile("{}", &ctx()).unwrap_err().field, "(document)");
    let bad = r#"{"default_action":"allow","syscalls":{"ioctl":[{"action":"allow","conds":[{"arg":9,"width":"w64","op":"eq","value":0}]}]}}"#;
    assert_eq!(
        parse_profile(bad, &ctx()).unwrap_err().field,
        "syscalls.ioctl[0]"
    );
}

#[test]
fn division_by_zero_register_ends_the_program_with_zero() {
    // X = 0; A = 5; A /= X -> the kernel returns 0 (SECCOMP_RET_KILL_THREAD).
    let prog = [
        ins(0x01, 0, 0, 0),
        ins(0x00, 0, 0, 5),
        ins(0x3c, 0, 0, 0),
        RET_ALLOW,
    ];
    assert_eq!(interpret(&prog, &SeccompData::default()), Ok(0));
}
