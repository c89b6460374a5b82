//! ironpen-probe: runs INSIDE a jail, performs one action, prints exactly one JSON line.
//!
//! `{"action":"write","target":"/usr/x","ok":false,"errno":30,"error":"Read-only file system"}`
//! `ok` says whether the action succeeded; a denied action is a normal outcome (exit 0). Bad
//! usage exits 2. A few actions (`with-key`, `with-fd`, `handle`) are host-side helpers used by
//! the tests to prepare state before starting a jail; they print their line and then exec.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::time::Duration;

use ironpen_sys::probe as sys;
use serde_json::{json, Map, Value};

const USAGE: &str = "usage: ironpen-probe ACTION [ARGS]
actions:
  write PATH | read PATH | mkdir PATH | ls PATH | readlink PATH | stat PATH
  status | fds | fd-is-open N | ps | kill PID SIG | ptrace PID
  connect HOST:PORT | bind-port PORT [ADDR] | loopback | connect-unix PATH|@ABSTRACT
  mount | nested-remount PATH | unshare-user | sethostname NAME
  chroot-escape MARKER [nested|fchdir] | mknod PATH [MAJOR MINOR] | mkfifo PATH
  handle PATH | open-by-handle PATH|TYPE:HEX [MOUNTPOINT]
  keyring | key-search DESC | key-read SERIAL | key-describe SERIAL
  reopen-exe PID | reopen-fd N | tty | tiocsti | syscall NR [ARGS...]
  exit N | kill-self SIG | sleep SECS | wait-signal SECS
host helpers (print their line, then exec CMD):
  with-key DESC PAYLOAD -- CMD...  (exports IRONPEN_PROBE_KEY=serial)
  hold-exe -- CMD...  (O_PATH fd of its own executable kept across exec: IRONPEN_PROBE_EXE_FD)
  with-fd DIR -- CMD...  (exports IRONPEN_PROBE_FD=fd, opened without O_CLOEXEC)";

/// One result line under construction.
struct Report {
    fields: Map<String, Value>,
}

