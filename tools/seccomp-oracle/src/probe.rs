//! seccomp-probe: loads a filter into itself, then makes syscalls and prints one JSON line per
//! syscall: `{"name":..., "ret":N}` or `{"name":..., "errno":N}`. Tests run it as a child
//! process, one per scenario, because a loaded filter cannot be removed.
//!
//! Usage: seccomp-probe default | notify | long | exec PROGRAM ARGS...

use std::os::fd::AsFd;

use ironpen_policy::seccomp::{compile, default_profile, Action, Arch, Filter, Rule};
use ironpen_sys::seccomp::{
    install_filter, notif_id_valid, notif_recv, notif_send, FilterFlags, SeccompNotifResp,
};
use seccomp_oracle::{raw_syscall, to_kernel};

fn report(name: &str, r: Result<i64, i32>) {
    match r {
        Ok(v) => println!("{{\"name\":\"{name}\",\"ret\":{v}}}"),
        Err(e) => println!("{{\"name\":\"{name}\",\"errno\":{e}}}"),
    }
}

fn no_new_privs() {
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS, 1) takes no pointers.
    let r = unsafe {
        raw_syscall(
            libc::SYS_prctl,
            [libc::PR_SET_NO_NEW_PRIVS as u64, 1, 0, 0, 0, 0],
        )
    };
    r.expect("prctl(PR_SET_NO_NEW_PRIVS)");
}

fn load(f: &Filter, flags: FilterFlags) -> Option<std::os::fd::OwnedFd> {
    let prog = compile(f, Arch::native().expect("x86_64 or aarch64")).expect("compile");
    no_new_privs();
    install_filter(&to_kernel(&prog), flags).expect("install_filter")
}

/// Probes pass integers, null or bogus pointers, or pointers to live locals of the size the
/// syscall writes; none of them can corrupt this process.
fn sys(nr: i64, args: [u64; 6]) -> Result<i64, i32> {
    // SAFETY: see above; every call site in this file keeps to it.
    unsafe { raw_syscall(nr, args) }
}

