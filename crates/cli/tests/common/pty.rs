//! A pseudo-terminal pair for end-to-end tests of interactive use: the harness holds the master
//! (and keeps the slave open, so it can read the terminal's mode and the master never sees EIO),
//! starts a process with the slave as stdin/stdout/stderr and controlling terminal (`setsid -c`),
//! types into the master and reads what comes back.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::termios::{self, Termios, Winsize};

/// Longest wait for any one expected output or for the process to end.
pub const WAIT: Duration = Duration::from_secs(10);

/// One pty pair and the process started on its slave.
pub struct Pty {
    pub master: fs::File,
    pub slave: OwnedFd,
    pub child: Option<Child>,
    /// Everything read from the master so far.
    pub seen: Vec<u8>,
    /// How much of `seen` earlier `expect`s consumed.
    pub pos: usize,
}

impl Pty {
    /// A new pair whose window is `rows` x `cols`.
    pub fn open(rows: u16, cols: u16) -> Self {
        use rustix::fs::{Mode, OFlags};
        let master = rustix::fs::open(
            "/dev/ptmx",
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .expect("open /dev/ptmx");
        ironpen_sys::tty::unlockpt(master.as_fd()).expect("unlockpt");
        let slave = ironpen_sys::tty::open_peer(master.as_fd()).expect("open the pty's slave");
        termios::tcsetwinsize(&master, winsize(rows, cols)).unwrap();
        Pty {
            master: fs::File::from(master),
            slave,
            child: None,
            seen: Vec::new(),
            pos: 0,
        }
    }

    /// `setsid -c PROG ARGS...` with the slave as stdin, stdout and stderr and a minimal
    /// environment (PATH, TERM=xterm); the caller adds the rest and passes it to `start`.
    pub fn command(&self, prog: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
        let mut cmd = Command::new("setsid");
        cmd.arg("-c").arg(prog).args(args);
        cmd.stdin(Stdio::from(self.slave.try_clone().unwrap()))
            .stdout(Stdio::from(self.slave.try_clone().unwrap()))
            .stderr(Stdio::from(self.slave.try_clone().unwrap()));
        cmd.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("TERM", "xterm");
        cmd
    }

    pub fn start(&mut self, mut cmd: Command) {
        self.child = Some(cmd.spawn().expect("spawn setsid"));
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.as_ref().unwrap().id()).unwrap()
    }

    /// The terminal's current mode (as the process on the slave left it).
    pub fn mode(&self) -> Termios {
        termios::tcgetattr(&self.slave).expect("tcgetattr on the outer slave")
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }

    /// Read until `needle` shows up after the last match; returns the text read up to it.
    pub fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = find(&self.seen[self.pos..], needle.as_bytes()) {
                let text = String::from_utf8_lossy(&self.seen[self.pos..self.pos + i]).into();
                self.pos += i + needle.len();
                return text;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {needle:?}; the terminal showed:\n{}",
                String::from_utf8_lossy(&self.seen)
            );
            self.read_for(left.min(Duration::from_millis(200)));
        }
    }

    /// Read whatever arrives within `d`.
    pub fn read_for(&mut self, d: Duration) {
        let ts = Timespec {
            tv_sec: 0,
            tv_nsec: d.subsec_nanos().into(),
        };
        let mut p = [PollFd::new(&self.master, PollFlags::IN)];
        if matches!(poll(&mut p, Some(&ts)), Ok(n) if n > 0) {
            let mut buf = [0u8; 4096];
            if let Ok(n) = self.master.read(&mut buf) {
                self.seen.extend_from_slice(&buf[..n]);
            }
        }
    }

    /// Wait for the process to end (bounded); its exit code, or 128+signal. What it wrote
    /// before it ended is read in too.
    pub fn wait(&mut self) -> i32 {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                use std::os::unix::process::ExitStatusExt;
                self.child = None;
                let mut before = usize::MAX;
                while self.seen.len() != before {
                    before = self.seen.len();
                    self.read_for(Duration::from_millis(20));
                }
                return st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit; the terminal showed:\n{}",
                String::from_utf8_lossy(&self.seen)
            );
            // Keep draining so a full pty buffer never blocks the writer.
            self.read_for(Duration::from_millis(50));
        }
    }

    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn winsize(rows: u16, cols: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
