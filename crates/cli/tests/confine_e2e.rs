//! End to end: Landlock and MDWE in real jails, each as the caller (root here) and as uid 65534.
//! Probe from inside, verify from outside: every denial is paired with the same action succeeding
//! where only the layer under test is removed (`--landlock off`, `--allow-jit`, no ironpen).

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

#[path = "common/staged.rs"]
mod staged;
use staged::{is_root, whos, Env, Who};

/// Started by root, a jail's ids map to host 65534 (both for root's own jails and for those of
/// uid 65534); started by anyone else, to the caller, who already owns the file.
fn give_to_jail(p: &Path) {
    if is_root() {
        std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
    }
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Skip (or fail, when IRONPEN_TEST_REQUIRE names `what` or `all`) a test the machine cannot run.
fn skip(what: &str, why: &str) {
    let required = std::env::var("IRONPEN_TEST_REQUIRE").unwrap_or_default();
    assert!(
        !required
            .split(',')
            .any(|r| r.trim() == what || r.trim() == "all"),
        "required by IRONPEN_TEST_REQUIRE but unavailable: {what}: {why}"
    );
    eprintln!("SKIP: {what}: {why}");
}

/// The report line of `feature` from `--report` output (stderr).
fn report_line(stderr: &str, feature: &str) -> String {
    stderr
        .lines()
        .find(|l| l.split_whitespace().next() == Some(feature))
        .unwrap_or_else(|| panic!("no {feature} line in report: {stderr}"))
        .to_string()
}

/// Whether this kernel gives the full Landlock policy (ABI >= 6: scoping included).
fn landlock_full(env: &Env) -> bool {
    let o = env.run(Who::Caller, &["run", "--report", "--", "true"]);
    let line = report_line(&text(&o).1, "landlock");
    let full = line.split_whitespace().nth(1) == Some("full");
    if !full {
        skip("landlock", &line);
    }
    full
}

const PROBE: &str = "\
cp /bin/true /tmp/t; /tmp/t 2>/dev/null && echo tmpexec=ok || echo tmpexec=denied; \
touch /dev/planted 2>/dev/null && echo devwrite=ok || echo devwrite=denied; \
(echo renamed > /proc/self/comm) 2>/dev/null && echo procwrite=ok || echo procwrite=denied; \
kill -0 1 2>/dev/null && echo signal=ok || echo signal=denied; \
echo x > /tmp/f && echo x > \"$HOME/f\" && echo x > /dev/shm/f && echo x > /dev/null && echo writable=ok; \
cp /bin/true /work/t && /work/t && echo workexec=ok";

/// The jail's mounts allow writing its /dev tmpfs and /proc/self/comm, executing from /tmp and
/// signalling init; Landlock refuses all four. The same script with `--landlock off` shows the
/// mounts alone would have allowed each one, so Landlock is what blocks them.
#[test]
fn landlock_refuses_what_the_mounts_allow() {
    let env = Env::new();
    if !landlock_full(&env) {
        return;
    }
    let work = env.dir_for("work");
    let work = work.to_str().unwrap();
    for who in whos() {
        let args = [
            "run", "--report", "--bind", work, "/work", "--", "sh", "-c", PROBE,
        ];
        let o = env.run(who, &args);
        let (out, err) = text(&o);
        for want in [
            "tmpexec=denied",
            "devwrite=denied",
            "procwrite=denied",
            "signal=denied",
            "writable=ok",
            "workexec=ok",
        ] {
            assert!(out.contains(want), "{who:?}: {want} missing: {out} {err}");
        }
        assert!(
            report_line(&err, "landlock").contains("scope (abstract unix, signal)"),
            "{err}"
        );

        // Control: without Landlock (and with /tmp's noexec mount lifted by --allow-exec, which
        // blocks the same exec by itself) each action succeeds.
        let mut off = args.to_vec();
        off.insert(1, "--landlock");
        off.insert(2, "off");
        off.insert(3, "--allow-exec");
        off.insert(4, "/tmp");
        let o = env.run(who, &off);
        let (out, err) = text(&o);
        for want in ["tmpexec=ok", "devwrite=ok", "procwrite=ok", "signal=ok"] {
            assert!(
                out.contains(want),
                "{who:?} --landlock off: {want}: {out} {err}"
            );
        }
        assert!(report_line(&err, "landlock").contains("waived"), "{err}");

        // --allow-exec opens exactly the named place.
        let o = env.run(
            who,
            &[
                "run",
                "--allow-exec",
                "/tmp",
                "--",
                "sh",
                "-c",
                "cp /bin/true /tmp/t && /tmp/t && echo ok",
            ],
        );
        assert_eq!(text(&o).0.trim(), "ok", "{who:?}: {:?}", text(&o));
    }
}

/// A descriptor given read-only (stdin from a host file) cannot be reopened for writing through
/// /proc/self/fd even where the file's permissions would allow it; stdout (a writable host file)
/// stays reopenable as /dev/stdout.
#[test]
fn inherited_files_keep_only_their_access_mode() {
    let env = Env::new();
    if !landlock_full(&env) {
        return;
    }
    let input = env.path().join("input");
    let output = env.path().join("output");
    for who in whos() {
        fs::write(&input, "original\n").unwrap();
        fs::write(&output, "").unwrap();
        for f in [&input, &output] {
            fs::set_permissions(f, fs::Permissions::from_mode(0o666)).unwrap();
        }
        let script = "(echo x > /proc/self/fd/0) 2>/dev/null || echo reopen=denied; \
                      echo via-dev-stdout >> /dev/stdout; cat /dev/stdin >&2";
        let o = env
            .command(who, &["run", "--", "sh", "-c", script])
            .stdin(fs::File::open(&input).unwrap())
            .stdout(fs::OpenOptions::new().write(true).open(&output).unwrap())
            .output()
            .unwrap();
        let out = fs::read_to_string(&output).unwrap();
        assert_eq!(
            out,
            "reopen=denied\nvia-dev-stdout\n",
            "{who:?}: {:?}",
            text(&o)
        );
        assert_eq!(text(&o).1, "original\n");
        assert_eq!(fs::read_to_string(&input).unwrap(), "original\n");
        // The same script without Landlock: the reopen for writing succeeds (DAC allows it).
        let o = env
            .command(who, &["run", "--landlock", "off", "--", "sh", "-c", script])
            .stdin(fs::File::open(&input).unwrap())
            .stdout(fs::OpenOptions::new().write(true).open(&output).unwrap())
            .output()
            .unwrap();
        assert_eq!(
            fs::read_to_string(&input).unwrap(),
            "x\n",
            "{who:?}: {:?}",
            text(&o)
        );
    }
}

/// Abstract unix sockets: a listener on the host (and one in another jail) is reachable without
/// ironpen and from a jail without Landlock, but not from a default jail, even one sharing the
/// host's network namespace (abstract sockets are per network namespace, so the test shares it).
#[test]
fn abstract_unix_sockets_outside_the_jail_are_unreachable() {
    use std::os::linux::net::SocketAddrExt as _;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    let env = Env::new();
    if !landlock_full(&env) {
        return;
    }
    if !Path::new("/usr/bin/python3").exists() {
        skip(
            "python3",
            "/usr/bin/python3 missing (used as the connecting client)",
        );
        return;
    }
    let name = format!("ironpen-test-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let _listener = UnixListener::bind_addr(&addr).unwrap();
    // Outside any jail the connect succeeds.
    UnixStream::connect_addr(&addr).unwrap();
    let client = format!(
        "import socket\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect('\\0{name}')\n    print('connect=ok')\nexcept OSError as e:\n    print('connect=' + e.__class__.__name__)\n"
    );
    for who in whos() {
        let o = env.run(who, &["run", "--share-net", "--", "python3", "-c", &client]);
        assert_eq!(
            text(&o).0.trim(),
            "connect=PermissionError",
            "{who:?}: {:?}",
            text(&o)
        );
        let o = env.run(
            who,
            &[
                "run",
                "--share-net",
                "--landlock",
                "off",
                "--",
                "python3",
                "-c",
                &client,
            ],
        );
        assert_eq!(text(&o).0.trim(), "connect=ok", "{who:?}: {:?}", text(&o));
    }

    // A listener inside one jail, a client in a second one.
    let jail_name = format!("ironpen-jail-{}", std::process::id());
    let server = format!(
        "import socket, time\ns = socket.socket(socket.AF_UNIX)\ns.bind('\\0{jail_name}')\ns.listen(8)\nprint('ready', flush=True)\ntime.sleep(60)\n"
    );
    let mut a = KillOnDrop(
        env.command(
            Who::Caller,
            &["run", "--share-net", "--", "python3", "-c", &server],
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(a.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let client = client.replace(&name, &jail_name);
    for who in whos() {
        let o = env.run(who, &["run", "--share-net", "--", "python3", "-c", &client]);
        assert_eq!(
            text(&o).0.trim(),
            "connect=PermissionError",
            "{who:?}: {:?}",
            text(&o)
        );
        let o = env.run(
            who,
            &[
                "run",
                "--share-net",
                "--landlock",
                "off",
                "--",
                "python3",
                "-c",
                &client,
            ],
        );
        assert_eq!(text(&o).0.trim(), "connect=ok", "{who:?}: {:?}", text(&o));
    }
}

/// Stops the jail on drop: SIGTERM to ironpen, which forwards it to the program and exits only
/// after the jail's init has reported, so nothing of the jail outlives the test.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let termed = Command::new("kill").args(["-TERM", &pid]).status();
        if !termed.is_ok_and(|s| s.success()) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

const MPROTECT_C: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
int main(void) {
    void *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { printf("mmap errno=%d\n", errno); return 2; }
    if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0) { printf("mprotect errno=%d\n", errno); return 1; }
    printf("mprotect ok\n");
    return 0;
}
"#;

/// Compile the W^X probe into `dir`, or None (skip) without gcc.
fn mprotect_probe(dir: &Path) -> Option<PathBuf> {
    if !Path::new("/usr/bin/gcc").exists() {
        skip("gcc", "/usr/bin/gcc missing (builds the mprotect probe)");
        return None;
    }
    let src = dir.join("wx.c");
    fs::write(&src, MPROTECT_C).unwrap();
    let bin = dir.join("wx");
    let ok = Command::new("/usr/bin/gcc")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .status()
        .unwrap()
        .success();
    assert!(ok, "gcc failed");
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    Some(bin)
}

/// mprotect(PROT_EXEC) of a writable mapping fails with EACCES in a default jail; succeeds with
/// --allow-jit and for a binary marked `m` with `ironpen pax set`; the report says which.
#[test]
fn mdwe_refuses_exec_gain_unless_marked_or_opted_out() {
    let env = Env::new();
    let dir = env.dir_for("bin");
    let Some(wx) = mprotect_probe(&dir) else {
        return;
    };
    let marked = dir.join("wx-marked");
    fs::copy(&wx, &marked).unwrap();
    let o = env.run(Who::Caller, &["pax", "set", marked.to_str().unwrap(), "m"]);
    if !o.status.success() && text(&o).1.contains("errno 95") {
        skip("xattr", &format!("{}: {}", dir.display(), text(&o).1));
        return;
    }
    assert!(o.status.success(), "{:?}", text(&o));
    // Outside any jail the probe succeeds, so the jail is what refuses it.
    let host = Command::new(&wx).output().unwrap();
    assert_eq!(text(&host).0.trim(), "mprotect ok");
    let d = dir.to_str().unwrap();
    for who in whos() {
        let o = env.run(
            who,
            &["run", "--report", "--ro-bind", d, "/t", "--", "/t/wx"],
        );
        let (out, err) = text(&o);
        if report_line(&err, "mdwe").split_whitespace().nth(1) != Some("full") {
            skip("mdwe", &report_line(&err, "mdwe"));
            return;
        }
        assert_eq!(out.trim(), "mprotect errno=13", "{who:?}: {err}");
        assert_eq!(o.status.code(), Some(1));

        let o = env.run(
            who,
            &[
                "run",
                "--report",
                "--allow-jit",
                "--ro-bind",
                d,
                "/t",
                "--",
                "/t/wx",
            ],
        );
        let (out, err) = text(&o);
        assert_eq!(out.trim(), "mprotect ok", "{who:?}: {err}");
        assert!(report_line(&err, "mdwe").contains("--allow-jit"), "{err}");

        let o = env.run(
            who,
            &[
                "run",
                "--report",
                "--ro-bind",
                d,
                "/t",
                "--",
                "/t/wx-marked",
            ],
        );
        let (out, err) = text(&o);
        assert_eq!(out.trim(), "mprotect ok", "{who:?}: {err}");
        let line = report_line(&err, "mdwe");
        assert!(
            line.contains("waived") && line.contains("/t/wx-marked is marked m"),
            "{line}"
        );

        // Inherited across fork and execve: a shell started under MDWE cannot run the marked
        // binary with W^X lifted (the mark is read for the jail's program only).
        let o = env.run(
            who,
            &[
                "run",
                "--ro-bind",
                d,
                "/t",
                "--",
                "sh",
                "-c",
                "/t/wx-marked",
            ],
        );
        assert_eq!(text(&o).0.trim(), "mprotect errno=13", "{who:?}");
    }
}

/// `r`: the marked program runs without address-space randomisation; others keep it.
#[test]
fn pax_r_mark_disables_aslr_for_that_program_only() {
    let env = Env::new();
    let dir = env.dir_for("bin");
    let cat = dir.join("cat");
    fs::copy("/usr/bin/cat", &cat).unwrap();
    let o = env.run(Who::Caller, &["pax", "set", cat.to_str().unwrap(), "r"]);
    if !o.status.success() && text(&o).1.contains("errno 95") {
        skip("xattr", &text(&o).1);
        return;
    }
    assert!(o.status.success(), "{:?}", text(&o));
    let d = dir.to_str().unwrap();
    for who in whos() {
        let o = env.run(
            who,
            &[
                "run",
                "--report",
                "--ro-bind",
                d,
                "/t",
                "--",
                "/t/cat",
                "/proc/self/personality",
            ],
        );
        let (out, err) = text(&o);
        assert_eq!(out.trim(), "00040000", "{who:?}: {err}");
        assert!(
            report_line(&err, "mdwe").contains("ASLR off: /t/cat is marked r"),
            "{err}"
        );
        let o = env.run(who, &["run", "--", "cat", "/proc/self/personality"]);
        assert_eq!(text(&o).0.trim(), "00000000", "{who:?}");
    }
}

/// Ordinary programs keep working with Landlock and MDWE on: a shell pipeline, python
/// multiprocessing (semaphores in /dev/shm), gcc (cc1 from /usr/lib, temporaries in /tmp) and
/// make building and running in a bind-mounted work directory, git.
#[test]
fn ordinary_programs_work_under_landlock_and_mdwe() {
    let env = Env::new();
    let work = env.dir_for("work");
    fs::write(
        work.join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello from make\"); return 0; }\n",
    )
    .unwrap();
    fs::write(
        work.join("Makefile"),
        "hello: hello.c\n\tcc -O1 -o hello hello.c\n",
    )
    .unwrap();
    for f in ["hello.c", "Makefile"] {
        give_to_jail(&work.join(f));
    }
    let w = work.to_str().unwrap();
    let mut script = String::from("set -e; seq 1 1000 | grep 7 | sort -r | wc -l; ");
    let have = |p: &str| Path::new(p).exists();
    if have("/usr/bin/python3") {
        script += "python3 -c 'import multiprocessing as m; print(sum(m.Pool(2).map(abs, range(-5, 5))))'; ";
    } else {
        skip("python3", "missing");
    }
    if have("/usr/bin/gcc") && have("/usr/bin/make") {
        script += "make -s && ./hello; ";
    } else {
        skip("gcc", "gcc or make missing");
    }
    let git = ["/usr/bin/git", "/usr/local/bin/git"]
        .into_iter()
        .find(|p| have(p));
    if let Some(git) = git {
        script += &format!(
            "{git} init -q repo && cd repo && echo x > f && {git} add f && {git} -c user.name=t -c user.email=t@t commit -qm first && {git} log --format=%s; "
        );
    }
    for who in whos() {
        let o = env.run(
            who,
            &[
                "run", "--report", "--bind", w, "/work", "--chdir", "/work", "--", "sh", "-c",
                &script,
            ],
        );
        let (out, err) = text(&o);
        assert!(o.status.success(), "{who:?}: {out} {err}");
        let mut want = vec!["271"];
        if have("/usr/bin/python3") {
            want.push("25");
        }
        if have("/usr/bin/gcc") && have("/usr/bin/make") {
            want.push("hello from make");
        }
        if git.is_some() {
            want.push("first");
        }
        let lines: Vec<&str> = out.lines().collect();
        for w in want {
            assert!(lines.contains(&w), "{who:?}: {w} missing in {out}");
        }
        // Both layers were on.
        assert!(report_line(&err, "mdwe").contains("full"), "{err}");
        let ll = report_line(&err, "landlock");
        assert!(!ll.contains(" off "), "{ll}");
        let _ = Command::new("rm")
            .arg("-rf")
            .arg(work.join("repo"))
            .status();
        let _ = fs::remove_file(work.join("hello"));
    }
}

/// Passed descriptors keep working under Landlock: a memfd (no rule possible: a kernel-internal
/// file) and a directory (read and write beneath it through the descriptor). Python launches
/// ironpen because it can create a memfd and pass descriptors without extra crates.
#[test]
fn passed_descriptors_keep_working() {
    let env = Env::new();
    if !Path::new("/usr/bin/python3").exists() {
        skip(
            "python3",
            "/usr/bin/python3 missing (passes the descriptors)",
        );
        return;
    }
    let shared = env.dir_for("shared");
    let launcher = r#"
import os, subprocess, sys
ironpen, shared = sys.argv[1], sys.argv[2]
mem = os.memfd_create("ironpen-test")
os.write(mem, b"from-memfd")
os.lseek(mem, 0, 0)
d = os.open(shared, os.O_RDONLY | os.O_DIRECTORY)
script = "cat <&%d; echo; cat /proc/self/fd/%d; echo; echo in-dir > /proc/self/fd/%d/made && echo dir=ok" % (mem, mem, d)
r = subprocess.run([ironpen, "run", "--pass-fd", str(mem), "--pass-fd", str(d), "--", "sh", "-c", script],
                   pass_fds=[mem, d], capture_output=True, text=True)
sys.stdout.write(r.stdout)
sys.stderr.write(r.stderr)
sys.exit(r.returncode)
"#;
    for who in whos() {
        let bin = match who {
            Who::Caller => staged::bin::ironpen(),
            Who::Nobody => env.path().join("ironpen"),
        };
        let mut c = Command::new("/usr/bin/python3");
        c.args(["-c", launcher])
            .arg(&bin)
            .arg(&shared)
            .stdin(Stdio::null());
        if let Who::Nobody = who {
            c.uid(65534).gid(65534).current_dir("/");
        }
        let o = c.output().unwrap();
        let (out, err) = text(&o);
        assert_eq!(out, "from-memfd\nfrom-memfd\ndir=ok\n", "{who:?}: {err}");
        assert_eq!(fs::read_to_string(shared.join("made")).unwrap(), "in-dir\n");
        fs::remove_file(shared.join("made")).unwrap();
    }
}

/// TCP port rules (Landlock ABI >= 4): `--allow-connect` and `--allow-bind` leave exactly the
/// named ports; without them TCP is not restricted. Connects go to a listener of this test on the
/// host (`--share-net`); binds happen in the jail's own network namespace.
#[test]
fn tcp_port_rules() {
    let env = Env::new();
    if !landlock_full(&env) {
        return;
    }
    if !Path::new("/usr/bin/python3").exists() {
        skip("python3", "/usr/bin/python3 missing (the TCP client)");
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let other = if port == "1" { "2" } else { "1" };
    let probe = "import socket, sys\n\
        def attempt(what, f):\n    \
            s = socket.socket()\n    \
            try:\n        f(s)\n        print(what + '=ok')\n    \
            except OSError as e:\n        print(what + '=' + e.__class__.__name__)\n\
        if sys.argv[1] == 'connect':\n    \
            attempt('connect', lambda s: s.connect(('127.0.0.1', int(sys.argv[2]))))\n\
        else:\n    \
            attempt('bind', lambda s: s.bind(('127.0.0.1', int(sys.argv[2]))))\n";
    for who in whos() {
        let run = |opts: &[&str], what: &str, p: &str| {
            let mut args = vec!["run"];
            args.extend_from_slice(opts);
            args.extend(["--", "python3", "-c", probe, what, p]);
            let o = env.run(who, &args);
            text(&o).0.trim().to_string()
        };
        let sn = "--share-net";
        assert_eq!(run(&[sn], "connect", &port), "connect=ok", "{who:?}");
        assert_eq!(
            run(&[sn, "--allow-connect", &port], "connect", &port),
            "connect=ok"
        );
        assert_eq!(
            run(&[sn, "--allow-connect", other], "connect", &port),
            "connect=PermissionError",
            "{who:?}"
        );
        assert_eq!(
            run(&[sn, "--allow-connect", "none"], "connect", &port),
            "connect=PermissionError"
        );
        assert_eq!(run(&[], "bind", "8080"), "bind=ok", "{who:?}");
        assert_eq!(run(&["--allow-bind", "8080"], "bind", "8080"), "bind=ok");
        assert_eq!(
            run(&["--allow-bind", "8080"], "bind", "8081"),
            "bind=PermissionError",
            "{who:?}"
        );
        let o = env.run(
            who,
            &[
                "run",
                "--report",
                "--allow-connect",
                "443",
                "--allow-bind",
                "none",
                "--",
                "true",
            ],
        );
        let line = report_line(&text(&o).1, "landlock");
        assert!(line.contains("tcp connect 443; tcp bind none"), "{line}");
    }
    drop(listener);
}

/// Looking for a `#!` line must never block: a FIFO given as the program fails at execve (126)
/// instead of hanging ironpen in the mark lookup.
#[test]
fn mark_lookup_does_not_block_on_a_fifo() {
    let env = Env::new();
    let fifo = env.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let f = fifo.to_str().unwrap();
    let mut child = SigkillOnDrop(
        env.command(Who::Caller, &["run", "--ro-bind", f, "/f", "--", "/f"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "ironpen hangs on a FIFO program"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(126));
}

/// SIGKILL to ironpen on drop (its jail dies with it through PDEATHSIG): for a jail that may be
/// stuck before execve, where forwarded signals are still blocked.
struct SigkillOnDrop(Child);

impl Drop for SigkillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
