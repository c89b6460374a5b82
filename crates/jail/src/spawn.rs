//! The parent side of a jail: clone3 into new namespaces, write the id maps, then relay signals
//! and wait. ironpen stays single-threaded until the clone (fork safety) and after it only polls
//! three fds: the sync socket, the init's pidfd and a signalfd.

use std::os::fd::{AsFd, OwnedFd};

use ironpen_sys::process::{self as sysproc, Forked};
use ironpen_sys::signal::{self, SigSet};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{Signal, WaitId, WaitIdOptions};

use crate::child::{self, libc_sig};
use crate::error::{Ctx, SetupError, EXIT_SETUP_FAILED};
use crate::protocol::{self, Message};
use crate::report::Report;
use crate::spec::JailSpec;
use ironpen_policy::seccomp::{compile, Arch};
use ironpen_sys::seccomp::SockFilter;

/// How a jailed program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signaled(i32),
}

impl Outcome {
    /// The exit status ironpen should end with: the program's, or 128+N for signal N.
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Exited(c) => c,
            Outcome::Signaled(s) => 128 + s,
        }
    }
}

/// Run `spec` and wait for the program. Errors are ironpen's own (setup) failures.
pub fn run(spec: &JailSpec) -> Result<Outcome, SetupError> {
    run_with_report(spec, |_| {})
}

/// Like [`run`], calling `on_report` with the enforcement report once the jail is set up (just
/// before the program starts).
pub fn run_with_report(
    spec: &JailSpec,
    on_report: impl FnMut(&Report),
) -> Result<Outcome, SetupError> {
    run_inner(spec, on_report, Teardown::Wait)
}

