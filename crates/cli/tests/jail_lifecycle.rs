//! End-to-end: exit statuses, signals, the jail's lifetime, --print-plan and bad input.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::*;

#[test]
fn exit_status_passes_through() {
    each_variant("exit_status_passes_through", |env, v| {
        for n in [0, 1, 3, 124] {
            let out = env.run(v, &[], &[&env.probe(), "exit", &n.to_string()]);
            assert_eq!(out.code, Some(n), "[{}] exit {n}: {out:?}", v.name());
        }
    });
}

#[test]
fn killed_by_signal_is_128_plus_n() {
    each_variant("killed_by_signal", |env, v| {
        for (sig, code) in [("KILL", 137), ("TERM", 143)] {
            let out = env.run(v, &[], &[&env.probe(), "kill-self", sig]);
            assert_eq!(
                out.code,
                Some(code),
                "[{}] kill-self {sig}: {out:?}",
                v.name()
            );
        }
    });
}

/// Start `probe sleep 30` in a jail and wait until it reports it is running.
fn start_sleeping_jail(
    env: &TestEnv,
    v: Variant,
) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut c = env.ironpen_cmd(v, &[], &[&env.probe(), "sleep", "30"]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn ironpen");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line)
        .expect("read the probe's first line");
    assert!(
        line.contains("\"sleep\""),
        "[{}] jail did not start the sleep: {line:?}",
        v.name()
    );
    (child, out)
}

fn wait_code(child: std::process::Child, what: &str) -> Outcome {
    wait_child(child, Duration::from_secs(10), what)
}

#[test]
fn signals_are_forwarded() {
    each_variant("signals_are_forwarded", |env, v| {
        for (sig, n) in [("TERM", 15), ("INT", 2), ("HUP", 1), ("USR1", 10)] {
            let (child, _out) = start_sleeping_jail(env, v);
            send_signal(child.id(), sig);
            let o = wait_code(child, &format!("ironpen after SIG{sig}"));
            assert_eq!(
                o.code,
                Some(128 + n),
                "[{}] SIG{sig} to ironpen: {o:?}",
                v.name()
            );
            env.assert_no_processes(Duration::from_secs(3));
        }
    });
}

#[test]
fn jail_dies_with_ironpen() {
    each_variant("jail_dies_with_ironpen", |env, v| {
        let (mut child, _out) = start_sleeping_jail(env, v);
        assert!(
            env.leftover_processes().len() >= 2,
            "expected ironpen and the jail's processes: {:?}",
            env.leftover_processes()
        );
        child.kill().expect("SIGKILL ironpen");
        let _ = child.wait();
        env.assert_no_processes(Duration::from_secs(5));
    });
}

#[test]
fn print_plan_runs_nothing() {
    each_variant("print_plan_runs_nothing", |env, v| {
        let w = env.work_dir("w", v);
        let w_s = w.to_string_lossy().into_owned();
        let out = env.run(
            v,
            &["--print-plan", "--bind", &w_s, "/w"],
            &[&env.probe(), "write", "/w/ran"],
        );
        assert_eq!(out.code, Some(0), "[{}] --print-plan: {out:?}", v.name());
        let plan: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("--print-plan output is not JSON ({e}): {}", out.stdout));
        assert!(plan.is_object(), "plan: {plan}");
        assert!(out.stdout.contains("/w"), "plan mentions the bind: {plan}");
        assert!(!w.join("ran").exists(), "--print-plan ran the command");
    });
}

#[test]
fn missing_command_is_reported() {
    each_variant("missing_command_is_reported", |env, v| {
        let missing = format!("/nonexistent-{}", env.id);
        let out = env.run(v, &[], &[&missing]);
        assert!(
            matches!(out.code, Some(125) | Some(127)),
            "[{}] exec of a missing command: {out:?}",
            v.name()
        );
        assert!(
            out.stderr.contains(&missing),
            "stderr names the command: {out:?}"
        );
    });
}

