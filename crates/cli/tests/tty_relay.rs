//! End to end through a real pseudo-terminal: the harness opens a pty pair, starts `ironpen` with
//! the slave as stdin/stdout/stderr and controlling terminal (`setsid -c`), types into the master
//! and reads what comes back. Each test runs as root and as uid/gid 65534 (when run as root).

#[path = "common/bin.rs"]
mod bin;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::termios::{self, Termios};

const NOBODY: u32 = 65534;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Variant {
    Root,
    Nobody,
    Current,
}

fn variants() -> Vec<Variant> {
    if rustix::process::getuid().is_root() {
        vec![Variant::Root, Variant::Nobody]
    } else {
        vec![Variant::Current]
    }
}

/// A private 0755 (world-searchable) directory with a copy of ironpen, so uid 65534 can run it,
/// and a 1777 `drop/` where a host-side shell of either variant can create files.
struct World {
    dir: PathBuf,
    ironpen: PathBuf,
    drop: PathBuf,
}

impl World {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ironpen-tty-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let ironpen = dir.join("ironpen");
        fs::copy(bin::ironpen(), &ironpen).unwrap();
        fs::set_permissions(&ironpen, fs::Permissions::from_mode(0o755)).unwrap();
        let drop = dir.join("drop");
        fs::create_dir(&drop).unwrap();
        fs::set_permissions(&drop, fs::Permissions::from_mode(0o1777)).unwrap();
        Self { dir, ironpen, drop }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[path = "common/pty.rs"]
mod pty;
use pty::{find, winsize, Pty as Term, WAIT};

trait Spawn {
    /// Start `prog args` as `variant`, in a new session whose controlling terminal is the slave.
    fn spawn(&mut self, variant: Variant, prog: &Path, args: &[&str]);
}

impl Spawn for Term {
    fn spawn(&mut self, variant: Variant, prog: &Path, args: &[&str]) {
        let mut cmd = self.command(prog, args);
        cmd.env("HOME", "/");
        if variant == Variant::Nobody {
            cmd.uid(NOBODY).gid(NOBODY);
        }
        self.start(cmd);
    }
}

/// The fields of a terminal mode that matter (Termios has no PartialEq).
fn mode_key(t: &Termios) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?} {} {}",
        t.input_modes,
        t.output_modes,
        t.control_modes,
        t.local_modes,
        t.special_codes,
        t.input_speed(),
        t.output_speed()
    )
}

fn is_raw(t: &Termios) -> bool {
    !t.local_modes.intersects(
        termios::LocalModes::ICANON | termios::LocalModes::ECHO | termios::LocalModes::ISIG,
    )
}

/// Wait until ironpen has switched the outer terminal to raw mode (the program is running).
fn wait_raw(t: &mut Term) {
    let deadline = Instant::now() + WAIT;
    while !is_raw(&t.mode()) {
        assert!(Instant::now() < deadline, "outer terminal never went raw");
        t.read_for(Duration::from_millis(20));
    }
}