/// Like [`run_with_report`], for a caller that exits as soon as this returns (the `ironpen run`
/// command): when the program has ended, every other process of the jail is already killed and
/// reaped, and this returns without waiting for the kernel to tear down the jail's namespaces
/// (about half a millisecond). The jail's init, still exiting, is then reaped by whoever
/// inherits it. Jails with a terminal relay, cgroup limits or overlay mounts (workspaces) are
/// always waited for: their relay must drain, their cgroups be removed, their overlay be gone
/// before the workspace is unlocked.
pub fn run_then_exit(
    spec: &JailSpec,
    on_report: impl FnMut(&Report),
) -> Result<Outcome, SetupError> {
    run_inner(spec, on_report, Teardown::SkipIfPlain)
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Teardown {
    Wait,
    SkipIfPlain,
}

fn run_inner(
    spec: &JailSpec,
    mut on_report: impl FnMut(&Report),
    teardown: Teardown,
) -> Result<Outcome, SetupError> {
    let seccomp = compile_seccomp(spec)?;
    // Limits are in place before the clone; the cgroups go when this returns (all paths).
    let cgroup = crate::cgroup::JailCgroup::create(&spec.limits, spec.strict)?;
    let mut on_report = |r: &Report| on_report(&crate::cgroup::with_entries(r, cgroup.as_ref()));
    // Read host facts the children need before the clone (the jail has no /proc/sys).
    crate::caps::last_cap();
    if rustix::process::geteuid().is_root() {
        // Supplementary groups survive a user namespace and keep their host meaning; group 0
        // (root) must not ride into the jail. Rootless callers cannot drop theirs (setgroups is
        // denied in the namespace), see docs/jail.md.
        rustix::thread::set_thread_groups(&[])
            .ctx("setgroups", || "[] (drop root's groups)".into())?;
    }
    let (ours, theirs) = protocol::pair().ctx("socketpair", || "sync socket".into())?;

    let mut handled: Vec<i32> = child::FORWARDED.to_vec();
    handled.extend_from_slice(crate::pty::signals(spec.tty.as_ref()));
    let mut blocked = handled.clone();
    blocked.push(libc_sig::SIGCHLD);
    let old_mask = signal::block(&SigSet::of(&blocked))
        .ctx("sigprocmask", || "block forwarded signals".into())?;
    let sigfd = signal::signalfd(&SigSet::of(&handled)).ctx("signalfd", String::new)?;

    // The network namespace is not created here: the jail's init creates it after forking the
    // program's process, beside that process's file-system work (child.rs).
    let ns = sysproc::CLONE_NEWUSER
        | sysproc::CLONE_NEWNS
        | sysproc::CLONE_NEWPID
        | sysproc::CLONE_NEWIPC
        | sysproc::CLONE_NEWUTS
        | sysproc::CLONE_NEWCGROUP;
    let (pid, pidfd) = match sysproc::clone3(ns, None).ctx("clone3", || "jail namespaces".into())? {
        Forked::Child => {
            drop(ours);
            drop(sigfd);
            child::init_main(spec, &seccomp, theirs)
        }
        Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(theirs);

    let result = enter_cgroup(cgroup.as_ref(), pid)
        .and_then(|()| write_id_maps(pid, spec))
        .and_then(|()| {
            protocol::send_go(ours.as_fd()).ctx("send", || "start signal to the jail".into())
        });
    if let Err(e) = result {
        let _ = rustix::process::pidfd_send_signal(pidfd.as_fd(), Signal::KILL);
        let _ = rustix::process::waitid(WaitId::PidFd(pidfd.as_fd()), WaitIdOptions::EXITED);
        return Err(e);
    }
    drop(seccomp);
    let mut relay = crate::pty::Relay::new(spec.tty.as_ref());
    let early = teardown == Teardown::SkipIfPlain
        && spec.tty.is_none()
        && cgroup.is_none()
        && !spec
            .mounts
            .iter()
            .any(|m| matches!(m, crate::spec::MountOp::Overlay { .. }));
    // Workspace fuse-overlayfs daemons, started when the jail hands over their /dev/fuse; ended
    // and reaped when this goes out of scope (after the jail).
    let mut daemons = crate::workspace::fuse::Daemons::new(spec);
    let outcome = supervise(
        &ours,
        &pidfd,
        &sigfd,
        &mut relay,
        &mut daemons,
        &mut on_report,
        early,
    );
    // The user's terminal is restored here at the latest (error paths included).
    relay.finish();
    let _ = signal::set_mask(&old_mask);
    outcome
}

/// Move the jail's init into its cgroups before it is told to go on: nothing of the jail runs
/// outside its limits (docs/limits.md).
fn enter_cgroup(cg: Option<&crate::cgroup::JailCgroup>, pid: i32) -> Result<(), SetupError> {
    cg.map_or(Ok(()), |cg| cg.enter(pid))
}

/// uid_map/gid_map: one id inside -> one host id. `setgroups` is denied first (required for
/// unprivileged callers, and it keeps the jail from ever regaining supplementary groups).
fn write_id_maps(pid: i32, spec: &JailSpec) -> Result<(), SetupError> {
    let ids = &spec.ids;
    let write = |file: &str, content: String| {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, content.as_bytes())
            .ctx("write", || format!("{path} ({})", content.trim()))
    };
    write("setgroups", "deny".into())?;
    write("uid_map", format!("{} {} 1\n", ids.uid, ids.host_uid))?;
    write("gid_map", format!("{} {} 1\n", ids.gid, ids.host_gid))
}

/// Compile the plan's seccomp filter for this machine (before the clone: the child only installs).
fn compile_seccomp(spec: &JailSpec) -> Result<Vec<SockFilter>, SetupError> {
    let Some(plan) = &spec.seccomp else {
        return Ok(Vec::new());
    };
    let Some(filter) = &plan.filter else {
        // The built-in profile, compiled at build time for this target.
        let prog = DEFAULT_FILTER.ok_or_else(|| {
            SetupError::other(
                "seccomp",
                &plan.profile,
                "no built-in filter for this architecture",
            )
        })?;
        return Ok(prog.iter().map(|&i| SockFilter::from(i)).collect());
    };
    let arch = Arch::native().ok_or_else(|| {
        SetupError::other(
            "seccomp",
            &plan.profile,
            "no syscall table for this architecture",
        )
    })?;
    let prog = compile(filter, arch)
        .map_err(|e| SetupError::other("seccomp compile", &plan.profile, e.to_string()))?;
    Ok(prog
        .iter()
        .map(|i| SockFilter::from(i.to_tuple()))
        .collect())
}

include!(concat!(env!("OUT_DIR"), "/default_filter.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_filter_is_the_compiled_default_profile() {
        let arch = Arch::native().expect("a supported architecture");
        let fresh = compile(&ironpen_policy::seccomp::default_profile(), arch).unwrap();
        let fresh: Vec<(u16, u8, u8, u32)> = fresh.iter().map(|i| i.to_tuple()).collect();
        assert_eq!(DEFAULT_FILTER, Some(&fresh[..]));
    }
}

/// Once the jail has run this long, ironpen gives back the pages of its one-shot setup code
/// (short jobs never pay for that; long-lived jails cost less memory).
const TRIM_AFTER: rustix::event::Timespec = rustix::event::Timespec {
    tv_sec: 0,
    tv_nsec: 50_000_000,
};

#[derive(PartialEq, Eq, Clone, Copy)]
enum Trim {
    NotYet,
    Pending,
    Done,
}

/// Is a message waiting on the socket?
fn readable(sock: &OwnedFd) -> bool {
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let mut fds = [PollFd::new(sock, PollFlags::IN)];
    matches!(poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
}

/// Signals that end a jail still being set up (INT, TERM, HUP, QUIT).
const ABORTS_SETUP: [i32; 4] = [2, 15, 1, 3];

fn supervise(
    sock: &OwnedFd,
    pidfd: &OwnedFd,
    sigfd: &OwnedFd,
    relay: &mut crate::pty::Relay,
    daemons: &mut crate::workspace::fuse::Daemons,
    on_report: &mut dyn FnMut(&Report),
    early: bool,
) -> Result<Outcome, SetupError> {
    let mut last: Option<Message> = None;
    let mut sock_open = true;
    let mut trim = Trim::NotYet;
    // Until the report arrives the program process is still being set up, with signals blocked:
    // a terminating signal then aborts the whole jail instead of waiting for the setup.
    let mut started = false;
    let mut aborted: Option<i32> = None;
    loop {
        let mut fds = vec![
            PollFd::new(pidfd, PollFlags::IN),
            PollFd::new(sigfd, PollFlags::IN),
        ];
        if sock_open {
            fds.push(PollFd::new(sock, PollFlags::IN));
        }
        let slots = relay.poll_fds(&mut fds);
        let timeout = (trim == Trim::Pending).then_some(&TRIM_AFTER);
        let mut polled = poll(&mut fds, timeout);
        if matches!(polled, Ok(0)) && trim == Trim::Pending {
            // A quiet moment after the start: give back the one-shot setup's pages, then wait
            // for the next event with nothing run in between (see drop_image_pages_then).
            trim = Trim::Done;
            polled = sysproc::drop_image_pages_then(|| poll(&mut fds, None));
        }
        match polled {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(SetupError::os("poll", "jail", e.into())),
        }
        let revents: Vec<PollFlags> = fds.iter().map(PollFd::revents).collect();
        drop(fds);
        let init_done = !revents[0].is_empty();
        let sig_ready = !revents[1].is_empty();
        let sock_ready = sock_open && !revents[2].is_empty();
        relay.on_ready(slots, &revents);
        if sock_ready {
            match protocol::recv_with_fd(sock.as_fd()) {
                Ok(Some((Message::PtyMaster, master))) => {
                    if let Some(master) = master {
                        relay.attach(master)?;
                    }
                }
                Ok(Some((Message::FuseDevice { op }, dev))) => {
                    if let Err(e) = daemons.start(op, dev) {
                        let _ = rustix::process::pidfd_send_signal(pidfd.as_fd(), Signal::KILL);
                        last = Some(Message::Error(e));
                    }
                }
                Ok(Some((Message::Report(r), _))) => {
                    started = true;
                    on_report(&r);
                    relay.start();
                    trim = Trim::Pending;
                }
                Ok(Some((m, _))) => {
                    let last_word = matches!(m, Message::Exited(_) | Message::Signaled(_));
                    // An error from the program's process wins over init's later status report.
                    if !matches!(last, Some(Message::Error(_))) {
                        last = Some(m);
                    }
                    // Init sends the status only once every other process of the jail is dead
                    // and reaped (child::end_the_jail); what is left is the kernel tearing down
                    // the namespaces, which a caller about to exit need not wait for.
                    if last_word && early {
                        return outcome_of(last, aborted, None);
                    }
                }
                Ok(None) | Err(_) => sock_open = false,
            }
        }
        if sig_ready {
            while let Ok(Some(sig)) = signal::read_signalfd(sigfd.as_fd()) {
                if relay.on_signal(sig.signo) {
                    continue;
                }
                // Still in setup, unless the start report is already waiting on the socket.
                if !started && ABORTS_SETUP.contains(&sig.signo) && !readable(sock) {
                    let _ = rustix::process::pidfd_send_signal(pidfd.as_fd(), Signal::KILL);
                    aborted.get_or_insert(sig.signo);
                    continue;
                }
                if let Some(s) = Signal::from_named_raw(sig.signo) {
                    let _ = rustix::process::pidfd_send_signal(pidfd.as_fd(), s);
                }
            }
        }
        if init_done {
            relay.finish();
            // Drain what the jail sent before it ended.
            while sock_open {
                match rustix::event::poll(
                    &mut [PollFd::new(sock, PollFlags::IN)],
                    Some(&rustix::event::Timespec {
                        tv_sec: 0,
                        tv_nsec: 0,
                    }),
                ) {
                    Ok(n) if n > 0 => match protocol::recv_with_fd(sock.as_fd()) {
                        Ok(Some((Message::Report(r), _))) => on_report(&r),
                        Ok(Some((Message::PtyMaster | Message::FuseDevice { .. }, _))) => {}
                        Ok(Some((m, _))) => {
                            if !matches!(last, Some(Message::Error(_))) {
                                last = Some(m);
                            }
                        }
                        _ => sock_open = false,
                    },
                    _ => sock_open = false,
                }
            }
            let status =
                rustix::process::waitid(WaitId::PidFd(pidfd.as_fd()), WaitIdOptions::EXITED)
                    .ctx("waitid", || "jail init".into())?;
            return outcome_of(last, aborted, status);
        }
    }
}

/// How the jail ended, from init's last word (`last`), a setup abort, and (when ironpen waited
/// for it) init's own exit status.
fn outcome_of(
    last: Option<Message>,
    aborted: Option<i32>,
    status: Option<rustix::process::WaitIdStatus>,
) -> Result<Outcome, SetupError> {
    if let Some(sig) = aborted {
        return Ok(Outcome::Signaled(sig));
    }
    match last {
        Some(Message::Error(e)) => Err(e),
        Some(Message::Exited(c)) => Ok(Outcome::Exited(c)),
        Some(Message::Signaled(s)) => Ok(Outcome::Signaled(s)),
        Some(Message::Report(_) | Message::PtyMaster | Message::FuseDevice { .. }) | None => {
            let st = status.as_ref();
            match st.and_then(|s| s.terminating_signal()) {
                Some(sig) => Ok(Outcome::Signaled(sig)),
                None => Err(SetupError::other(
                    "jail",
                    "init",
                    format!(
                        "exited without reporting the program's status (exit {})",
                        st.and_then(|s| s.exit_status())
                            .unwrap_or(EXIT_SETUP_FAILED)
                    ),
                )),
            }
        }
    }
}