/// Bad input: one line `ironpen: ...` naming the argument, exit 125, nothing left behind.
#[test]
fn bad_input_is_rejected_with_one_line() {
    each_variant("bad_input_is_rejected", |env, v| {
        let missing = format!("{}/does-not-exist", env.dir.display());
        let existing = env.dir.to_string_lossy().into_owned();
        let long_host = "h".repeat(70);
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (vec!["--bogus-option"], "--bogus-option"),
            (vec!["--ro-bind", &missing, "/x"], "does-not-exist"),
            (vec!["--bind", &existing, "/a/../b"], "/a/../b"),
            (vec!["--tmpfs", "relative/dir"], "relative/dir"),
            (vec!["--cap-add", "cap_bogus"], "cap_bogus"),
            (vec!["--rlimit", "bogus=1"], "bogus"),
            (vec!["--rlimit", "nofile=abc"], "abc"),
            (vec!["--pass-fd", "57"], "57"),
            (vec!["--ro-bind", &existing, "/dev/null/x"], "/dev/null/x"),
            (vec!["--chdir", "/nonexistent-dir"], "/nonexistent-dir"),
            (vec!["--setenv", "NOEQUALS"], "NOEQUALS"),
            (vec!["--keep-env", "A=B"], "A=B"),
            (vec!["--uid", "abc"], "abc"),
            (vec!["--hostname", &long_host], "--hostname"),
            (vec!["--symlink", "/tmp", "rel/link"], "rel/link"),
            (vec!["--tmpfs", "/proc/x"], "/proc/x"),
            (vec!["--bind", "/etc/hostname", "/usr/bin"], "/usr/bin"),
        ];
        // ironpen runs with its cwd and TMPDIR in private empty directories, which must stay
        // empty (no temp files or dirs left behind, relative or in TMPDIR).
        let cwd = env.work_dir("cwd", v);
        let tmpdir = env.work_dir("tmpdir", v);
        let mut problems = Vec::new();
        for (opts, names) in cases {
            let mut c = env.ironpen_cmd(v, &opts, &[&env.probe(), "exit", "0"]);
            c.current_dir(&cwd).env("TMPDIR", &tmpdir);
            let out = run_cmd(c, RUN_TIMEOUT);
            let lines: Vec<&str> = out.stderr.lines().collect();
            let mut why = Vec::new();
            if out.code != Some(125) {
                why.push(format!("exit {:?}, not 125", out.code));
            }
            if lines.len() != 1 {
                why.push(format!("stderr has {} lines, not 1", lines.len()));
            }
            if !lines.first().is_some_and(|l| l.starts_with("ironpen: ")) {
                why.push("stderr does not start with `ironpen: `".into());
            }
            if !lines.first().is_some_and(|l| l.contains(names)) {
                why.push(format!("the first line does not name {names:?}"));
            }
            if !out.stdout.is_empty() {
                why.push("the command ran".into());
            }
            for d in [&cwd, &tmpdir] {
                let left: Vec<_> = std::fs::read_dir(d)
                    .expect("read private dir")
                    .flatten()
                    .map(|e| e.file_name())
                    .collect();
                if !left.is_empty() {
                    why.push(format!("left {left:?} in {}", d.display()));
                }
            }
            if !why.is_empty() {
                problems.push(format!(
                    "[{}] {opts:?}: {}\n    stderr: {:?}",
                    v.name(),
                    why.join("; "),
                    out.stderr
                ));
            }
            env.assert_clean();
        }
        assert!(
            problems.is_empty(),
            "bad input handled wrongly:\n{}",
            problems.join("\n")
        );
    });
}

/// When the program exits, whatever it left running in the background dies with the jail and
/// ironpen does not wait for it.
#[test]
fn background_processes_die_with_the_program() {
    each_variant("background_processes_die", |env, v| {
        let script = format!("{} sleep 30 >/dev/null 2>&1 & exit 7", env.probe());
        let mut c = env.ironpen_cmd(v, &[], &["/bin/sh", "-c", &script]);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let started = std::time::Instant::now();
        let out = wait_child(
            c.spawn().expect("spawn ironpen"),
            Duration::from_secs(20),
            "ironpen",
        );
        assert_eq!(out.code, Some(7), "[{}] {out:?}", v.name());
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "[{}] ironpen waited for the background sleep ({:?})",
            v.name(),
            started.elapsed()
        );
        // Already gone when ironpen returns (the jail's init kills and reaps everything before
        // it reports the status), not merely soon after.
        let probes: Vec<_> = env
            .leftover_processes()
            .into_iter()
            .filter(|(_, cmdline)| cmdline.starts_with(&env.probe()))
            .collect();
        assert!(
            probes.is_empty(),
            "[{}] still running: {probes:?}",
            v.name()
        );
        env.assert_no_processes(Duration::from_secs(3));
    });
}