/// Host pid of a child of `pid` (the jail's init, then the program), bounded wait.
fn child_of(pid: i32) -> i32 {
    let deadline = Instant::now() + WAIT;
    loop {
        let path = format!("/proc/{pid}/task/{pid}/children");
        if let Some(c) = fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|c| c.parse().ok()))
        {
            return c;
        }
        assert!(Instant::now() < deadline, "no child of {pid}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const PROMPT: &str = "jail-prompt> ";

/// `ironpen run -- sh -i` with a recognisable prompt, up to its first prompt.
fn jail_shell(t: &mut Term, w: &World, v: Variant, extra: &[&str]) {
    let mut args = vec!["run", "--setenv", "PS1=jail-prompt> "];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sh", "-i"]);
    t.spawn(v, &w.ironpen, &args);
    t.expect(PROMPT);
}

#[test]
fn tty_interactive_shell_runs_commands_with_job_control_and_restores_the_terminal() {
    for v in variants() {
        let w = World::new("shell");
        let mut t = Term::open(24, 80);
        let before = mode_key(&t.mode());
        jail_shell(&mut t, &w, v, &[]);
        // The program runs on the jail's own terminal, in raw-mode relay.
        assert!(
            is_raw(&t.mode()),
            "[{v:?}] outer terminal not raw while relaying"
        );
        let banner = t.seen.clone();
        assert!(
            find(&banner, b"job control turned off").is_none(),
            "[{v:?}] no job control: {}",
            String::from_utf8_lossy(&banner)
        );
        t.send(b"echo out-$((6*7)); false; echo status=$?\r");
        t.expect("out-42");
        t.expect("status=1");
        t.expect(PROMPT);
        // The shell is session leader and its controlling terminal is the jail's /dev/pts/0
        // (/proc/PID/stat: field 6 the session, field 7 the tty, 136:0 = pts/0).
        t.send(b"tty; read -r pid comm state ppid pgrp sid ctty rest < /proc/$$/stat; echo leader=$((pid == sid)) ctty=$ctty.\r");
        t.expect("/dev/pts/0");
        t.expect(&format!("leader=1 ctty={}.", 136 << 8));
        // Job control: a background job, listed, brought to the foreground and finished.
        t.send(b"sleep 2 &\r");
        t.expect(PROMPT);
        t.send(b"jobs; fg; echo fg=$?\r");
        t.expect("sleep 2");
        t.expect("fg=0");
        t.expect(PROMPT);
        t.send(b"exit 7\r");
        assert_eq!(t.wait(), 7, "[{v:?}] exit status of the shell");
        assert_eq!(
            mode_key(&t.mode()),
            before,
            "[{v:?}] terminal mode not restored"
        );
    }
}

#[test]
fn tty_ctrl_c_interrupts_a_command_inside_not_ironpen() {
    for v in variants() {
        let w = World::new("ctrlc");
        let mut t = Term::open(24, 80);
        jail_shell(&mut t, &w, v, &[]);
        // An interactive shell abandons the rest of a command line when its job is interrupted:
        // the status is read with a separate command.
        t.send(b"sleep 30\r");
        t.expect("sleep 30");
        std::thread::sleep(Duration::from_millis(500));
        let t0 = Instant::now();
        t.send(b"\x03");
        t.expect(PROMPT);
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "[{v:?}] Ctrl-C was slow"
        );
        assert!(t.alive(), "[{v:?}] ironpen died of the Ctrl-C");
        // 130 = 128 + SIGINT: the jail's line discipline signalled the foreground job.
        t.send(b"echo st=$?\r");
        t.expect("st=130");
        t.expect(PROMPT);
        // Ctrl-\ (SIGQUIT) too: the shell ignores it, the foreground job does not.
        t.send(b"sleep 30\r");
        t.expect("sleep 30");
        std::thread::sleep(Duration::from_millis(500));
        t.send(b"\x1c");
        t.expect(PROMPT);
        t.send(b"echo st=$?\r");
        t.expect("st=131");
        t.expect(PROMPT);
        assert!(t.alive(), "[{v:?}] ironpen died of the Ctrl-\\");
        t.send(b"exit\r");
        assert_eq!(t.wait(), 0, "[{v:?}]");
    }
}

#[test]
fn tty_window_size_inside_follows_the_outer_terminal() {
    for v in variants() {
        let w = World::new("winsize");
        let mut t = Term::open(33, 101);
        jail_shell(&mut t, &w, v, &[]);
        t.send(b"stty size\r");
        t.expect("33 101");
        t.expect(PROMPT);
        // A resize of the outer terminal: the kernel sends SIGWINCH to ironpen (the outer
        // terminal's foreground group), which sets the jail's size; the kernel then signals the
        // jail's foreground job (a program that waits for exactly that).
        t.send(b"perl -e '$SIG{WINCH} = sub { print qq(got-) . qq(winch\\n); exit 0 }; print qq(wait) . qq(ing\\n); sleep 10'\r");
        t.expect("waiting");
        termios::tcsetwinsize(&t.master, winsize(40, 120)).unwrap();
        t.expect("got-winch");
        t.expect(PROMPT);
        t.send(b"stty size\r");
        t.expect("40 120");
        t.expect(PROMPT);
        t.send(b"exit\r");
        assert_eq!(t.wait(), 0, "[{v:?}]");
    }
}

#[test]
fn tty_terminal_mode_is_restored_after_kill_9_of_the_jailed_program() {
    for v in variants() {
        let w = World::new("kill9");
        let mut t = Term::open(24, 80);
        let before = mode_key(&t.mode());
        t.spawn(v, &w.ironpen, &["run", "--", "sleep", "30"]);
        wait_raw(&mut t);
        let init = child_of(t.pid());
        let program = child_of(init);
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(program).unwrap(),
            rustix::process::Signal::KILL,
        )
        .unwrap();
        assert_eq!(t.wait(), 128 + 9, "[{v:?}] exit status after kill -9");
        assert_eq!(
            mode_key(&t.mode()),
            before,
            "[{v:?}] terminal mode not restored"
        );
    }
}

