//! Signal masks, signalfd(2) and sigwaitinfo(2): how ironpen waits for signals without handlers
//! (no async-signal-safety puzzles; every signal is read synchronously).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// A set of signal numbers.
#[derive(Clone, Copy)]
pub struct SigSet(libc::sigset_t);

impl SigSet {
    pub fn empty() -> Self {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it fully.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid, writable sigset_t.
        unsafe { libc::sigemptyset(&mut set) };
        Self(set)
    }

    pub fn of(signals: &[i32]) -> Self {
        let mut set = Self::empty();
        for &s in signals {
            // SAFETY: `set.0` is an initialised sigset_t; invalid numbers are rejected (EINVAL).
            unsafe { libc::sigaddset(&mut set.0, s) };
        }
        set
    }
}

fn sigprocmask(how: libc::c_int, set: &SigSet) -> io::Result<SigSet> {
    let mut old = SigSet::empty();
    // SAFETY: both pointers refer to valid sigset_t values owned by this frame.
    let ret = unsafe { libc::pthread_sigmask(how, &set.0, &mut old.0) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    Ok(old)
}

/// Block `set` (add to the mask). Returns the previous mask.
pub fn block(set: &SigSet) -> io::Result<SigSet> {
    sigprocmask(libc::SIG_BLOCK, set)
}

/// Replace the signal mask.
pub fn set_mask(set: &SigSet) -> io::Result<SigSet> {
    sigprocmask(libc::SIG_SETMASK, set)
}

/// Give `signo` its default action back (SIG_DFL). An ignored signal stays ignored across
/// execve; Rust's runtime ignores SIGPIPE in ironpen itself, so a program started from it would
/// otherwise get EPIPE errors where it expects to be stopped (`yes | head`). Like
/// `std::process::Command`, which resets SIGPIPE in the children it spawns.
pub fn restore_default_action(signo: i32) -> io::Result<()> {
    // SAFETY: sigaction is plain data; zeroed is a valid value (empty mask, no flags), and
    // SIG_DFL installs no handler, so no code of ours can run in signal context.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = libc::SIG_DFL;
    // SAFETY: `action` is an initialised sigaction owned by this frame; no old action wanted.
    let ret = unsafe { libc::sigaction(signo, &action, std::ptr::null_mut()) };
    crate::check(libc::c_long::from(ret)).map(drop)
}

/// A received signal: its number and the sender's pid as seen from our pid namespace (0 when the
/// sender lives in an ancestor namespace, or for kernel-generated signals).
#[derive(Debug, Clone, Copy)]
pub struct Received {
    pub signo: i32,
    pub pid: i32,
}

/// `signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK)`. The signals must already be blocked.
pub fn signalfd(set: &SigSet) -> io::Result<OwnedFd> {
    // SAFETY: `set` points to an initialised sigset_t; the result is checked before wrapping.
    let ret = unsafe { libc::signalfd(-1, &set.0, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    crate::check(libc::c_long::from(ret))?;
    // SAFETY: a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret) })
}

/// Read one pending signal from a signalfd (`None` if none is pending).
pub fn read_signalfd(fd: BorrowedFd<'_>) -> io::Result<Option<Received>> {
    // SAFETY: signalfd_siginfo is plain data; zero is a valid value.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: the buffer is exactly one signalfd_siginfo, owned by this frame.
    let ret = unsafe {
        libc::read(
            fd.as_raw_fd(),
            (&mut info as *mut libc::signalfd_siginfo).cast(),
            size,
        )
    };
    if ret < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        };
    }
    Ok(Some(Received {
        signo: i32::try_from(info.ssi_signo).unwrap_or(0),
        pid: i32::try_from(info.ssi_pid).unwrap_or(0),
    }))
}

/// `sigwaitinfo(set)`: wait for one of the (blocked) signals in `set`.
pub fn wait(set: &SigSet) -> io::Result<Received> {
    loop {
        // SAFETY: siginfo_t is plain data; zero is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` and `info` are valid for the duration of the call.
        let ret = unsafe { libc::sigwaitinfo(&set.0, &mut info) };
        if ret < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        // SAFETY: for signals delivered by kill/pidfd_send_signal/SIGCHLD, si_pid is valid.
        let pid = unsafe { info.si_pid() };
        return Ok(Received { signo: ret, pid });
    }
}

/// `sigtimedwait(set, timeout)`: like [`wait`], but `Ok(None)` when nothing arrived in time.
pub fn wait_timeout(set: &SigSet, timeout: std::time::Duration) -> io::Result<Option<Received>> {
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos().min(999_999_999).cast_signed()),
    };
    loop {
        // SAFETY: siginfo_t is plain data; zero is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set`, `info` and `ts` are valid for the duration of the call.
        let ret = unsafe { libc::sigtimedwait(&set.0, &mut info, &ts) };
        if ret < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok(None),
                _ => return Err(e),
            }
        }
        // SAFETY: for signals delivered by kill/pidfd_send_signal/SIGCHLD, si_pid is valid.
        let pid = unsafe { info.si_pid() };
        return Ok(Some(Received { signo: ret, pid }));
    }
}