/// --strict on a machine that supports everything the default jail asks for still runs.
#[test]
fn strict_default_jail_runs() {
    each_variant("strict_default_jail_runs", |env, v| {
        let out = env.run(v, &["--strict"], &[&env.probe(), "exit", "0"]);
        assert_eq!(out.code, Some(0), "[{}] --strict: {out:?}", v.name());
    });
}

// FINDING (main 6e78e06): flaky under load (e.g. 4 copies of this test at once, or nextest with
// the whole suite): the program has started (it printed "ready" after blocking the signals) yet
// ironpen exits 128+N with empty stdout, e.g. `[root] SIGQUIT: Outcome { code: Some(131),
// stdout: "", stderr: "" }`. In spawn.rs `supervise`, one poll round can find both the signalfd
// and the sync socket (carrying the Report that sets `started`) readable; signals are handled
// first, so a signal that arrives after the program started is taken for a setup-time signal
// and the jail is SIGKILLed (ABORTS_SETUP) instead of the signal being forwarded.
/// Every signal ironpen forwards (HUP INT QUIT USR1 USR2 TERM WINCH) reaches the program as that
/// signal: the probe blocks them, reports the first to arrive and exits 0.
#[test]
fn every_forwarded_signal_reaches_the_program() {
    each_variant("every_forwarded_signal", |env, v| {
        let sigs = [
            ("HUP", 1),
            ("INT", 2),
            ("QUIT", 3),
            ("USR1", 10),
            ("USR2", 12),
            ("TERM", 15),
            ("WINCH", 28),
        ];
        for (sig, n) in sigs {
            let mut c = env.ironpen_cmd(v, &[], &[&env.probe(), "wait-signal", "20"]);
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = c.spawn().expect("spawn ironpen");
            let mut err = BufReader::new(child.stderr.take().expect("stderr"));
            let mut line = String::new();
            err.read_line(&mut line)
                .expect("read the probe's ready line");
            assert_eq!(line.trim(), "wait-signal: ready", "[{}] {line:?}", v.name());
            send_signal(child.id(), sig);
            let o = wait_child(child, Duration::from_secs(25), "ironpen wait-signal");
            assert_eq!(o.code, Some(0), "[{}] SIG{sig}: {o:?}", v.name());
            let r = o.json_line();
            assert_eq!(
                r["signal"],
                serde_json::Value::from(n),
                "[{}] SIG{sig} forwarded as: {r}",
                v.name()
            );
        }
    });
}

/// Many jails at once (as the same user) do not get in each other's way: each exits 0 with its
/// own hostname and pid namespace, and nothing is left behind. (Namespace inode numbers are not
/// compared: the kernel reuses them once a jail that finished early has freed its namespace.)
#[test]
fn concurrent_jails_are_independent() {
    each_variant("concurrent_jails_are_independent", |env, v| {
        let children: Vec<_> = (0..12)
            .map(|i| {
                let mut c = env.ironpen_cmd(
                    v,
                    &["--hostname", &format!("jail{i}")],
                    &[&env.probe(), "status"],
                );
                c.stdout(Stdio::piped()).stderr(Stdio::piped());
                c.spawn().expect("spawn ironpen")
            })
            .collect();
        for (i, child) in children.into_iter().enumerate() {
            let out = wait_child(child, Duration::from_secs(30), "concurrent ironpen");
            assert_eq!(out.code, Some(0), "[{}] jail {i}: {out:?}", v.name());
            let st = out.json_line();
            assert_eq!(
                s(&st, "hostname"),
                format!("jail{i}"),
                "[{}] {st}",
                v.name()
            );
            assert!(
                st["pid"].as_u64().is_some_and(|p| p <= 3),
                "[{}] jail {i} is not in its own pid namespace: {st}",
                v.name()
            );
        }
    });
}