#[test]
fn tty_terminal_mode_is_restored_after_sigterm_to_ironpen() {
    for v in variants() {
        let w = World::new("sigterm");
        let mut t = Term::open(24, 80);
        let before = mode_key(&t.mode());
        t.spawn(v, &w.ironpen, &["run", "--", "sleep", "30"]);
        wait_raw(&mut t);
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(t.pid()).unwrap(),
            rustix::process::Signal::TERM,
        )
        .unwrap();
        // Forwarded to the program, which dies of it; ironpen restores and reports 128+15.
        assert_eq!(t.wait(), 128 + 15, "[{v:?}] exit status after SIGTERM");
        assert_eq!(
            mode_key(&t.mode()),
            before,
            "[{v:?}] terminal mode not restored"
        );
    }
}

/// Perl, as the jailed program: push `line` into the terminal on stdin with TIOCSTI, one byte at
/// a time, and say how many bytes the kernel accepted (or the error).
fn tiocsti_script(line: &str) -> String {
    format!(
        "my $n = 0; for my $c (split //, \"{line}\\n\") {{ ioctl(STDIN, 0x5412, $c) or do {{ \
         print \"tiocsti-\" . \"failed: $!\\n\"; exit 0 }}; $n++ }} print \"tiocsti-\" . \"ok=$n\\n\""
    )
}

#[test]
fn tty_tiocsti_from_inside_never_reaches_the_outer_terminal() {
    for v in variants() {
        let w = World::new("tiocsti");
        let mut t = Term::open(24, 80);
        // A host shell on the outer terminal: whatever reaches that terminal's input after
        // ironpen exits, this shell executes on the host (the CVE-2017-5226 scenario).
        t.spawn(v, Path::new("/bin/sh"), &["-i"]);
        t.send(b"PS1='ho''st> '\r");
        t.expect("host> ");

        // Control: the same injection run directly on the host does reach the host shell, so
        // the check below can see an injection when one happens.
        let control = w.drop.join("CONTROL");
        let script = tiocsti_script(&format!("touch {}", control.display()));
        t.send(format!("perl -e '{script}'\r").as_bytes());
        t.expect("tiocsti-ok=");
        t.send(b"echo control''-done\r");
        t.expect("control-done");
        t.expect("host> ");
        let deadline = Instant::now() + WAIT;
        while !control.exists() {
            assert!(
                Instant::now() < deadline,
                "[{v:?}] control injection did not run"
            );
            t.read_for(Duration::from_millis(50));
        }

        // From the jail with seccomp off, so the ioctl itself is allowed: it succeeds, but
        // lands in the jail's own terminal.
        let hostfile = w.drop.join("HOSTFILE");
        let script = tiocsti_script(&format!("touch {}", hostfile.display()));
        let cmd = format!(
            "{} run --seccomp none -- perl -e '{script}'; echo jail-exit=$?\r",
            w.ironpen.display()
        );
        t.send(cmd.as_bytes());
        let inner = t.expect("jail-exit=0");
        assert!(
            inner.contains("tiocsti-ok="),
            "[{v:?}] TIOCSTI inside the jail's own terminal should work: {inner}"
        );
        t.send(b"echo check''-done\r");
        t.expect("check-done");
        t.expect("host> ");
        // Give a stray injected line every chance to run.
        t.read_for(Duration::from_millis(300));
        assert!(
            !hostfile.exists(),
            "[{v:?}] the injected command ran on the host; terminal:\n{}",
            String::from_utf8_lossy(&t.seen)
        );

        // With the default seccomp profile TIOCSTI is refused outright.
        let cmd = format!(
            "{} run -- perl -e '{script}'; echo jail-exit=$?\r",
            w.ironpen.display()
        );
        t.send(cmd.as_bytes());
        let inner = t.expect("jail-exit=0");
        assert!(
            inner.contains("tiocsti-failed: Operation not permitted"),
            "[{v:?}] default profile let TIOCSTI through: {inner}"
        );
        t.send(b"exit\r");
        assert_eq!(t.wait(), 0, "[{v:?}]");
        assert!(
            !hostfile.exists(),
            "[{v:?}] injected command ran on the host"
        );
    }
}

#[test]
fn tty_only_the_jails_own_pty_is_visible() {
    for v in variants() {
        let w = World::new("devpts");
        let mut t = Term::open(24, 80);
        // The harness's own pty is a host pty that exists.
        let host_ptys = fs::read_dir("/dev/pts").unwrap().count();
        assert!(host_ptys >= 2, "host /dev/pts has our pty and ptmx");
        t.spawn(
            v,
            &w.ironpen,
            &[
                "run",
                "--",
                "sh",
                "-c",
                "echo BEGIN; ls -A /dev/pts | tr '\\n' ' '; echo END",
            ],
        );
        t.expect("BEGIN");
        let listing = t.expect("END");
        assert_eq!(listing.trim(), "0 ptmx", "[{v:?}] jail's /dev/pts");
        assert_eq!(t.wait(), 0, "[{v:?}]");
    }
}

