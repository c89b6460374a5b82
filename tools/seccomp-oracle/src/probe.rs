//! seccomp-probe: loads a filter into itself, then makes syscalls and prints one JSON line per
//! syscall: `{"name":..., "ret":N}` or `{"name":..., "errno":N}`. Tests run it as a child
//! process, one per scenario, because a loaded filter cannot be removed.
//!
//! Usage: seccomp-probe default | jailed | jailed-all | notify | long | exec PROGRAM ARGS...
//! (`jailed` makes the `default` checks without loading anything: run it inside a jail.)

use std::os::fd::AsFd;

use ironpen_policy::seccomp::{
    compile, default_profile, reference, Action, Arch, Filter, Rule, SeccompData,
};
use ironpen_sys::raw::{self, NoArgs, Zeroed};
use ironpen_sys::seccomp::{
    install_filter, notif_id_valid, notif_recv, notif_send, FilterFlags, SeccompNotifResp,
};
use seccomp_oracle::to_kernel;

const CLONE_NEWUSER: u64 = 0x1000_0000;
const SIGCHLD: u64 = 17;

fn report(name: &str, r: Result<i64, i32>) {
    match r {
        Ok(v) => println!("{{\"name\":\"{name}\",\"ret\":{v}}}"),
        Err(e) => println!("{{\"name\":\"{name}\",\"errno\":{e}}}"),
    }
}

fn load(f: &Filter, flags: FilterFlags) -> Option<std::os::fd::OwnedFd> {
    let prog = compile(f, Arch::native().expect("x86_64 or aarch64")).expect("compile");
    rustix::thread::set_no_new_privs(true).expect("prctl(PR_SET_NO_NEW_PRIVS)");
    install_filter(&to_kernel(&prog), flags).expect("install_filter")
}

/// The default-profile checks. `load_filter`: load ironpen's default profile first; otherwise
/// test whatever filter this process already runs under (inside an `ironpen run` jail).
fn probe_default(load_filter: bool) {
    if load_filter {
        load(&default_profile(), FilterFlags::NONE);
    }
    report("getppid", raw::no_args(NoArgs::Getppid, [0; 6]));
    let pipe = raw::pipe2(0);
    report("pipe2", pipe.as_ref().map(|_| 0).map_err(|e| *e));
    let (r, w) = pipe.expect("pipe2");
    report("write", raw::write(w.as_fd(), b"x"));
    let mut got = [0u8];
    report("read", raw::read(r.as_fd(), &mut got));
    report("ioctl_fionread", raw::ioctl_fionread(r.as_fd()).map(|_| 0));
    let stdin = std::io::stdin();
    // TIOCSTI with garbage in the upper half: the kernel truncates cmd to 32 bits.
    report(
        "ioctl_tiocsti_hi",
        raw::ioctl_null(stdin.as_fd(), 0x1_0000_5412),
    );
    report("ioctl_tiocsti", raw::ioctl_null(stdin.as_fd(), 0x5412));
    report(
        "ioctl_tioclinux",
        raw::ioctl_null(stdin.as_fd(), 0xffff_0000_0000_541c),
    );
    for (name, sc) in [
        ("keyctl", Zeroed::Keyctl),
        ("add_key", Zeroed::AddKey),
        ("bpf", Zeroed::Bpf),
        ("perf_event_open", Zeroed::PerfEventOpen),
        ("userfaultfd", Zeroed::Userfaultfd),
        ("io_uring_setup", Zeroed::IoUringSetup),
    ] {
        report(name, raw::zeroed(sc));
    }
    report("unshare_newuser", raw::unshare_namespaces(CLONE_NEWUSER));
    report("setns", raw::setns_raw(u64::MAX, 0));
    report("mount", raw::zeroed(Zeroed::Mount));
    report("fsopen", raw::zeroed(Zeroed::Fsopen));
    report("ptrace", raw::ptrace_pid0(u64::MAX));
    report(
        "clone_newuser",
        raw::fork_into_namespaces(CLONE_NEWUSER | SIGCHLD),
    );
    report("clone3", raw::zeroed(Zeroed::Clone3));
    report("personality_query", raw::personality(0xffff_ffff));
    report("personality_exec", raw::personality(0x40_0000));
    report("unknown_1000", raw::unassigned(1000));
    #[cfg(target_arch = "x86_64")]
    report("x32_getpid", raw::x32_getpid());
    // The bad-pointer trick on an allowed syscall: EFAULT means the filter let it through.
    report("openat_badptr", raw::openat_null_path());

    // clone3 gets ENOSYS: libc must fall back to clone so programs can still start children.
    let st = std::process::Command::new("/bin/true").status();
    report(
        "spawn_true",
        st.map(|s| i64::from(s.code().unwrap_or(-1)))
            .map_err(|e| e.raw_os_error().unwrap_or(0)),
    );
}