fn probe_default() {
    load(&default_profile(), FilterFlags::NONE);
    let nr = |n: &str| {
        i64::from(
            Arch::native()
                .unwrap()
                .table()
                .nr(n)
                .unwrap_or_else(|| panic!("{n}")),
        )
    };
    report("getppid", sys(nr("getppid"), [0; 6]));
    let mut fds = [0i32; 2];
    report(
        "pipe2",
        sys(nr("pipe2"), [fds.as_mut_ptr() as u64, 0, 0, 0, 0, 0]),
    );
    let byte = [b'x'];
    report(
        "write",
        sys(
            nr("write"),
            [fds[1] as u64, byte.as_ptr() as u64, 1, 0, 0, 0],
        ),
    );
    let mut got = [0u8];
    report(
        "read",
        sys(
            nr("read"),
            [fds[0] as u64, got.as_mut_ptr() as u64, 1, 0, 0, 0],
        ),
    );
    let mut n = 0i32;
    report(
        "ioctl_fionread",
        sys(
            nr("ioctl"),
            [
                fds[0] as u64,
                libc::FIONREAD,
                &mut n as *mut i32 as u64,
                0,
                0,
                0,
            ],
        ),
    );
    // TIOCSTI with garbage in the upper half: the kernel truncates cmd to 32 bits.
    report(
        "ioctl_tiocsti_hi",
        sys(nr("ioctl"), [0, 0x1_0000_5412, 0, 0, 0, 0]),
    );
    report("ioctl_tiocsti", sys(nr("ioctl"), [0, 0x5412, 0, 0, 0, 0]));
    report(
        "ioctl_tioclinux",
        sys(nr("ioctl"), [0, 0xffff_0000_0000_541c, 0, 0, 0, 0]),
    );
    report("keyctl", sys(nr("keyctl"), [0, 0, 0, 0, 0, 0]));
    report("add_key", sys(nr("add_key"), [0, 0, 0, 0, 0, 0]));
    report("bpf", sys(nr("bpf"), [0, 0, 0, 0, 0, 0]));
    report(
        "perf_event_open",
        sys(nr("perf_event_open"), [0, 0, 0, 0, 0, 0]),
    );
    report("userfaultfd", sys(nr("userfaultfd"), [0, 0, 0, 0, 0, 0]));
    report(
        "io_uring_setup",
        sys(nr("io_uring_setup"), [0, 0, 0, 0, 0, 0]),
    );
    report(
        "unshare_newuser",
        sys(nr("unshare"), [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]),
    );
    report("setns", sys(nr("setns"), [u64::MAX, 0, 0, 0, 0, 0]));
    report("mount", sys(nr("mount"), [0, 0, 0, 0, 0, 0]));
    report("fsopen", sys(nr("fsopen"), [0, 0, 0, 0, 0, 0]));
    report("ptrace", sys(nr("ptrace"), [u64::MAX, 0, 0, 0, 0, 0]));
    report(
        "clone_newuser",
        sys(
            nr("clone"),
            [(libc::CLONE_NEWUSER | libc::SIGCHLD) as u64, 0, 0, 0, 0, 0],
        ),
    );
    report("clone3", sys(nr("clone3"), [0, 0, 0, 0, 0, 0]));
    report(
        "personality_query",
        sys(nr("personality"), [0xffff_ffff, 0, 0, 0, 0, 0]),
    );
    report(
        "personality_exec",
        sys(nr("personality"), [0x40_0000, 0, 0, 0, 0, 0]),
    );
    report("unknown_1000", sys(1000, [0; 6]));
    if cfg!(target_arch = "x86_64") {
        report("x32_getpid", sys(0x4000_0000 | 39, [0; 6]));
    }
    // The bad-pointer trick on an allowed syscall: EFAULT means the filter let it through.
    report(
        "openat_badptr",
        sys(nr("openat"), [libc::AT_FDCWD as u64, 1, 0, 0, 0, 0]),
    );

    // clone3 gets ENOSYS: libc must fall back to clone so programs can still start children.
    let st = std::process::Command::new("/bin/true").status();
    report(
        "spawn_true",
        st.map(|s| i64::from(s.code().unwrap_or(-1)))
            .map_err(|e| e.raw_os_error().unwrap_or(0)),
    );
}

/// getppid goes to the supervisor (this process's main thread); a second thread makes it.
fn probe_notify() {
    let mut f = Filter::new(Action::Allow);
    f.add("getppid", Rule::always(Action::UserNotify));
    let listener = load(&f, FilterFlags::NEW_LISTENER).expect("listener fd");
    let getppid = i64::from(Arch::native().unwrap().table().nr("getppid").unwrap());
    let t = std::thread::spawn(move || sys(getppid, [0; 6]));
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
    report("long_len", Ok(prog.len() as i64));
    report(
        "long_trampolines",
        Ok(prog.iter().filter(|i| i.code == 0x05).count() as i64),
    );
    load(&f, FilterFlags::NONE);
    for name in ["getppid", "getpid", "file_setattr"] {
        let (idx, nr) = arch
            .table()
            .iter()
            .enumerate()
            .find(|(_, (_, n))| *n == name)
            .map(|(i, (nr, _))| (i as u64, i64::from(nr)))
            .unwrap();
        report(&format!("{name}_plain"), sys(nr, [0; 6]).map(|_| 0));
        report(
            &format!("{name}_match"),
            sys(nr, [(idx << 32) | idx, 0, 0, 0, 0, 0]).map(|_| 0),
        );
    }
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("default") => probe_default(),
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
                "usage: seccomp-probe default|notify|long|exec PROGRAM ARGS... (got {other:?})"
            );
            std::process::exit(2);
        }
    }
}
