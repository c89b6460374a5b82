//! `ironpen init` on a real terminal: the harness opens a pty pair, starts `ironpen init` with the
//! slave as stdin/stdout/stderr and controlling terminal (`setsid -c`), answers the prompts with
//! keys (arrows, Enter, typed text) through the master, and checks the policy file written.
//! No jail is created, so one identity (the caller's) is enough.

#[path = "common/bin.rs"]
mod bin;
use std::fs;
use std::path::Path;
use std::process::Command;

use rustix::termios;

const DOWN: &[u8] = b"\x1b[B";
const ENTER: &[u8] = b"\r";

#[path = "common/pty.rs"]
mod pty;
use pty::Pty as Term;

/// Driving `ironpen init`'s prompts.
trait Prompts {
    fn spawn(&mut self, cwd: &Path, args: &[&str]);
    fn pick(&mut self, prompt: &str, downs: usize);
    fn type_line(&mut self, prompt: &str, text: &str);
}

impl Prompts for Term {
    fn spawn(&mut self, cwd: &Path, args: &[&str]) {
        let mut cmd = self.command(bin::ironpen(), args);
        cmd.current_dir(cwd).env("HOME", "/home/alice");
        self.start(cmd);
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
}

#[test]
fn prompts_on_a_terminal_write_the_chosen_policy() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    let www = www.display().to_string();
    let mut t = Term::open(40, 200);
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
    let mut t = Term::open(40, 200);
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
    let piped = Command::new(bin::ironpen())
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
    let mut t = Term::open(40, 200);
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