impl Report {
    fn new(action: &str, target: &str) -> Self {
        let mut fields = Map::new();
        fields.insert("action".into(), json!(action));
        fields.insert("target".into(), json!(target));
        Report { fields }
    }
    fn set(&mut self, k: &str, v: Value) -> &mut Self {
        self.fields.insert(k.into(), v);
        self
    }
    /// Record the outcome of the main operation: ok, or errno + message.
    fn outcome(&mut self, r: Result<(), i32>) -> &mut Self {
        match r {
            Ok(()) => {
                self.set("ok", json!(true));
                self.set("errno", Value::Null);
                self.set("error", Value::Null);
            }
            Err(e) => {
                self.set("ok", json!(false));
                self.set("errno", json!(e));
                self.set("error", json!(strerror(e)));
            }
        }
        self
    }
    fn print(&self) {
        let line = Value::Object(self.fields.clone()).to_string();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

fn strerror(e: i32) -> String {
    let s = std::io::Error::from_raw_os_error(e).to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn io_errno(e: &std::io::Error) -> i32 {
    const EIO: i32 = 5;
    e.raw_os_error().unwrap_or(EIO)
}

fn io<T>(r: std::io::Result<T>) -> Result<T, i32> {
    r.map_err(|e| io_errno(&e))
}

/// One attempt among several (e.g. the ways `mount` is tried).
fn attempt(name: &str, r: Result<(), i32>) -> Value {
    match r {
        Ok(()) => json!({"how": name, "ok": true}),
        Err(e) => json!({"how": name, "ok": false, "errno": e, "error": strerror(e)}),
    }
}

fn any_ok(attempts: &[Value]) -> bool {
    attempts.iter().any(|a| a["ok"] == json!(true))
}

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map(String::as_str).unwrap_or_else(|| usage())
}

fn num<T: std::str::FromStr>(s: &str) -> T {
    s.parse().unwrap_or_else(|_| {
        eprintln!("ironpen-probe: not a number: {s:?}");
        std::process::exit(2)
    })
}

fn signal_number(s: &str) -> i32 {
    let name = s.trim_start_matches("SIG").to_ascii_uppercase();
    let n = match name.as_str() {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "KILL" => 9,
        "USR1" => 10,
        "USR2" => 12,
        "TERM" => 15,
        "STOP" => 19,
        "CONT" => 18,
        "WINCH" => 28,
        _ => return num(s),
    };
    n
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        usage();
    }
    let action = args[0].as_str();
    let rest = &args[1..];
    match action {
        "write" => act_write(arg(rest, 0)),
        "read" => act_read(arg(rest, 0)),
        "mkdir" => {
            let p = arg(rest, 0);
            Report::new("mkdir", p)
                .outcome(io(fs::create_dir(p)))
                .print();
        }
        "ls" => act_ls(arg(rest, 0)),
        "readlink" => {
            let p = arg(rest, 0);
            let mut r = Report::new("readlink", p);
            match fs::read_link(p) {
                Ok(t) => r.outcome(Ok(())).set("link", json!(t.to_string_lossy())),
                Err(e) => r.outcome(Err(io_errno(&e))),
            };
            r.print();
        }
        "stat" => act_stat(arg(rest, 0)),
        "status" => act_status(),
        "fds" => act_fds(),
        "fd-is-open" => {
            let n: i32 = num(arg(rest, 0));
            let mut r = Report::new("fd-is-open", &n.to_string());
            match sys::fd_flags(n) {
                Ok(fl) => r.outcome(Ok(())).set("cloexec", json!(fl & 1 != 0)),
                Err(e) => r.outcome(Err(e)),
            };
            r.print();
        }
        "ps" => act_ps(),
        "kill" => {
            let pid: i32 = num(arg(rest, 0));
            let sig = signal_number(arg(rest, 1));
            Report::new("kill", &pid.to_string())
                .set("signal", json!(sig))
                .outcome(sys::kill(pid, sig))
                .print();
        }
        "ptrace" => {
            let pid: i32 = num(arg(rest, 0));
            let attempts = vec![
                attempt("attach", sys::ptrace_attach(pid)),
                attempt("seize", sys::ptrace_seize(pid)),
            ];
            finish_attempts(Report::new("ptrace", &pid.to_string()), attempts);
        }
        "connect" => act_connect(arg(rest, 0)),
        "bind-port" => {
            let port: u16 = num(arg(rest, 0));
            let addr = rest.get(1).map(String::as_str).unwrap_or("0.0.0.0");
            let target = format!("{addr}:{port}");
            Report::new("bind-port", &target)
                .outcome(io(TcpListener::bind(target.as_str())).map(|_| ()))
                .print();
        }
        "loopback" => act_loopback(),
        "connect-unix" => act_connect_unix(arg(rest, 0)),
        "mount" => act_mount(),
        "nested-remount" => act_nested_remount(arg(rest, 0)),
        "unshare-user" => Report::new("unshare-user", "")
            .outcome(sys::unshare(CLONE_NEWUSER))
            .print(),
        "sethostname" => {
            let name = arg(rest, 0);
            let mut r = Report::new("sethostname", name);
            r.outcome(sys::sethostname(name));
            r.set("hostname", json!(hostname()));
            r.print();
        }
        "chroot-escape" => act_chroot_escape(
            arg(rest, 0),
            rest.get(1).map(String::as_str).unwrap_or("nested"),
        ),
        "mknod" => {
            let p = arg(rest, 0);
            let (maj, min) = match (rest.get(1), rest.get(2)) {
                (Some(a), Some(b)) => (num(a), num(b)),
                _ => (1, 3),
            };
            Report::new("mknod", p)
                .outcome(sys::mknod_char(p, maj, min))
                .print();
        }
        "mkfifo" => {
            let p = arg(rest, 0);
            Report::new("mkfifo", p).outcome(sys::mkfifo(p)).print();
        }
        "handle" => {
            let p = arg(rest, 0);
            let mut r = Report::new("handle", p);
            match sys::name_to_handle(p) {
                Ok(h) => r
                    .outcome(Ok(()))
                    .set(
                        "handle",
                        json!(format!("{}:{}", h.handle_type, hex(&h.bytes))),
                    )
                    .set("mount_id", json!(h.mount_id)),
                Err(e) => r.outcome(Err(e)),
            };
            r.print();
        }
        "open-by-handle" => act_open_by_handle(arg(rest, 0), rest.get(1).map(String::as_str)),
        "keyring" => {
            let mut r = Report::new("keyring", "@s");
            match sys::keyring_id(sys::KEY_SPEC_SESSION_KEYRING, false) {
                Ok(id) => {
                    r.outcome(Ok(())).set("session", json!(id));
                    r.set("description", json!(sys::key_describe(id).ok()));
                }
                Err(e) => {
                    r.outcome(Err(e));
                }
            }
            r.print();
        }
        "key-search" => {
            let d = arg(rest, 0);
            let mut r = Report::new("key-search", d);
            match sys::key_search(sys::KEY_SPEC_SESSION_KEYRING, d) {
                Ok(k) => r.outcome(Ok(())).set("key", json!(k)),
                Err(e) => r.outcome(Err(e)),
            };
            r.print();
        }
        "key-read" => {
            let k: i32 = num(arg(rest, 0));
            let mut r = Report::new("key-read", &k.to_string());
            match sys::key_read(k) {
                Ok(p) => r
                    .outcome(Ok(()))
                    .set("payload", json!(String::from_utf8_lossy(&p))),
                Err(e) => r.outcome(Err(e)),
            };
            r.print();
        }
        "key-describe" => {
            let k: i32 = num(arg(rest, 0));
            let mut r = Report::new("key-describe", &k.to_string());
            match sys::key_describe(k) {
                Ok(d) => r.outcome(Ok(())).set("description", json!(d)),
                Err(e) => r.outcome(Err(e)),
            };
            r.print();
        }
        "reopen-exe" => act_reopen_exe(arg(rest, 0)),
        "tty" => Report::new("tty", "/dev/tty")
            .outcome(io(fs::OpenOptions::new().read(true).open("/dev/tty")).map(|_| ()))
            .print(),
        "tiocsti" => {
            let stdin = std::io::stdin();
            Report::new("tiocsti", "stdin")
                .outcome(sys::tiocsti(stdin.as_fd(), b'#'))
                .print();
        }
        "syscall" => {
            let nr: i64 = num(arg(rest, 0));
            let mut a = [0u64; 6];
            for (i, v) in rest.iter().skip(1).take(6).enumerate() {
                a[i] = num(v);
            }
            let mut r = Report::new("syscall", &nr.to_string());
            match sys::raw_syscall(nr, a) {
                Ok(v) => r.outcome(Ok(())).set("ret", json!(v)),
                Err(e) => r.outcome(Err(e)),
            };
            r.print();
        }
        "exit" => {
            let n: i32 = num(arg(rest, 0));
            Report::new("exit", &n.to_string()).outcome(Ok(())).print();
            std::process::exit(n);
        }
        "kill-self" => {
            let sig = signal_number(arg(rest, 0));
            let mut r = Report::new("kill-self", &sig.to_string());
            r.outcome(Ok(()));
            r.print();
            let res = sys::kill(i32::try_from(std::process::id()).unwrap_or(0), sig);
            // Still alive: the signal was ignored, blocked or refused.
            std::thread::sleep(Duration::from_millis(200));
            let mut r = Report::new("kill-self", &sig.to_string());
            r.outcome(res.and(Err(0))).set("survived", json!(true));
            r.print();
            std::process::exit(1);
        }
        "wait-signal" => {
            // Blocks the signals ironpen forwards, says "ready" on stderr, and reports on stdout
            // the first signal that arrives.
            let secs: u64 = num(arg(rest, 0));
            let sigs = [1, 2, 3, 10, 12, 15, 28];
            let mut r = Report::new("wait-signal", &secs.to_string());
            let got = sys::block_signals(&sigs).and_then(|set| {
                eprintln!("wait-signal: ready");
                sys::wait_signals(&set, secs * 1000)
            });
            match got {
                Ok(n) => r.outcome(Ok(())).set("signal", json!(n)),
                Err(e) => r.outcome(Err(e)),
            };
            r.print();
        }
        "sleep" => {
            let secs: f64 = num(arg(rest, 0));
            // Print first: the line tells the test that the jail is up and the sleep started.
            Report::new("sleep", &secs.to_string())
                .outcome(Ok(()))
                .set("pid", json!(std::process::id()))
                .print();
            std::thread::sleep(Duration::from_secs_f64(secs));
        }
        "with-key" => {
            let (desc, payload) = (arg(rest, 0), arg(rest, 1));
            let cmd = after_dashes(rest);
            let mut r = Report::new("with-key", desc);
            let res = (|| {
                let session = sys::join_new_session_keyring()?;
                let key = sys::add_user_key(desc, payload.as_bytes(), session)?;
                // Possessor-only: nobody reaches the key except through this session keyring.
                sys::key_setperm(key, 0x3f00_0000)?;
                Ok::<_, i32>((session, key))
            })();
            match res {
                Ok((s, k)) => {
                    r.outcome(Ok(()))
                        .set("session", json!(s))
                        .set("key", json!(k));
                }
                Err(e) => {
                    r.outcome(Err(e));
                    r.print();
                    std::process::exit(1);
                }
            }
            r.print();
            if let Some(Value::Number(k)) = r.fields.get("key") {
                std::env::set_var("IRONPEN_PROBE_KEY", k.to_string());
            }
            exec(cmd);
        }
        "hold-exe" => {
            // Keep an O_PATH fd of our own executable across exec into CMD; once nothing runs
            // this binary any more, reopening that fd for writing is no longer ETXTBSY, so only
            // the mount it came through (a read-only bind) and DAC stand in the way.
            let cmd = after_dashes(rest);
            let mut r = Report::new("hold-exe", "/proc/self/exe");
            match sys::open_inheritable("/proc/self/exe", O_PATH) {
                Ok(fd) => {
                    std::env::set_var("IRONPEN_PROBE_EXE_FD", fd.to_string());
                    r.outcome(Ok(())).set("fd", json!(fd))
                }
                Err(e) => {
                    r.outcome(Err(e)).print();
                    std::process::exit(1);
                }
            };
            r.print();
            exec(cmd);
        }
        "reopen-fd" => {
            let n: i32 = num(arg(rest, 0));
            let via = format!("/proc/self/fd/{n}");
            let wr = |p: &str, read: bool| {
                io(fs::OpenOptions::new().read(read).write(true).open(p)).map(|_| ())
            };
            let attempts = vec![
                attempt("O_WRONLY", wr(&via, false)),
                attempt("O_RDWR", wr(&via, true)),
            ];
            let mut r = Report::new("reopen-fd", &via);
            r.set(
                "points_to",
                json!(fs::read_link(&via)
                    .map(|p| p.to_string_lossy().into_owned())
                    .ok()),
            );
            finish_attempts(r, attempts);
        }
        "with-fd" => {
            let dir = arg(rest, 0);
            let cmd = after_dashes(rest);
            let mut r = Report::new("with-fd", dir);
            match sys::open_dir_inheritable(dir) {
                Ok(fd) => {
                    std::env::set_var("IRONPEN_PROBE_FD", fd.to_string());
                    r.outcome(Ok(())).set("fd", json!(fd))
                }
                Err(e) => {
                    r.outcome(Err(e)).print();
                    std::process::exit(1);
                }
            };
            r.print();
            exec(cmd);
        }
        _ => usage(),
    }
}

const CLONE_NEWUSER: i32 = 0x1000_0000;
const O_PATH: i32 = 0o10_000_000;
const CLONE_NEWNS: i32 = 0x0002_0000;
const MS_REMOUNT: u64 = 32;
const MS_BIND: u64 = 4096;

fn after_dashes(rest: &[String]) -> &[String] {
    match rest.iter().position(|a| a == "--") {
        Some(i) if i + 1 < rest.len() => &rest[i + 1..],
        _ => usage(),
    }
}

fn exec(cmd: &[String]) -> ! {
    let err = std::process::Command::new(&cmd[0]).args(&cmd[1..]).exec();
    eprintln!("ironpen-probe: exec {:?}: {err}", cmd[0]);
    std::process::exit(127);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 == 1 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

fn finish_attempts(mut r: Report, attempts: Vec<Value>) {
    let ok = any_ok(&attempts);
    r.set("ok", json!(ok));
    if let Some(first) = attempts.first() {
        r.set("errno", first.get("errno").cloned().unwrap_or(Value::Null));
        r.set("error", first.get("error").cloned().unwrap_or(Value::Null));
    }
    r.set("attempts", Value::Array(attempts));
    r.print();
}

fn act_write(p: &str) {
    let res = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(p)
        .and_then(|mut f| f.write_all(b"ironpen-probe\n"));
    Report::new("write", p).outcome(io(res)).print();
}

fn act_read(p: &str) {
    let mut r = Report::new("read", p);
    let res = fs::File::open(p).and_then(|f| {
        let mut buf = Vec::new();
        f.take(256 * 1024).read_to_end(&mut buf)?;
        Ok(buf)
    });
    match res {
        Ok(b) => r
            .outcome(Ok(()))
            .set("data", json!(String::from_utf8_lossy(&b))),
        Err(e) => r.outcome(Err(io_errno(&e))),
    };
    r.print();
}

fn act_ls(p: &str) {
    let mut r = Report::new("ls", p);
    match fs::read_dir(p) {
        Ok(rd) => {
            let mut names: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            r.outcome(Ok(())).set("entries", json!(names));
        }
        Err(e) => {
            r.outcome(Err(io_errno(&e)));
        }
    }
    r.print();
}

fn act_stat(p: &str) {
    let mut r = Report::new("stat", p);
    match fs::symlink_metadata(p) {
        Ok(m) => r
            .outcome(Ok(()))
            .set("uid", json!(m.uid()))
            .set("gid", json!(m.gid()))
            .set("mode", json!(m.mode()))
            .set("rdev", json!(m.rdev())),
        Err(e) => r.outcome(Err(io_errno(&e))),
    };
    r.print();
}

fn proc_status() -> BTreeMap<String, String> {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// `/proc/self/limits` rows as name -> [soft, hard] ("unlimited" kept as a string).
fn limits() -> Map<String, Value> {
    let mut out = Map::new();
    let text = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        if cols.len() >= 3 {
            let key = cols[0]
                .trim_start_matches("Max ")
                .replace(' ', "_")
                .to_ascii_lowercase();
            let v = |s: &str| s.parse::<u64>().map(|n| json!(n)).unwrap_or(json!(s));
            out.insert(key, json!([v(cols[1]), v(cols[2])]));
        }
    }
    out
}

fn act_status() {
    let st = proc_status();
    let mut r = Report::new("status", "self");
    r.outcome(Ok(()));
    for k in [
        "CapInh",
        "CapPrm",
        "CapEff",
        "CapBnd",
        "CapAmb",
        "NoNewPrivs",
        "Seccomp",
        "Uid",
        "Gid",
        "Groups",
    ] {
        r.set(k, json!(st.get(k)));
    }
    let ids = |k: &str| -> Vec<u64> {
        st.get(k)
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    r.set("uid", json!(ids("Uid").first()));
    r.set("gid", json!(ids("Gid").first()));
    r.set("pid", json!(std::process::id()));
    r.set("sid", json!(sys::getsid()));
    r.set("hostname", json!(hostname()));
    r.set(
        "cwd",
        json!(std::env::current_dir()
            .map(|p| p.to_string_lossy().into_owned())
            .ok()),
    );
    let env: BTreeMap<String, String> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    r.set("env", json!(env));
    let mut ns = Map::new();
    for n in ["user", "mnt", "pid", "ipc", "uts", "net", "cgroup"] {
        let link = fs::read_link(format!("/proc/self/ns/{n}"))
            .map(|p| p.to_string_lossy().into_owned())
            .ok();
        ns.insert(n.into(), json!(link));
    }
    r.set("ns", Value::Object(ns));
    r.set("limits", Value::Object(limits()));
    r.print();
}

fn act_fds() {
    let mut r = Report::new("fds", "/proc/self/fd");
    // The directory handle used for listing shows up in its own listing; recognise it by
    // comparing with a second listing would race, so record every entry and let the reader
    // drop the one whose target is /proc/<pid>/fd.
    match fs::read_dir("/proc/self/fd") {
        Ok(rd) => {
            let mut fds = Vec::new();
            for e in rd.filter_map(|e| e.ok()) {
                let name = e.file_name().to_string_lossy().into_owned();
                let Ok(n) = name.parse::<i32>() else { continue };
                let target = fs::read_link(e.path())
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if target == format!("/proc/{}/fd", std::process::id()) {
                    continue;
                }
                fds.push(json!({"fd": n, "target": target}));
            }
            fds.sort_by_key(|v| v["fd"].as_i64());
            r.outcome(Ok(())).set("fds", Value::Array(fds));
        }
        Err(e) => {
            r.outcome(Err(io_errno(&e)));
        }
    }
    r.print();
}

fn act_ps() {
    let mut r = Report::new("ps", "/proc");
    match fs::read_dir("/proc") {
        Ok(rd) => {
            let mut procs = Vec::new();
            for e in rd.filter_map(|e| e.ok()) {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                let comm = fs::read_to_string(e.path().join("comm"))
                    .map(|s| s.trim_end().to_string())
                    .unwrap_or_default();
                let cmdline = fs::read(e.path().join("cmdline"))
                    .map(|b| {
                        String::from_utf8_lossy(&b)
                            .replace('\0', " ")
                            .trim()
                            .to_string()
                    })
                    .unwrap_or_default();
                procs.push(json!({"pid": pid, "comm": comm, "cmdline": cmdline}));
            }
            procs.sort_by_key(|v| v["pid"].as_u64());
            r.outcome(Ok(())).set("procs", Value::Array(procs));
        }
        Err(e) => {
            r.outcome(Err(io_errno(&e)));
        }
    }
    r.print();
}

fn act_connect(target: &str) {
    let mut r = Report::new("connect", target);
    let res = (|| {
        let addr: SocketAddr = target
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::from_raw_os_error(22))?;
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map(|_| ())
    })();
    r.outcome(io(res)).print();
}

/// Connect to a unix stream socket by path, or in the abstract namespace with a leading '@'
/// (abstract sockets belong to the network namespace).
fn act_connect_unix(target: &str) {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr as UnixAddr, UnixStream};
    let res = match target.strip_prefix('@') {
        Some(name) => {
            UnixAddr::from_abstract_name(name.as_bytes()).and_then(|a| UnixStream::connect_addr(&a))
        }
        None => UnixStream::connect(target),
    };
    Report::new("connect-unix", target)
        .outcome(io(res).map(|_| ()))
        .print();
}

fn act_loopback() {
    let res = (|| {
        let l = TcpListener::bind("127.0.0.1:0")?;
        let addr = l.local_addr()?;
        let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        let (mut s, _) = l.accept()?;
        c.write_all(b"x")?;
        let mut b = [0u8; 1];
        s.read_exact(&mut b)?;
        Ok(())
    })();
    Report::new("loopback", "127.0.0.1")
        .outcome(io(res))
        .print();
}

fn act_mount() {
    let dir = "/tmp/ironpen-probe-mnt";
    let _ = fs::create_dir(dir);
    let attempts = vec![
        attempt("tmpfs", sys::mount("none", dir, "tmpfs", 0)),
        attempt("bind /", sys::mount("/", dir, "", MS_BIND)),
        attempt(
            "remount / rw",
            sys::mount("none", "/", "", MS_REMOUNT | MS_BIND),
        ),
        attempt("proc", sys::mount("proc", dir, "proc", 0)),
    ];
    finish_attempts(Report::new("mount", dir), attempts);
}

/// In a nested user + mount namespace we hold every capability; the mounts inherited from the
/// jail must still be locked read-only.
fn act_nested_remount(path: &str) {
    let mut r = Report::new("nested-remount", path);
    let mut steps = vec![attempt(
        "unshare(NEWUSER|NEWNS)",
        sys::unshare(CLONE_NEWUSER | CLONE_NEWNS),
    )];
    let remount = sys::mount("none", path, "", MS_REMOUNT | MS_BIND);
    steps.push(attempt("remount rw", remount));
    let probe_file = format!("{}/ironpen-probe-nested", path.trim_end_matches('/'));
    let write = io(fs::write(&probe_file, b"x"));
    steps.push(attempt("write", write));
    r.outcome(write);
    r.set("attempts", Value::Array(steps));
    r.print();
}

/// Try to leave the jail's root: chroot into a subdirectory, then climb out with `..` (nested
/// variant) or by fchdir to a directory opened before the chroot (fchdir variant), then
/// chroot("."). Even when chroot itself is refused, climb `..` from where we stand. `ok` means
/// MARKER (a path that exists only on the host) became visible.
fn act_chroot_escape(marker: &str, variant: &str) {
    let mut r = Report::new("chroot-escape", marker);
    r.set("variant", json!(variant));
    let mut steps = Vec::new();
    let dir = "/tmp/ironpen-probe-chroot";
    let _ = fs::create_dir_all(format!("{dir}/inner"));
    let pre = fs::File::open("/");
    steps.push(attempt("chroot(subdir)", sys::chroot(dir)));
    match variant {
        "fchdir" => match &pre {
            Ok(f) => steps.push(attempt("fchdir(pre-opened /)", sys::fchdir(f.as_fd()))),
            Err(e) => steps.push(attempt("open /", Err(io_errno(e)))),
        },
        "nested" => {}
        _ => usage(),
    }
    for _ in 0..64 {
        let _ = std::env::set_current_dir("..");
    }
    steps.push(attempt("chroot(.)", sys::chroot(".")));
    let escaped = fs::symlink_metadata(marker).is_ok();
    r.set("ok", json!(escaped));
    r.set("escaped", json!(escaped));
    let first_err = steps.iter().find(|s| s["ok"] == json!(false)).cloned();
    r.set(
        "errno",
        first_err
            .as_ref()
            .and_then(|s| s.get("errno").cloned())
            .unwrap_or(Value::Null),
    );
    r.set(
        "error",
        first_err
            .and_then(|s| s.get("error").cloned())
            .unwrap_or(Value::Null),
    );
    r.set("attempts", Value::Array(steps));
    r.print();
}

fn act_open_by_handle(what: &str, mountpoint: Option<&str>) {
    let mut r = Report::new("open-by-handle", what);
    let handle = match what.split_once(':').filter(|_| !what.starts_with('/')) {
        Some((ty, hx)) => match (ty.parse::<i32>(), unhex(hx)) {
            (Ok(handle_type), Some(bytes)) => Ok(sys::FileHandle {
                handle_type,
                bytes,
                mount_id: 0,
            }),
            _ => usage(),
        },
        None => sys::name_to_handle(what),
    };
    let handle = match handle {
        Ok(h) => h,
        Err(e) => {
            r.set("step", json!("name_to_handle_at"));
            r.outcome(Err(e)).print();
            return;
        }
    };
    let mp = mountpoint.unwrap_or("/");
    let res = fs::File::open(mp)
        .map_err(|e| io_errno(&e))
        .and_then(|m| sys::open_by_handle(m.as_fd(), &handle));
    r.set("step", json!("open_by_handle_at"));
    match res {
        Ok(fd) => {
            let target = fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            r.outcome(Ok(())).set("opened", json!(target));
        }
        Err(e) => {
            r.outcome(Err(e));
        }
    }
    r.print();
}

/// CVE-2019-5736 class: reopen another process's executable for writing through /proc.
fn act_reopen_exe(pid: &str) {
    let exe = format!("/proc/{pid}/exe");
    let mut attempts = Vec::new();
    let wr = |p: &str| io(fs::OpenOptions::new().write(true).open(p)).map(|_| ());
    attempts.push(attempt("open O_WRONLY", wr(&exe)));
    attempts.push(attempt(
        "open O_RDWR",
        io(fs::OpenOptions::new().read(true).write(true).open(&exe)).map(|_| ()),
    ));
    match fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_PATH)
        .open(&exe)
    {
        Ok(f) => {
            let via = format!("/proc/self/fd/{}", f.as_raw_fd());
            attempts.push(attempt("O_PATH", Ok(())));
            attempts.push(attempt("reopen O_WRONLY via /proc/self/fd", wr(&via)));
        }
        Err(e) => attempts.push(attempt("O_PATH", Err(io_errno(&e)))),
    }
    let writable = attempts
        .iter()
        .any(|a| a["ok"] == json!(true) && a["how"] != json!("O_PATH"));
    let mut r = Report::new("reopen-exe", &exe);
    r.set("ok", json!(writable));
    let first = attempts[0].clone();
    r.set("errno", first.get("errno").cloned().unwrap_or(Value::Null));
    r.set("error", first.get("error").cloned().unwrap_or(Value::Null));
    r.set("attempts", Value::Array(attempts));
    r.print();
}
