//! The child side of a jail, in the order DESIGN.md §3 fixes.
//!
//! The first child ("init", pid 1 of the jail) builds the file system and the namespaces'
//! contents, forks the program's process, then stays as a minimal init: it reaps orphans,
//! forwards the signals ironpen receives, and reports the program's exit status. The second child
//! drops every privilege and executes the program. Neither ever prints: a failure is sent to the
//! parent as a `SetupError` over the sync socket.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use ironpen_sys::process::{self as sysproc, Forked};
use ironpen_sys::signal::{self, SigSet};
use rustix::process::Signal;
use rustix::thread::{CapabilitiesSecureBits, CapabilitySet, CapabilitySets};

use crate::caps::{self, Capability};
use crate::error::{Ctx, SetupError, EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, EXIT_SETUP_FAILED};
use crate::mounts::{self, ProcMode};
use crate::protocol::{self, Message};
use crate::report::{Entry, Level, Report};
use crate::spec::JailSpec;
use crate::{landlock, mdwe};
use ironpen_sys::seccomp::SockFilter;

/// Signals ironpen forwards to the jailed program.
pub const FORWARDED: [i32; 7] = [
    libc_sig::SIGINT,
    libc_sig::SIGTERM,
    libc_sig::SIGHUP,
    libc_sig::SIGQUIT,
    libc_sig::SIGUSR1,
    libc_sig::SIGUSR2,
    libc_sig::SIGWINCH,
];

/// Signal numbers (x86_64/aarch64 values, identical on all Linux architectures we build for).
pub(crate) mod libc_sig {
    pub const SIGHUP: i32 = 1;
    pub const SIGINT: i32 = 2;
    pub const SIGQUIT: i32 = 3;
    pub const SIGUSR1: i32 = 10;
    pub const SIGUSR2: i32 = 12;
    pub const SIGPIPE: i32 = 13;
    pub const SIGTERM: i32 = 15;
    pub const SIGCHLD: i32 = 17;
    pub const SIGWINCH: i32 = 28;
}

/// Entry point of the jail's init after clone3. Never returns.
pub(crate) fn init_main(spec: &JailSpec, seccomp: &[SockFilter], sock: OwnedFd) -> ! {
    let err = match init_setup(spec, seccomp, &sock) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = protocol::send(sock.as_fd(), &Message::Error(err.clone()));
    sysproc::exit_now(err.exit_code)
}

enum Never {}

fn init_setup(
    spec: &JailSpec,
    seccomp: &[SockFilter],
    sock: &OwnedFd,
) -> Result<Never, SetupError> {
    // Die with ironpen. The parent is single-threaded, so "parent thread exits" = "ironpen exits".
    rustix::process::set_parent_process_death_signal(Some(Signal::KILL))
        .ctx("prctl(PR_SET_PDEATHSIG)", String::new)?;
    rustix::process::setsid().ctx("setsid", String::new)?;
    // Wait until the parent has written our id maps (EOF: the parent died; leave quietly).
    if !protocol::wait_go(sock.as_fd()) {
        sysproc::exit_now(EXIT_SETUP_FAILED);
    }
    // Only now: an unprivileged parent can write the maps only while we are dumpable.
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .ctx("prctl(PR_SET_DUMPABLE, 0)", String::new)?;
    // The program's process does the file-system work; init only forks it and waits, so it
    // keeps few pages of its own (memory per jail) and never held anything of the setup.
    let (ready_r, ready_w) =
        protocol::pair().ctx("socketpair", || "jail setup handshake".into())?;
    let program_pid = match sysproc::clone3(0, None).ctx("clone3", || "program process".into())? {
        Forked::Child => {
            drop(ready_w);
            program_main(spec, seccomp, sock, ready_r)
        }
        Forked::Parent { pid, pidfd } => {
            drop(pidfd);
            pid
        }
    };
    drop(ready_r);
    // Meanwhile init sets up what both share, on the other CPU: the host name and the network
    // namespace with loopback up (creating a network namespace is about 0.5 ms of the kernel's
    // work, the costliest namespace by far). The program's process waits for this message, then
    // joins init's network namespace, before it drops its capabilities; if init fails here,
    // the socket just closes and the program never starts.
    let netns = shared_namespaces(spec)?;
    protocol::send_ready(ready_w.as_fd(), netns.as_ref().map(AsFd::as_fd))
        .ctx("sendmsg", || "jail setup handshake".into())?;
    drop((ready_w, netns));
    ironpen_sys::fd::close_all_except(&[sock.as_raw_fd()])
        .ctx("close_range", || "jail init's file descriptors".into())?;
    // Init runs as the jail user, never as the caller (host root when ironpen runs as root).
    set_ids(spec)?;
    // A credential change clears the parent-death signal: set it again, then make sure ironpen
    // did not die in between (its end of the socket would be closed).
    rustix::process::set_parent_process_death_signal(Some(Signal::KILL))
        .ctx("prctl(PR_SET_PDEATHSIG)", String::new)?;
    if protocol::peer_gone(sock.as_fd()) {
        sysproc::exit_now(EXIT_SETUP_FAILED);
    }
    drop_init_privileges()?;
    reap_and_forward(program_pid, sock.as_fd())
}

