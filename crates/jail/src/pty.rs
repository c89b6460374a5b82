//! The jail's own pseudo-terminal. When ironpen runs on a terminal, the jailed program never gets
//! that terminal: it gets a pty from the jail's private devpts instance as the controlling
//! terminal of a new session, and ironpen copies bytes between the user's terminal (in raw mode,
//! always restored) and the pty's master. TIOCSTI, TIOCLINUX and friends then reach only the
//! jail's own terminal. See docs/terminal.md.
//!
//! Three parts: the plan ([`TtyMode`] → [`TtyPlan`], decided before the clone), the program
//! process's side ([`attach_in_jail`]) and ironpen's side ([`Relay`], driven by the poll loop in
//! `spawn::supervise`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::event::{PollFd, PollFlags};
use rustix::io::Errno;
use rustix::termios::{self, OptionalActions, SpecialCodeIndex, Termios};
use serde::{Deserialize, Serialize};

use crate::error::{Ctx, SetupError};
use crate::protocol::{self, Message};
use crate::spec::SpecError;

/// `--tty`: when the jail gets its own terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TtyMode {
    /// A pty iff ironpen's stdin is a terminal.
    #[default]
    Auto,
    /// Always a pty (also when no standard fd is a terminal, e.g. for a benchmark or `script`).
    Always,
    /// Never: the program gets ironpen's fds 0-2 as they are, in a new session without a
    /// controlling terminal.
    Never,
}

impl TtyMode {
    pub fn parse(s: &str) -> Result<Self, SpecError> {
        match s {
            "auto" => Ok(Self::Auto),
            "always" => Ok(Self::Always),
            "never" => Ok(Self::Never),
            _ => Err(SpecError::new("--tty", s, "must be auto, always or never")),
        }
    }
}

/// The jail's terminal, as planned: which of the program's standard fds become the pty's slave.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TtyPlan {
    /// Standard fds (0, 1, 2) replaced by the slave: those that are terminals in ironpen (a pipe
    /// or file stays as it is, so `ironpen run -- cmd > out` writes `out` unmodified); all three
    /// when none is a terminal (`--tty always`).
    pub attach: Vec<i32>,
}

impl TtyPlan {
    fn has(&self, fd: i32) -> bool {
        self.attach.contains(&fd)
    }
}

fn std_fd(fd: i32) -> BorrowedFd<'static> {
    match fd {
        0 => rustix::stdio::stdin(),
        1 => rustix::stdio::stdout(),
        _ => rustix::stdio::stderr(),
    }
}

/// Decide at plan time, from `--tty` and what ironpen's fds 0-2 are.
pub fn plan(mode: TtyMode) -> Option<TtyPlan> {
    plan_for(mode, [0, 1, 2].map(|fd| termios::isatty(std_fd(fd))))
}

fn plan_for(mode: TtyMode, is_tty: [bool; 3]) -> Option<TtyPlan> {
    let terminals: Vec<i32> = (0..3).filter(|&fd| is_tty[fd as usize]).collect();
    match mode {
        TtyMode::Never => None,
        TtyMode::Auto if !is_tty[0] => None,
        TtyMode::Auto => Some(TtyPlan { attach: terminals }),
        TtyMode::Always if terminals.is_empty() => Some(TtyPlan {
            attach: vec![0, 1, 2],
        }),
        TtyMode::Always => Some(TtyPlan { attach: terminals }),
    }
}

