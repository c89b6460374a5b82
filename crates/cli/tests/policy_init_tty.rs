//! `ironpen init` on a real terminal: the harness opens a pty pair, starts `ironpen init` with the
//! slave as stdin/stdout/stderr and controlling terminal (`setsid -c`), answers the prompts with
//! keys (arrows, Enter, typed text) through the master, and checks the policy file written.
//! No jail is created, so one identity (the caller's) is enough.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::termios::{self, Winsize};

/// Longest wait for any one expected output.
const WAIT: Duration = Duration::from_secs(10);
const DOWN: &[u8] = b"\x1b[B";
const ENTER: &[u8] = b"\r";

/// One pty pair and `ironpen` started on its slave.
struct Term {
    master: fs::File,
    slave: OwnedFd,
    child: Option<Child>,
    seen: Vec<u8>,
    pos: usize,
}

impl Term {
    fn open() -> Self {
        use rustix::fs::{Mode, OFlags};
        let master = rustix::fs::open(
            "/dev/ptmx",
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .expect("open /dev/ptmx");
        ironpen_sys::tty::unlockpt(master.as_fd()).expect("unlockpt");
        let slave = ironpen_sys::tty::open_peer(master.as_fd()).expect("open the pty's slave");
        let ws = Winsize {
            ws_row: 40,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        termios::tcsetwinsize(&master, ws).unwrap();
        Term {
            master: fs::File::from(master),
            slave,
            child: None,
            seen: Vec::new(),
            pos: 0,
        }
    }

    fn spawn(&mut self, cwd: &Path, args: &[&str]) {
        let mut cmd = Command::new("setsid");
        cmd.arg("-c")
            .arg(env!("CARGO_BIN_EXE_ironpen"))
            .args(args)
            .current_dir(cwd);
        cmd.stdin(Stdio::from(self.slave.try_clone().unwrap()))
            .stdout(Stdio::from(self.slave.try_clone().unwrap()))
            .stderr(Stdio::from(self.slave.try_clone().unwrap()));
        cmd.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("TERM", "xterm")
            .env("HOME", "/home/alice");
        self.child = Some(cmd.spawn().expect("spawn setsid"));
    }

    fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }

    /// Read until `needle` shows up after the last match.
    fn expect(&mut self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = find(&self.seen[self.pos..], needle.as_bytes()) {
                self.pos += i + needle.len();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; the terminal showed:\n{}",
                String::from_utf8_lossy(&self.seen)
            );
            self.read_for(Duration::from_millis(100));
        }
    }

    fn read_for(&mut self, d: Duration) {
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

    /// Answer a list question: move down `downs` times from the default, then Enter.
    fn pick(&mut self, prompt: &str, downs: usize) {
        self.expect(prompt);
        for _ in 0..downs {
            self.send(DOWN);
        }
        self.send(ENTER);
    }

    /// Answer a text question.
    fn type_line(&mut self, prompt: &str, text: &str) {
        self.expect(prompt);
        self.send(text.as_bytes());
        self.send(ENTER);
    }

    fn wait(&mut self) -> i32 {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                use std::os::unix::process::ExitStatusExt as _;
                self.child = None;
                // What it wrote before it ended is all in the pty's buffer: take it in.
                let mut before = usize::MAX;
                while self.seen.len() != before {
                    before = self.seen.len();
                    self.read_for(Duration::from_millis(20));
                }
                return st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
            }
            assert!(
                Instant::now() < deadline,
                "ironpen init did not exit; the terminal showed:\n{}",
                String::from_utf8_lossy(&self.seen)
            );
            self.read_for(Duration::from_millis(50));
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn prompts_on_a_terminal_write_the_chosen_policy() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    let www = www.display().to_string();
    let mut t = Term::open();
    t.spawn(dir.path(), &["init", "-o", "vm.toml"]);
    // Lists: the default is highlighted first; arrows move, Enter picks.
    t.pick("What is the jail for", 1); // server
    t.pick("Does it need the network", 2); // server
                                           // A wrong port is refused by the same check as over a pipe, and asked again.
    t.type_line("Which TCP ports", "http");
    t.expect("\"http\" is not a TCP port (1-65535)");
    for _ in 0.."http".len() {
        t.send(b"\x7f");
    }
    t.send(b"8080");
    t.send(ENTER);
    t.type_line("Which host directories must it write", &www);
    t.type_line("Which host directories must it read", "");
    t.pick("Is it a virtualization workload", 1); // host: KVM
    t.pick("Does it run a JIT compiler", 0); // no
    t.pick("Security or compatibility first", 1); // compatibility
    assert_eq!(t.wait(), 0, "{}", String::from_utf8_lossy(&t.seen));
    let text = fs::read_to_string(dir.path().join("vm.toml")).unwrap();
    for want in [
        "include = [\"@server\"]\n",
        "network = true\n",
        "kvm = true\n",
        "jit = false\n",
        "tcp_bind = [8080]\n",
        &format!("rw = [\"{www}\"]\n"),
        "# Compatibility first",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
    assert!(!text.contains("mode = \"required\""), "{text}");
}

#[test]
fn enter_alone_takes_every_default() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Term::open();
    t.spawn(dir.path(), &["init", "-o", "p.toml"]);
    for prompt in [
        "What is the jail for",
        "Does it need the network",
        "Which TCP ports",
        "Which host directories must it write",
        "Which host directories must it read",
        "Is it a virtualization workload",
        "Does it run a JIT compiler",
        "Security or compatibility first",
    ] {
        t.pick(prompt, 0);
    }
    assert_eq!(t.wait(), 0, "{}", String::from_utf8_lossy(&t.seen));
    let text = fs::read_to_string(dir.path().join("p.toml")).unwrap();
    let piped = Command::new(env!("CARGO_BIN_EXE_ironpen"))
        .args(["init", "--yes"])
        .current_dir(dir.path())
        .env("HOME", "/home/alice")
        .output()
        .unwrap();
    assert_eq!(text, String::from_utf8_lossy(&piped.stdout));
}

#[test]
fn ctrl_c_cancels_and_leaves_the_terminal_usable() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Term::open();
    let before = termios::tcgetattr(&t.slave).unwrap().local_modes;
    t.spawn(dir.path(), &["init", "-o", "p.toml"]);
    t.pick("What is the jail for", 1);
    t.expect("Does it need the network");
    t.send(b"\x03");
    // Ended by the SIGINT the key stands for, after the clean-up.
    assert_eq!(t.wait(), 128 + 2, "{}", String::from_utf8_lossy(&t.seen));
    assert!(!dir.path().join("p.toml").exists());
    let after = termios::tcgetattr(&t.slave).unwrap().local_modes;
    assert_eq!(after, before, "the terminal's line mode was not restored");
    // The cursor the list hid is shown again.
    let shown = String::from_utf8_lossy(&t.seen);
    assert!(
        shown.rfind("\x1b[?25h") > shown.rfind("\x1b[?25l"),
        "{shown:?}"
    );
}