/// Prints the shell's controlling terminal number from /proc (0: none).
const CTTY_NR: &str =
    "read -r pid comm state ppid pgrp sid ctty rest < /proc/$$/stat; echo ctty=$ctty.;";

#[test]
fn tty_never_and_non_terminal_stdin_get_no_controlling_terminal() {
    for v in variants() {
        let w = World::new("never");
        // --tty never on a terminal: the program has no controlling terminal (ps shows "?").
        let mut t = Term::open(24, 80);
        let before = mode_key(&t.mode());
        t.spawn(
            v,
            &w.ironpen,
            &["run", "--tty", "never", "--", "sh", "-c", CTTY_NR],
        );
        t.expect("ctty=0.");
        assert_eq!(t.wait(), 0, "[{v:?}]");
        assert_eq!(
            mode_key(&t.mode()),
            before,
            "[{v:?}] never mode touched the terminal"
        );
        assert!(
            find(&t.seen, b"\r\r\n").is_none(),
            "no second line discipline"
        );

        // stdin a pipe (auto): no pty, output bytes unchanged (no CR added).
        let mut cmd = Command::new(&w.ironpen);
        cmd.args([
            "run",
            "--",
            "sh",
            "-c",
            &format!("{CTTY_NR} ls -A /dev/pts"),
        ]);
        if v == Variant::Nobody {
            cmd.uid(NOBODY).gid(NOBODY);
        }
        let out = cmd
            .stdin(Stdio::piped())
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "ctty=0.\nptmx\n",
            "[{v:?}]"
        );
    }
}

#[test]
fn tty_redirected_stdout_stays_a_plain_file() {
    for v in variants() {
        let w = World::new("redirect");
        let mut t = Term::open(24, 80);
        let out = w.drop.join("out");
        // A host shell redirects ironpen's stdout to a file; stdin and stderr are the terminal.
        t.spawn(v, Path::new("/bin/sh"), &["-i"]);
        t.send(b"PS1='ho''st> '\r");
        t.expect("host> ");
        let cmd = format!(
            "{} run -- sh -c '[ -t 0 ] && echo in\"\"-tty >&2; printf \"a\\nb\\n\"' > {}; echo rc=$?\r",
            w.ironpen.display(),
            out.display()
        );
        t.send(cmd.as_bytes());
        t.expect("in-tty");
        t.expect("rc=0");
        assert_eq!(fs::read(&out).unwrap(), b"a\nb\n", "[{v:?}] stdout file");
        t.send(b"exit\r");
        assert_eq!(t.wait(), 0, "[{v:?}]");
    }
}