/// The UTS namespace's host name; unless the network is shared, a new network namespace for
/// init with loopback up, returned for the program's process to join ([`join_init_network`]).
fn shared_namespaces(spec: &JailSpec) -> Result<Option<OwnedFd>, SetupError> {
    rustix::system::sethostname(spec.hostname.as_bytes())
        .ctx("sethostname", || format!("{:?}", spec.hostname))?;
    if spec.share_net {
        return Ok(None);
    }
    let net = || "jail network namespace".to_string();
    ironpen_sys::net::unshare_namespace().ctx("unshare(CLONE_NEWNET)", net)?;
    ironpen_sys::net::loopback_up().ctx("ioctl(SIOCSIFFLAGS, IFF_UP)", || "lo".into())?;
    ironpen_sys::net::current_namespace()
        .ctx("ioctl(SIOCGSKNS)", net)
        .map(Some)
}

/// Wait for init's ready message (none: init failed and reports why itself; leave quietly),
/// then enter the network namespace init created. Runs while the program's process still holds
/// CAP_SYS_ADMIN in the jail's user namespace, which setns needs; until then the process was in
/// the host's network namespace, where it opened no socket and mounted nothing network-bound.
fn join_init_network(spec: &JailSpec, ready: OwnedFd) -> Result<(), SetupError> {
    let Some(netns) = protocol::wait_ready(ready.as_fd()) else {
        sysproc::exit_now(EXIT_SETUP_FAILED);
    };
    match (spec.share_net, netns) {
        (true, None) => Ok(()),
        (false, Some(ns)) => rustix::thread::move_into_link_name_space(
            ns.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .ctx("setns(CLONE_NEWNET)", || "jail network namespace".into()),
        (_, got) => Err(SetupError::other(
            "setns(CLONE_NEWNET)",
            "jail network namespace",
            format!(
                "init sent {} namespace",
                if got.is_some() { "a" } else { "no" }
            ),
        )),
    }
}

/// Init runs under the same ids as the program and keeps no capability at all (no bounding set,
/// no_new_privs, not dumpable: the program cannot ptrace it or open its /proc entries).
fn drop_init_privileges() -> Result<(), SetupError> {
    limit_bounding_set(CapabilitySet::empty())?;
    let none = CapabilitySet::empty();
    let sets = CapabilitySets {
        effective: none,
        permitted: none,
        inheritable: none,
    };
    rustix::thread::set_capabilities(None, sets).ctx("capset", || "jail init".into())?;
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .ctx("prctl(PR_SET_DUMPABLE, 0)", || "jail init".into())?;
    rustix::thread::set_no_new_privs(true).ctx("prctl(PR_SET_NO_NEW_PRIVS)", || "jail init".into())
}

/// Drop every capability but `keep` from the bounding set (all known to the running kernel).
fn limit_bounding_set(keep: CapabilitySet) -> Result<(), SetupError> {
    for n in 0..=caps::last_cap() {
        let Some(set) = CapabilitySet::from_bits(1u64 << n) else {
            continue;
        };
        if keep.contains(set) {
            continue;
        }
        match rustix::thread::remove_capability_from_bounding_set(set) {
            Ok(()) | Err(rustix::io::Errno::INVAL) => {}
            Err(e) => {
                return Err(SetupError::os(
                    "prctl(PR_CAPBSET_DROP)",
                    format!("capability {n}"),
                    e.into(),
                ))
            }
        }
    }
    Ok(())
}

/// The init loop: wait for signals; forward those that came from outside the jail to the
/// program's process group; reap every child; when the program ends, report and exit (the
/// kernel then kills whatever else is left in the pid namespace).
fn reap_and_forward(program: i32, sock: BorrowedFd<'_>) -> ! {
    let mut set: Vec<i32> = FORWARDED.to_vec();
    set.push(libc_sig::SIGCHLD);
    let set = SigSet::of(&set);
    let mut trimmed = false;
    loop {
        let sig = if trimmed {
            signal::wait(&set).map(Some)
        } else {
            // After a quiet moment, give back the pages of code init ran once (see
            // drop_image_pages_then); short jobs end before that and never pay for it.
            signal::wait_timeout(&set, std::time::Duration::from_millis(50))
        };
        let sig = match sig {
            Ok(Some(sig)) => sig,
            Ok(None) => {
                trimmed = true;
                match sysproc::drop_image_pages_then(|| signal::wait(&set)) {
                    Ok(sig) => sig,
                    Err(_) => sysproc::exit_now(EXIT_SETUP_FAILED),
                }
            }
            Err(_) => sysproc::exit_now(EXIT_SETUP_FAILED),
        };
        if sig.signo == libc_sig::SIGCHLD {
            while let Ok(Some((pid, status))) =
                rustix::process::wait(rustix::process::WaitOptions::NOHANG)
            {
                if pid.as_raw_nonzero().get() == program {
                    let msg = match (status.exit_status(), status.terminating_signal()) {
                        (Some(code), _) => Message::Exited(code),
                        (None, Some(sig)) => Message::Signaled(sig),
                        _ => Message::Exited(EXIT_SETUP_FAILED),
                    };
                    end_the_jail();
                    let _ = protocol::send(sock, &msg);
                    sysproc::exit_now(0);
                }
            }
        } else if sig.pid == 0 {
            // Sent from outside the jail's pid namespace, i.e. by ironpen: forward it.
            if let (Some(pid), Some(s)) = (
                rustix::process::Pid::from_raw(program),
                Signal::from_named_raw(sig.signo),
            ) {
                let _ = rustix::process::kill_process_group(pid, s);
            }
        }
    }
}

/// Kill every other process of the jail and reap them all, so that once ironpen has the final
/// status nothing of the jail runs any more (init itself only exits after this). Init is pid 1 of
/// the jail's pid namespace: `kill(-1)` reaches every other process in it, and every orphan is
/// init's child, so `wait` ends with ECHILD once they are all gone.
///
/// Every process of the jail descends from init through living parents (an orphan is adopted by
/// init or by a living subreaper inside), so when init has no child at all — the common case,
/// a program that left nothing behind — nothing else runs, and the `kill(-1)`, which walks every
/// process of the host, is skipped.
fn end_the_jail() {
    use rustix::process::{wait, WaitOptions};
    if let Err(rustix::io::Errno::CHILD) = wait(WaitOptions::NOHANG) {
        return;
    }
    let _ = sysproc::kill_all_others();
    while wait(WaitOptions::empty()).is_ok() {}
}

/// Entry point of the program's process. Never returns.
fn program_main(spec: &JailSpec, seccomp: &[SockFilter], sock: &OwnedFd, ready: OwnedFd) -> ! {
    let err = match program_setup(spec, seccomp, sock.as_fd(), ready) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = protocol::send(sock.as_fd(), &Message::Error(err.clone()));
    sysproc::exit_now(err.exit_code)
}

fn program_setup(
    spec: &JailSpec,
    seccomp: &[SockFilter],
    sock: BorrowedFd<'_>,
    ready: OwnedFd,
) -> Result<Never, SetupError> {
    let mut keep: Vec<i32> = spec.pass_fds.clone();
    keep.push(sock.as_raw_fd());
    keep.push(ready.as_raw_fd());
    keep.sort_unstable();
    ironpen_sys::fd::close_all_except(&keep)
        .ctx("close_range", || "inherited file descriptors".into())?;

    mounts::make_private()?;
    // Bind sources are opened with the caller's rights; everything created afterwards (the root
    // tmpfs's entries, mount points) belongs to the jail's own ids, which are mapped in the new
    // file systems' user namespace.
    let mut sources = mounts::open_sources(&spec.mounts)?;
    rustix::thread::set_capabilities_secure_bits(CapabilitiesSecureBits::NO_SETUID_FIXUP)
        .ctx("prctl(PR_SET_SECUREBITS)", || "NO_SETUID_FIXUP".into())?;
    set_ids(spec)?;
    let workspaces = mounts::mount_overlays(&spec.mounts, &mut sources, &spec.ids, sock)?;
    // pivot_root also moves init's root and working directory to the new root.
    let proc_mode = mounts::build_and_pivot(&spec.mounts, sources, &spec.ids, &spec.exec_paths)?;

    // Own process group, so forwarded terminal signals reach the program and its children.
    // With a pty: a new session whose controlling terminal is the jail's own (pty.rs).
    match &spec.tty {
        Some(tty) => crate::pty::attach_in_jail(tty, sock)?,
        None => rustix::process::setpgid(None, None).ctx("setpgid", String::new)?,
    }
    // Before the rlimits: a low --rlimit nofile must not keep the namespace's fd from arriving.
    join_init_network(spec, ready)?;
    for r in &spec.rlimits {
        r.apply()
            .ctx("setrlimit", || format!("--rlimit {}", r.resource))?;
    }
    drop_privileges(spec)?;
    sysproc::join_new_session_keyring().ctx("keyctl(JOIN_SESSION_KEYRING)", || {
        "new session keyring".into()
    })?;
    rustix::thread::set_no_new_privs(true).ctx("prctl(PR_SET_NO_NEW_PRIVS)", String::new)?;
    rustix::process::chdir(spec.cwd.as_path()).ctx("chdir", || {
        format!("{:?} (working directory)", spec.cwd.display().to_string())
    })?;

    let path = resolve_program(spec)?;
    let args = sysproc::ExecArgs::new(&path, &spec.argv, &spec.env)
        .map_err(|e| SetupError::os("execve", format!("{path:?}"), e))?;
    for &fd in &spec.pass_fds {
        ironpen_sys::fd::clear_cloexec(fd).ctx("fcntl(F_SETFD)", || format!("--pass-fd {fd}"))?;
    }

    let mut report = base_report(spec, proc_mode);
    report.entries.extend(workspaces);
    report.push(mdwe::apply(spec, &path)?);
    report.push(landlock::restrict(spec)?);
    report.push(seccomp_entry(spec, seccomp));
    if spec.strict {
        if let Some(e) = report.shortfalls().next() {
            let why = format!("not fully enforced ({}: {})", e.level, e.detail);
            return Err(SetupError::other("--strict", &e.feature, why));
        }
    }
    let _ = protocol::send(sock, &Message::Report(report));
    signal::set_mask(&SigSet::empty()).ctx("sigprocmask", || "unblock signals".into())?;
    // SIGPIPE as outside any jail: ignored only by ironpen's own runtime (see the function).
    signal::restore_default_action(libc_sig::SIGPIPE).ctx("sigaction(SIGPIPE, SIG_DFL)", || {
        "program's signal actions".into()
    })?;
    // Last: from here on only the syscalls the filter allows (execve among them).
    if !seccomp.is_empty() {
        let profile = || {
            spec.seccomp
                .as_ref()
                .map(|p| p.profile.clone())
                .unwrap_or_default()
        };
        ironpen_sys::seccomp::install_filter(seccomp, ironpen_sys::seccomp::FilterFlags::NONE)
            .ctx("seccomp(SET_MODE_FILTER)", profile)?;
    }
    let e = sysproc::execve(&args);
    let code = match e.raw_os_error() {
        Some(libc_errno::ENOENT) => EXIT_NOT_FOUND,
        _ => EXIT_CANNOT_EXECUTE,
    };
    Err(SetupError::os("execve", format!("{path:?}"), e).with_exit_code(code))
}

mod libc_errno {
    pub const ENOENT: i32 = 2;
}

/// Identity and capabilities, in the only order that works: bounding set and securebits while we
/// still hold CAP_SETPCAP; then the ids (NO_SETUID_FIXUP keeps our capabilities across the uid
/// change); then permitted/effective/inheritable = the granted set; then ambient.
/// With SECBIT_NOROOT locked, uid 0 inside the jail gains nothing at execve.
fn drop_privileges(spec: &JailSpec) -> Result<(), SetupError> {
    let keep = CapabilitySet::from_bits_truncate(Capability::mask(&spec.caps));
    limit_bounding_set(keep)?;
    let bits = CapabilitiesSecureBits::NO_ROOT
        | CapabilitiesSecureBits::NO_ROOT_LOCKED
        | CapabilitiesSecureBits::NO_SETUID_FIXUP
        | CapabilitiesSecureBits::NO_SETUID_FIXUP_LOCKED
        | CapabilitiesSecureBits::KEEP_CAPS_LOCKED;
    rustix::thread::set_capabilities_secure_bits(bits).ctx("prctl(PR_SET_SECUREBITS)", || {
        "NOROOT|NO_SETUID_FIXUP (locked)".into()
    })?;
    set_ids(spec)?;
    let sets = CapabilitySets {
        effective: keep,
        permitted: keep,
        inheritable: keep,
    };
    rustix::thread::set_capabilities(None, sets).ctx("capset", || format!("{:?}", spec.caps))?;
    for c in &spec.caps {
        let Some(set) = CapabilitySet::from_bits(1u64 << c.number()) else {
            continue;
        };
        rustix::thread::configure_capability_in_ambient_set(set, true)
            .ctx("prctl(PR_CAP_AMBIENT_RAISE)", || format!("--cap-add {c}"))?;
    }
    Ok(())
}

/// setresgid + setresuid to the jail's ids (capabilities are kept: NO_SETUID_FIXUP is set).
fn set_ids(spec: &JailSpec) -> Result<(), SetupError> {
    let gid = rustix::process::Gid::from_raw(spec.ids.gid);
    let uid = rustix::process::Uid::from_raw(spec.ids.uid);
    rustix::thread::set_thread_res_gid(gid, gid, gid)
        .ctx("setresgid", || spec.ids.gid.to_string())?;
    rustix::thread::set_thread_res_uid(uid, uid, uid).ctx("setresuid", || spec.ids.uid.to_string())
}

/// The protections set up before the program stage, as the report states them.
fn base_report(spec: &JailSpec, proc_mode: ProcMode) -> Report {
    let mut r = Report::default();
    let net = if spec.share_net {
        "network shared with the host"
    } else {
        "own network namespace, loopback only"
    };
    r.push(Entry::full(
        "namespaces",
        format!("user mount pid ipc uts cgroup; {net}"),
    ));
    r.push(Entry::full(
        "filesystem",
        "new tmpfs root, read-only; pivot_root, old root detached",
    ));
    r.push(match proc_mode {
        ProcMode::PidOnly => Entry::full("proc", "subset=pid: no /proc/sys, /proc/kcore, ..."),
        ProcMode::Full => Entry::new(
            "proc",
            Level::Partial,
            "kernel lacks subset=pid: global /proc files visible",
        ),
        ProcMode::NotMounted => Entry::full("proc", "not mounted"),
    });
    let caps = if spec.caps.is_empty() {
        "none".to_string()
    } else {
        spec.caps
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(",")
    };
    r.push(Entry::full(
        "capabilities",
        format!("bounding/ambient = {caps}; SECBIT_NOROOT locked"),
    ));
    r.push(Entry::full("no_new_privs", "set"));
    r
}

/// Seccomp's report line; installation itself is the last step before execve.
fn seccomp_entry(spec: &JailSpec, prog: &[SockFilter]) -> Entry {
    match &spec.seccomp {
        Some(p) => Entry::full(
            "seccomp",
            format!("profile {}, {} instructions", p.profile, prog.len()),
        ),
        None => Entry::waived("seccomp", "disabled by request (--seccomp none)"),
    }
}

/// The jail's PATH (the default one when the environment has none).
fn jail_path_var(spec: &JailSpec) -> &str {
    spec.env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())
        .unwrap_or("/usr/bin:/bin")
}

/// Look `name` up like execvp, with the jail's PATH and inside the jail: a name with a '/' as
/// is, else the first executable regular file `DIR/name`.
pub(crate) fn search_path(spec: &JailSpec, name: &str) -> Option<String> {
    if name.contains('/') {
        return Some(name.to_string());
    }
    jail_path_var(spec)
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| format!("{d}/{name}"))
        .find(|c| {
            rustix::fs::access(c.as_str(), rustix::fs::Access::EXEC_OK).is_ok()
                && rustix::fs::stat(c.as_str()).is_ok_and(|st| {
                    rustix::fs::FileType::from_raw_mode(st.st_mode)
                        == rustix::fs::FileType::RegularFile
                })
        })
}

/// Find argv[0] (see [`search_path`]); not found is exit 127 with the PATH searched.
fn resolve_program(spec: &JailSpec) -> Result<String, SetupError> {
    let name = spec.argv.first().map(String::as_str).unwrap_or_default();
    search_path(spec, name).ok_or_else(|| {
        SetupError::other(
            "execve",
            format!("{name:?}"),
            format!(
                "command not found in the jail's PATH ({})",
                jail_path_var(spec)
            ),
        )
        .with_exit_code(EXIT_NOT_FOUND)
    })
}