/// The program's process, after pivot_root (so `/dev/ptmx` is the jail's own devpts instance):
/// open a pty, hand its master to ironpen over the sync socket, start a new session with the
/// slave as controlling terminal and put the slave on the planned standard fds. Replaces the
/// plain `setpgid` of a jail without a terminal (the session leader leads its own group too).
pub(crate) fn attach_in_jail(plan: &TtyPlan, sock: BorrowedFd<'_>) -> Result<(), SetupError> {
    use rustix::fs::{Mode, OFlags};
    let what = || "/dev/ptmx (the jail's devpts)".to_string();
    let master = rustix::fs::open(
        "/dev/ptmx",
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx("open", what)?;
    ironpen_sys::tty::unlockpt(master.as_fd()).ctx("ioctl(TIOCSPTLCK)", what)?;
    // From the master itself, not by a path under /dev/pts: no lookup to race.
    let slave = ironpen_sys::tty::open_peer(master.as_fd()).ctx("ioctl(TIOCGPTPEER)", what)?;
    protocol::send_with_fd(sock, &Message::PtyMaster, master.as_fd())
        .ctx("sendmsg(SCM_RIGHTS)", || "pty master to ironpen".into())?;
    drop(master);
    rustix::process::setsid().ctx("setsid", || "program process".into())?;
    rustix::process::ioctl_tiocsctty(&slave).ctx("ioctl(TIOCSCTTY)", || "the jail's pty".into())?;
    for &fd in &plan.attach {
        let r = match fd {
            0 => rustix::stdio::dup2_stdin(&slave),
            1 => rustix::stdio::dup2_stdout(&slave),
            _ => rustix::stdio::dup2_stderr(&slave),
        };
        r.ctx("dup2", || format!("the jail's pty -> fd {fd}"))?;
    }
    Ok(())
}

/// The user's terminal in raw mode; dropping it puts the saved mode back. Every way out of
/// `supervise` drops it, errors included. (SIGKILL and a panic under `panic = "abort"` cannot
/// restore anything; `stty sane` or `reset` then does.)
struct RawMode {
    fd: BorrowedFd<'static>,
    saved: Termios,
}

impl RawMode {
    fn enter(fd: BorrowedFd<'static>) -> rustix::io::Result<Self> {
        let saved = termios::tcgetattr(fd)?;
        let mut raw = saved.clone();
        raw.make_raw();
        termios::tcsetattr(fd, OptionalActions::Now, &raw)?;
        Ok(Self { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // EIO when the terminal is gone (hangup): nothing left to restore.
        let _ = termios::tcsetattr(self.fd, OptionalActions::Now, &self.saved);
    }
}

/// SIGTSTP (the same number on every architecture we build for).
const SIGTSTP: i32 = 20;

/// Signals ironpen must receive (on its signalfd) in addition to the forwarded ones.
pub(crate) fn signals(plan: Option<&TtyPlan>) -> &'static [i32] {
    match plan {
        Some(_) => &[SIGTSTP],
        None => &[],
    }
}

/// Read size of one relay step. A pty delivers at most a few KiB per read; 64 KiB keeps the
/// syscall count per byte low when ironpen's stdin is a pipe.
const CHUNK: usize = 64 * 1024;

/// Where this loop iteration's fds sit in the poll array (filled by [`Relay::poll_fds`]).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Slots {
    input: Option<usize>,
    master: Option<usize>,
}

/// ironpen's side of the jail's terminal.
pub(crate) struct Relay {
    plan: Option<TtyPlan>,
    master: Option<OwnedFd>,
    /// The user's terminal (the first attached fd that is one): raw mode and window size.
    term: Option<BorrowedFd<'static>>,
    /// Where the jail's terminal output goes.
    out: BorrowedFd<'static>,
    raw: Option<RawMode>,
    /// Relaying started (the program is about to exec).
    started: bool,
    /// Still reading ironpen's stdin (only when fd 0 is attached to the jail's pty).
    reading_input: bool,
    /// Still reading the master (until EIO: the slave side is gone).
    reading_master: bool,
    /// Writing the output still works (a hung-up terminal: output is read and dropped).
    out_ok: bool,
    /// Input read from stdin, not yet accepted by the master.
    pending: Vec<u8>,
    buf: Vec<u8>,
}

impl Relay {
    pub(crate) fn new(plan: Option<&TtyPlan>) -> Self {
        let plan = plan.cloned();
        let attached = |fd: i32| plan.as_ref().is_some_and(|p| p.has(fd));
        let term = [0, 1, 2]
            .into_iter()
            .filter(|&fd| attached(fd))
            .map(std_fd)
            .find(|fd| termios::isatty(fd));
        // The jail's output goes to the user's terminal: stdout if attached, else stderr, else
        // the terminal on stdin (prompts written to /dev/tty must reach the user).
        let out = if attached(1) {
            std_fd(1)
        } else if attached(2) {
            std_fd(2)
        } else if attached(0) && termios::isatty(std_fd(0)) {
            std_fd(0)
        } else {
            std_fd(1)
        };
        Self {
            reading_input: attached(0),
            plan,
            master: None,
            term,
            out,
            raw: None,
            started: false,
            reading_master: false,
            out_ok: true,
            pending: Vec::new(),
            // Allocated when a master arrives: a jail without a pty costs nothing here.
            buf: Vec::new(),
        }
    }

    /// The jail's master arrived. Only the first one counts, and only when a pty was planned.
    pub(crate) fn attach(&mut self, master: OwnedFd) -> Result<(), SetupError> {
        if self.plan.is_none() || self.master.is_some() || !termios::isatty(&master) {
            return Ok(());
        }
        rustix::io::ioctl_fionbio(&master, true)
            .ctx("ioctl(FIONBIO)", || "the jail's pty master".into())?;
        self.master = Some(master);
        self.buf = vec![0; CHUNK];
        self.reading_master = true;
        self.resize();
        Ok(())
    }

    /// The program is about to exec: put the user's terminal in raw mode and start relaying.
    /// Keystrokes like Ctrl-C now reach the jail's pty as bytes, and its line discipline signals
    /// the jail's foreground process group. A terminal that refuses raw mode (hung up) is relayed
    /// as it is: its Ctrl-C then reaches ironpen as SIGINT, which is forwarded.
    pub(crate) fn start(&mut self) {
        if self.master.is_none() || self.started {
            return;
        }
        self.started = true;
        if let Some(term) = self.term {
            self.raw = RawMode::enter(term).ok();
        }
    }

    /// Called for every signal ironpen receives; true when it is handled here (not forwarded).
    /// With a pty, SIGWINCH becomes a TIOCSWINSZ on the master: the kernel then signals the
    /// jail's foreground process group itself. SIGTSTP (`kill -TSTP`, or Ctrl-Z before the relay
    /// started) suspends ironpen alone, with the user's terminal restored while it is stopped.
    pub(crate) fn on_signal(&mut self, signo: i32) -> bool {
        if self.plan.is_none() {
            return false;
        }
        match signo {
            crate::child::libc_sig::SIGWINCH => self.resize(),
            SIGTSTP => self.suspend(),
            _ => return false,
        }
        true
    }

    fn suspend(&mut self) {
        let was_raw = self.raw.take().is_some();
        // SIGSTOP to ourselves stops us before kill returns; we go on after SIGCONT.
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP);
        if was_raw {
            if let Some(term) = self.term {
                // Failing now (the terminal is gone) leaves it cooked, which is the safe side.
                self.raw = RawMode::enter(term).ok();
            }
        }
        // The window may have changed while we were stopped.
        self.resize();
    }

    fn resize(&self) {
        if let (Some(term), Some(master)) = (self.term, &self.master) {
            if let Ok(ws) = termios::tcgetwinsize(term) {
                let _ = termios::tcsetwinsize(master, ws);
            }
        }
    }

    /// Add this iteration's fds to the poll array.
    pub(crate) fn poll_fds<'a>(&'a self, fds: &mut Vec<PollFd<'a>>) -> Slots {
        let mut slots = Slots::default();
        let Some(master) = &self.master else {
            return slots;
        };
        if !self.started {
            return slots;
        }
        let mut flags = PollFlags::empty();
        if self.reading_master {
            flags |= PollFlags::IN;
        }
        if !self.pending.is_empty() {
            flags |= PollFlags::OUT;
        }
        if !flags.is_empty() {
            slots.master = Some(fds.len());
            fds.push(PollFd::new(master, flags));
        }
        if self.reading_input && self.pending.is_empty() {
            slots.input = Some(fds.len());
            fds.push(PollFd::from_borrowed_fd(std_fd(0), PollFlags::IN));
        }
        slots
    }

    /// Move bytes for the fds that poll reported ready.
    pub(crate) fn on_ready(&mut self, slots: Slots, revents: &[PollFlags]) {
        let ready = |i: Option<usize>| i.and_then(|i| revents.get(i)).copied();
        if let Some(ev) = ready(slots.master) {
            if ev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                self.copy_output();
            }
            // HUP with input pending: the write fails and drops it (no busy loop on HUP).
            if !self.pending.is_empty()
                && ev.intersects(PollFlags::OUT | PollFlags::ERR | PollFlags::HUP)
            {
                self.flush_input();
            }
        }
        if ready(slots.input).is_some_and(|ev| !ev.is_empty()) {
            self.read_input();
        }
    }

    /// master -> the user's terminal: one read, written out completely (the output fd is
    /// blocking, as the user's terminal is shared with the shell that started ironpen and its
    /// flags must not change).
    fn copy_output(&mut self) -> bool {
        let Some(master) = &self.master else {
            return false;
        };
        match rustix::io::read(master, &mut self.buf) {
            Ok(0) | Err(Errno::IO) => {
                // EIO: every slave fd is closed (the jail has ended).
                self.reading_master = false;
                false
            }
            Ok(n) => {
                if self.out_ok && write_all(self.out, &self.buf[..n]).is_err() {
                    self.out_ok = false;
                }
                true
            }
            Err(Errno::AGAIN) | Err(Errno::INTR) => false,
            Err(_) => {
                self.reading_master = false;
                false
            }
        }
    }

    /// stdin -> pending input. At end of input that is not a terminal, the jail's terminal gets
    /// its end-of-file character (as if typed), so `cat` inside sees the end too.
    fn read_input(&mut self) {
        match rustix::io::read(std_fd(0), &mut self.buf[..4096]) {
            Ok(0) | Err(_) => {
                self.reading_input = false;
                if !termios::isatty(std_fd(0)) {
                    if let Some(m) = &self.master {
                        if let Ok(t) = termios::tcgetattr(m) {
                            self.pending.push(t.special_codes[SpecialCodeIndex::VEOF]);
                        }
                    }
                }
            }
            Ok(n) => self.pending.extend_from_slice(&self.buf[..n]),
        }
        self.flush_input();
    }

    /// pending input -> master, as much as it takes now (the master is non-blocking).
    fn flush_input(&mut self) {
        let Some(master) = &self.master else {
            self.pending.clear();
            return;
        };
        while !self.pending.is_empty() {
            match rustix::io::write(master, &self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return,
                Err(_) => {
                    // The jail's side is gone: input has nowhere to go.
                    self.pending.clear();
                    self.reading_input = false;
                    return;
                }
            }
        }
    }

    /// The jail has ended (its init is reaped, so no slave fd is open any more): copy what is
    /// still buffered in the pty, then restore the user's terminal.
    pub(crate) fn finish(&mut self) {
        if self.master.is_some() {
            // The kernel flushes the slave's last writes before a read reports EIO.
            self.reading_master = true;
            while self.reading_master && self.copy_output() {}
        }
        self.raw = None;
        self.master = None;
    }
}

fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> rustix::io::Result<()> {
    while !buf.is_empty() {
        match rustix::io::write(fd, buf) {
            Ok(0) => return Err(Errno::IO),
            Ok(n) => buf = &buf[n..],
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => {
                // Someone else made the shared description non-blocking: wait until writable.
                let mut p = [PollFd::from_borrowed_fd(fd, PollFlags::OUT)];
                rustix::event::poll(&mut p, None)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_bad_values_name_the_option() {
        assert_eq!(TtyMode::parse("auto").unwrap(), TtyMode::Auto);
        assert_eq!(TtyMode::parse("always").unwrap(), TtyMode::Always);
        assert_eq!(TtyMode::parse("never").unwrap(), TtyMode::Never);
        let e = TtyMode::parse("yes").unwrap_err();
        assert_eq!(e.to_string(), "--tty yes: must be auto, always or never");
    }

    #[test]
    fn auto_follows_stdin_and_attaches_only_terminals() {
        let all = [true, true, true];
        assert_eq!(plan_for(TtyMode::Auto, all).unwrap().attach, vec![0, 1, 2]);
        // `cmd > file` from a terminal: stdout stays the file.
        assert_eq!(
            plan_for(TtyMode::Auto, [true, false, true]).unwrap().attach,
            vec![0, 2]
        );
        // Input from a pipe: no pty at all.
        assert_eq!(plan_for(TtyMode::Auto, [false, true, true]), None);
        assert_eq!(plan_for(TtyMode::Never, all), None);
    }

    #[test]
    fn always_without_any_terminal_attaches_all_three() {
        assert_eq!(
            plan_for(TtyMode::Always, [false; 3]).unwrap().attach,
            vec![0, 1, 2]
        );
        assert_eq!(
            plan_for(TtyMode::Always, [false, true, false])
                .unwrap()
                .attach,
            vec![1]
        );
    }

    #[test]
    fn without_a_plan_the_relay_does_nothing() {
        let mut r = Relay::new(None);
        assert!(!r.on_signal(crate::child::libc_sig::SIGWINCH));
        let mut fds = Vec::new();
        let slots = r.poll_fds(&mut fds);
        assert!(fds.is_empty());
        r.on_ready(slots, &[]);
        r.finish();
    }
}
