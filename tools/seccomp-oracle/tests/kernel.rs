//! Real-kernel loads: the probe binary loads a filter into itself (one process per scenario) and
//! reports each syscall's result; we check the errnos here.

use std::collections::BTreeMap;
use std::process::Command;

fn run_probe(scenario: &str) -> BTreeMap<String, Result<i64, i64>> {
    let out = Command::new(env!("CARGO_BIN_EXE_seccomp-probe"))
        .arg(scenario)
        .output()
        .expect("spawn seccomp-probe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "seccomp-probe {scenario}: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    seccomp_oracle::probe_results(&stdout)
}

const EPERM: i64 = 1;
const EFAULT: i64 = 14;
const ENOSYS: i64 = 38;

#[test]
fn default_profile_in_the_kernel() {
    let r = run_probe("default");
    let get = |n: &str| {
        *r.get(n)
            .unwrap_or_else(|| panic!("probe did not report {n}: {r:?}"))
    };
    assert!(matches!(get("getppid"), Ok(p) if p > 0), "{r:?}");
    assert_eq!(get("pipe2"), Ok(0));
    assert_eq!(get("write"), Ok(1));
    assert_eq!(get("read"), Ok(1));
    assert_eq!(
        get("ioctl_fionread"),
        Ok(0),
        "ordinary ioctls pass the argument check"
    );
    for denied in [
        "ioctl_tiocsti_hi",
        "ioctl_tiocsti",
        "ioctl_tioclinux",
        "keyctl",
        "add_key",
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "io_uring_setup",
        "unshare_newuser",
        "setns",
        "mount",
        "fsopen",
        "ptrace",
        "clone_newuser",
        "personality_exec",
    ] {
        assert_eq!(get(denied), Err(EPERM), "{denied}");
    }
    assert_eq!(get("clone3"), Err(ENOSYS));
    assert_eq!(get("unknown_1000"), Err(ENOSYS));
    if cfg!(target_arch = "x86_64") {
        assert_eq!(get("x32_getpid"), Err(EPERM));
    }
    assert_eq!(get("personality_query"), Ok(0));
    assert_eq!(
        get("openat_badptr"),
        Err(EFAULT),
        "allowed syscalls reach the kernel"
    );
    assert_eq!(
        get("spawn_true"),
        Ok(0),
        "libc falls back from clone3 to clone"
    );
}

#[test]
fn user_notify_round_trip() {
    let r = run_probe("notify");
    let getppid = ironpen_policy::seccomp::Arch::native()
        .unwrap()
        .table()
        .nr("getppid")
        .unwrap();
    assert_eq!(r["notif_nr"], Ok(i64::from(getppid)));
    assert_eq!(r["notif_id_valid"], Ok(1));
    assert_eq!(
        r["thread_getppid"],
        Ok(4242),
        "the supervisor's answer is the syscall's result"
    );
    assert_eq!(r["notif_id_valid_after"], Ok(0));
}

#[test]
fn kernel_knows_our_actions() {
    use ironpen_policy::seccomp::Action;
    use ironpen_sys::seccomp::get_action_avail;
    for a in [
        Action::Allow,
        Action::Errno(1),
        Action::KillProcess,
        Action::KillThread,
        Action::Trap(0),
        Action::Log,
        Action::UserNotify,
        Action::Trace(0),
    ] {
        assert!(get_action_avail(a.to_ret() & 0xffff_0000), "{a}");
    }
    assert!(!get_action_avail(0x7fa0_0000));
    let s = ironpen_sys::seccomp::notif_sizes().expect("GET_NOTIF_SIZES");
    assert_eq!(
        (s.seccomp_notif, s.seccomp_notif_resp, s.seccomp_data),
        (80, 24, 64)
    );
}

#[test]
fn kernel_accepts_trampolines() {
    let r = run_probe("long");
    assert!(r["long_len"].unwrap() > 2000, "{r:?}");
    assert!(r["long_trampolines"].unwrap() > 0, "{r:?}");
    for name in ["getppid", "getpid", "file_setattr"] {
        assert_eq!(r[&format!("{name}_match")], Err(2), "{name}: {r:?}");
    }
    assert_eq!(r["getppid_plain"], Ok(0));
    assert_eq!(r["getpid_plain"], Ok(0));
}