#[test]
fn tty_always_relays_pipes_and_ends_input_with_eof() {
    for v in variants() {
        let w = World::new("always");
        let mut cmd = Command::new(&w.ironpen);
        // `cat` on the jail's terminal sees the piped line, then the end of input (^D).
        cmd.args([
            "run",
            "--tty",
            "always",
            "--",
            "sh",
            "-c",
            "tty; cat; echo cat-done",
        ]);
        if v == Variant::Nobody {
            cmd.uid(NOBODY).gid(NOBODY);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
        let deadline = Instant::now() + WAIT;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("[{v:?}] --tty always with piped input did not end");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        // The pty echoes the input as soon as it arrives, so only the order of cat's own output
        // is fixed.
        assert!(out.contains("/dev/pts/0\r\n"), "[{v:?}] {out:?}");
        assert!(out.contains("hello\r\n"), "[{v:?}] {out:?}");
        assert!(out.ends_with("cat-done\r\n"), "[{v:?}] {out:?}");
        assert_eq!(child.wait().unwrap().code(), Some(0));
    }
}

#[test]
fn tty_shell_command_starts_the_users_shell_or_sh() {
    for v in variants() {
        let w = World::new("shellcmd");
        let mut t = Term::open(24, 80);
        let before = mode_key(&t.mode());
        // $SHELL exists inside the jail (host /usr is bound): an interactive login bash.
        t.spawn(
            v,
            Path::new("/usr/bin/env"),
            &[
                "SHELL=/bin/bash",
                w.ironpen.to_str().unwrap(),
                "shell",
                "--setenv",
                "PS1=jail-prompt> ",
            ],
        );
        t.expect(PROMPT);
        t.send(b"echo shell=$SHELL; shopt -q login_shell && echo log''in; echo flags=$-\r");
        t.expect("shell=/bin/bash");
        t.expect("login");
        let flags = t.expect(PROMPT);
        assert!(flags.contains('i'), "[{v:?}] not interactive: {flags:?}");
        t.send(b"exit 3\r");
        assert_eq!(t.wait(), 3, "[{v:?}]");
        assert_eq!(
            mode_key(&t.mode()),
            before,
            "[{v:?}] terminal mode not restored"
        );

        // A $SHELL the jail does not have: /bin/sh.
        let mut t = Term::open(24, 80);
        t.spawn(
            v,
            Path::new("/usr/bin/env"),
            &[
                "SHELL=/opt/no/such/shell",
                w.ironpen.to_str().unwrap(),
                "shell",
                "--setenv",
                "PS1=jail-prompt> ",
            ],
        );
        t.expect(PROMPT);
        t.send(b"echo shell=$SHELL.\r");
        t.expect("shell=/bin/sh.");
        t.send(b"exit\r");
        assert_eq!(t.wait(), 0, "[{v:?}]");
    }
}

#[test]
fn tty_setup_failure_on_a_terminal_is_reported_and_leaves_the_mode_alone() {
    for v in variants() {
        let w = World::new("fail");
        let mut t = Term::open(24, 80);
        let before = mode_key(&t.mode());
        // The pty is set up and ironpen went raw (the report came), then execve fails.
        t.spawn(v, &w.ironpen, &["run", "--", "/no/such/program"]);
        assert_eq!(t.wait(), 127, "[{v:?}]");
        t.read_for(Duration::from_millis(100));
        let shown = String::from_utf8_lossy(&t.seen).to_string();
        // Printed after the restore: a normal line (the terminal adds the CR).
        assert!(
            shown.contains("ironpen: execve \"/no/such/program\": No such file or directory"),
            "[{v:?}] {shown:?}"
        );
        assert!(shown.ends_with("\r\n"), "[{v:?}] {shown:?}");
        assert_eq!(
            mode_key(&t.mode()),
            before,
            "[{v:?}] terminal mode not restored"
        );
    }
}

/// The state letter of a process (R, S, T, ...) from /proc.
fn proc_state(pid: i32) -> char {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

#[test]
fn tty_sigtstp_suspends_ironpen_with_the_terminal_restored() {
    for v in variants() {
        let w = World::new("tstp");
        let mut t = Term::open(24, 80);
        let before = mode_key(&t.mode());
        t.spawn(v, &w.ironpen, &["run", "--", "sleep", "30"]);
        wait_raw(&mut t);
        let pid = rustix::process::Pid::from_raw(t.pid()).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TSTP).unwrap();
        let deadline = Instant::now() + WAIT;
        while proc_state(t.pid()) != 'T' {
            assert!(Instant::now() < deadline, "[{v:?}] ironpen did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
        // Stopped: the user's shell gets a usable terminal back.
        assert_eq!(mode_key(&t.mode()), before, "[{v:?}] raw while stopped");
        rustix::process::kill_process(pid, rustix::process::Signal::CONT).unwrap();
        wait_raw(&mut t);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        assert_eq!(t.wait(), 128 + 15, "[{v:?}]");
        assert_eq!(
            mode_key(&t.mode()),
            before,
            "[{v:?}] terminal mode not restored"
        );
    }
}

#[test]
fn tty_hangup_of_the_outer_terminal_ends_the_jail() {
    for v in variants() {
        let w = World::new("hangup");
        let mut t = Term::open(24, 80);
        jail_shell(&mut t, &w, v, &[]);
        let init = child_of(t.pid());
        // The terminal goes away (a closed terminal window): the kernel hangs up the slave and
        // sends SIGHUP to ironpen, which passes it on; the interactive shell dies of it.
        let devnull = fs::File::open("/dev/null").unwrap();
        drop(std::mem::replace(&mut t.master, devnull));
        // The shell inside either dies of the forwarded SIGHUP (129) or first reads the end of
        // its terminal and exits by itself (0): a race inside the kernel's hangup, not ours.
        let status = t.wait();
        assert!(
            status == 128 + 1 || status == 0,
            "[{v:?}] exit status after hangup: {status}"
        );
        // Nothing of the jail is left.
        let deadline = Instant::now() + WAIT;
        while Path::new(&format!("/proc/{init}")).exists() && proc_state(init) != 'Z' {
            assert!(
                Instant::now() < deadline,
                "[{v:?}] the jail outlived the hangup"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