/// Every syscall the default profile refuses (with all-zero arguments, per the reference
/// evaluator), made from inside a jail: one line `{"name":..., "expected":E, "errno":N}` (or
/// `"ret"` when it got through). Calls that could alter this process are skipped by
/// `raw::zero_args` and listed as `"skipped":true`.
fn probe_deny_set() {
    let arch = Arch::native().expect("x86_64 or aarch64");
    let filter = default_profile();
    for (nr, name) in arch.table().iter() {
        let data = SeccompData::new(arch, nr, [0; 6]);
        let Action::Errno(expected) = reference(&filter, arch, &data) else {
            continue;
        };
        match raw::zero_args(nr) {
            None => println!("{{\"name\":\"{name}\",\"expected\":{expected},\"skipped\":true}}"),
            Some(Ok(v)) => println!("{{\"name\":\"{name}\",\"expected\":{expected},\"ret\":{v}}}"),
            Some(Err(e)) => {
                println!("{{\"name\":\"{name}\",\"expected\":{expected},\"errno\":{e}}}")
            }
        }
    }
}

/// getppid goes to the supervisor (this process's main thread); a second thread makes it.
fn probe_notify() {
    let mut f = Filter::new(Action::Allow);
    f.add("getppid", Rule::always(Action::UserNotify));
    let listener = load(&f, FilterFlags::NEW_LISTENER).expect("listener fd");
    let t = std::thread::spawn(|| raw::no_args(NoArgs::Getppid, [0; 6]));
    let n = notif_recv(listener.as_fd()).expect("NOTIF_RECV");
    report("notif_nr", Ok(i64::from(n.data.nr)));
    report(
        "notif_id_valid",
        Ok(i64::from(
            notif_id_valid(listener.as_fd(), n.id).expect("ID_VALID"),
        )),
    );
    notif_send(
        listener.as_fd(),
        &SeccompNotifResp {
            id: n.id,
            val: 4242,
            error: 0,
            flags: 0,
        },
    )
    .expect("NOTIF_SEND");
    report("thread_getppid", t.join().expect("thread"));
    report(
        "notif_id_valid_after",
        Ok(i64::from(
            notif_id_valid(listener.as_fd(), n.id).expect("ID_VALID"),
        )),
    );
}

/// A program of 2,000+ instructions whose search-tree jumps need `ja` trampolines: the kernel must
/// accept it and decide as our interpreter does.
fn probe_long() {
    use ironpen_policy::seccomp::{Cond, Op, Width};
    let arch = Arch::native().unwrap();
    let mut f = Filter::new(Action::Allow);
    for (i, (_, name)) in arch.table().iter().enumerate() {
        let v = i as u64;
        f.add(
            name,
            Rule::when(
                Action::Errno(2),
                vec![Cond::new(0, Width::W64, Op::Eq, (v << 32) | v)],
            ),
        );
    }
    let prog = compile(&f, arch).expect("compile");
    let count = |n: usize| Ok(i64::try_from(n).expect("program length"));
    report("long_len", count(prog.len()));
    report(
        "long_trampolines",
        count(prog.iter().filter(|i| i.code == 0x05).count()),
    );
    load(&f, FilterFlags::NONE);
    let call = |name: &str, a0: u64| match name {
        "getppid" => raw::no_args(NoArgs::Getppid, [a0, 0, 0, 0, 0, 0]),
        "getpid" => raw::no_args(NoArgs::Getpid, [a0, 0, 0, 0, 0, 0]),
        "file_setattr" => raw::file_setattr_null(a0),
        other => unreachable!("{other}"),
    };
    for name in ["getppid", "getpid", "file_setattr"] {
        let idx = arch
            .table()
            .iter()
            .position(|(_, n)| n == name)
            .map(|i| i as u64)
            .unwrap();
        report(&format!("{name}_plain"), call(name, 0).map(|_| 0));
        report(
            &format!("{name}_match"),
            call(name, (idx << 32) | idx).map(|_| 0),
        );
    }
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("default") => probe_default(true),
        Some("jailed") => probe_default(false),
        Some("jailed-all") => probe_deny_set(),
        Some("notify") => probe_notify(),
        Some("long") => probe_long(),
        Some("exec") => {
            // Run a real program under the default profile (exec keeps the filter).
            use std::os::unix::process::CommandExt;
            let argv: Vec<String> = std::env::args().skip(2).collect();
            load(&default_profile(), FilterFlags::NONE);
            let e = std::process::Command::new(&argv[0]).args(&argv[1..]).exec();
            eprintln!("exec {argv:?}: {e}");
            std::process::exit(127);
        }
        other => {
            eprintln!(
                "usage: seccomp-probe default|jailed|jailed-all|notify|long|exec PROGRAM ARGS... (got {other:?})"
            );
            std::process::exit(2);
        }
    }
}
