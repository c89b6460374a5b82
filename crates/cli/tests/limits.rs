//! cgroup limits end to end (docs/limits.md): a fork loop stops at `--pids`, a program touching
//! more than `--memory` is OOM-killed while a smaller one runs, `--cpu-percent` is visible in the
//! jail's cgroup from outside while it runs, a policy's [limits] drives a real jail, and the
//! jail's cgroups are gone after every run (normal exit, killed program, signalled ironpen,
//! setup error, refused limit). As root, and as uid 65534 with a cgroup directory delegated to
//! it (created by the test as root inside the test's own cgroup, `--cgroup-parent`); without
//! delegation uid 65534 is refused with one clear line.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::chown;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

/// The test's own cgroup directory in every hierarchy that can carry a limit (memory, pids,
/// cpu in v1; the v2 cgroup). ironpen, started by the test, is in the same ones.
fn own_dirs() -> Vec<PathBuf> {
    let cg = ironpen_jail::features::cgroups();
    let mut out: Vec<PathBuf> = cg
        .v1_controllers
        .iter()
        .filter(|c| ["memory", "pids", "cpu"].contains(&c.name.as_str()))
        .map(|c| c.mount.join(c.path.trim_start_matches('/')))
        .collect();
    if let (Some(m), Some(p)) = (&cg.v2_mount, &cg.v2_path) {
        out.push(m.join(p.trim_start_matches('/')));
    }
    out.dedup();
    out
}

/// Are memory, pids and cpu all available to root here? (Otherwise the limit tests skip.)
fn controllers_present(test: &str) -> bool {
    let cg = ironpen_jail::features::cgroups();
    let missing: Vec<&str> = ["memory", "pids", "cpu"]
        .into_iter()
        .filter(|c| {
            !cg.v1_controllers.iter().any(|v| v.name == *c)
                && !cg.v2_controllers.iter().any(|v| v == c)
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    skip(test, &format!("no cgroup controller for {missing:?}"));
    false
}

/// A cgroup directory delegated to uid 65534: created by root inside the test's own cgroup in
/// each hierarchy, owned by 65534 (with its cgroup.procs/tasks). Removed on drop.
struct Delegated {
    name: String,
    dirs: Vec<PathBuf>,
}

impl Delegated {
    fn new(id: &str) -> Delegated {
        let name = format!("{id}-deleg");
        let mut d = Delegated {
            name: name.clone(),
            dirs: Vec::new(),
        };
        for own in own_dirs() {
            let dir = own.join(&name);
            std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
            d.dirs.push(dir.clone());
            for p in [dir.clone(), dir.join("cgroup.procs"), dir.join("tasks")] {
                if p.exists() {
                    chown(&p, Some(NOBODY), Some(NOBODY))
                        .unwrap_or_else(|e| panic!("chown {}: {e}", p.display()));
                }
            }
        }
        d
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        for dir in self.dirs.iter().rev() {
            let deadline = Instant::now() + Duration::from_secs(3);
            while std::fs::remove_dir(dir).is_err() && dir.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Options that let `v` use limits: as uid 65534, a delegated parent (kept alive by the caller).
fn deleg_for(env: &TestEnv, v: Variant) -> Option<Delegated> {
    (v == Variant::Nobody).then(|| Delegated::new(&env.id))
}

fn with_parent<'a>(opts: &[&'a str], d: &'a Option<Delegated>) -> Vec<&'a str> {
    let mut o = opts.to_vec();
    if let Some(d) = d {
        o.extend(["--cgroup-parent", d.name.as_str()]);
    }
    o
}

/// Run ironpen; also return its pid (its jail cgroups are named `ironpen-<pid>-<n>`).
fn run_pid(env: &TestEnv, v: Variant, opts: &[&str], cmd: &[&str]) -> (u32, Outcome) {
    let mut c = env.ironpen_cmd(v, opts, cmd);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().expect("spawn ironpen");
    let pid = child.id();
    (pid, wait_child(child, RUN_TIMEOUT, "ironpen run"))
}

/// No cgroup of ironpen `pid` is left in the test's own cgroups (or the delegated parent).
#[track_caller]
fn assert_no_jail_cgroups(pid: u32, d: &Option<Delegated>) {
    let prefix = format!("ironpen-{pid}-");
    let mut bases = own_dirs();
    if let Some(d) = d {
        bases.extend(d.dirs.iter().cloned());
    }
    for b in bases {
        let left: Vec<String> = std::fs::read_dir(&b)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(&prefix))
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "left behind in {}: {left:?}", b.display());
    }
}

/// The cgroup directories the report names: `(feature, path)`.
fn report_paths(stderr: &str) -> Vec<(String, PathBuf)> {
    stderr
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once(": cgroup v")?;
            let path = rest.split_whitespace().nth(1)?;
            let feature = l.split_whitespace().next()?;
            Some((feature.to_string(), PathBuf::from(path)))
        })
        .collect()
}

const FORK_LOOP: &str = "while :; do sleep 5 & echo started; done";

fn started(out: &Outcome) -> usize {
    out.stdout.lines().filter(|l| *l == "started").count()
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    if !controllers_present("pids_limit_stops_a_fork_loop") {
        return;
    }
    each_variant("pids_limit_stops_a_fork_loop", |env, v| {
        let d = deleg_for(env, v);
        let (pid, out) = run_pid(
            env,
            v,
            &with_parent(&["--pids", "8", "--report"], &d),
            &["sh", "-c", FORK_LOOP],
        );
        // 8 = the jail's init + the shell + 6 background sleeps; the 7th fork fails (EAGAIN),
        // and dash gives up with "Cannot fork" (status 2).
        assert_eq!(started(&out), 6, "[{}] {out:?}", v.name());
        assert_eq!(out.code, Some(2), "[{}] {out:?}", v.name());
        assert!(out.stderr.contains("Cannot fork"), "{}", out.stderr);
        let paths = report_paths(&out.stderr);
        assert_eq!(paths.len(), 1, "{}", out.stderr);
        assert_eq!(paths[0].0, "pids");
        if let Some(d) = &d {
            assert!(
                d.dirs.iter().any(|p| paths[0].1.parent() == Some(p)),
                "{paths:?} not below the delegated {:?}",
                d.dirs
            );
        }
        assert!(!paths[0].1.exists(), "{} not removed", paths[0].1.display());
        assert_no_jail_cgroups(pid, &d);
    });
}

#[test]
fn memory_limit_kills_an_overrun_and_spares_a_small_program() {
    if !controllers_present("memory_limit") {
        return;
    }
    // dash keeps a command substitution's whole output in memory: N bytes of 'a'.
    let hog = |n: u64| format!("x=$(head -c {n} /dev/zero | tr '\\0' a); echo kept ${{#x}}");
    each_variant("memory_limit", |env, v| {
        let d = deleg_for(env, v);
        let opts = with_parent(&["--memory", "32M", "--report"], &d);
        let big = hog(100_000_000);
        let (pid, out) = run_pid(env, v, &opts, &["sh", "-c", &big]);
        assert!(
            out.code == Some(137) || (out.code != Some(0) && !out.stdout.contains("kept")),
            "[{}] 100 MB under a 32M limit must be killed or refused: {out:?}",
            v.name()
        );
        assert!(
            out.stderr.contains("memory=33554432: cgroup v"),
            "{}",
            out.stderr
        );
        assert_no_jail_cgroups(pid, &d);

        let small = hog(4_000_000);
        let (pid, out) = run_pid(env, v, &opts, &["sh", "-c", &small]);
        assert_eq!(out.code, Some(0), "[{}] {out:?}", v.name());
        assert_eq!(out.stdout.trim(), "kept 4000000");
        assert_no_jail_cgroups(pid, &d);
    });
}

/// Read stderr lines of a running ironpen until the report's `feature` line (with a timeout).
fn wait_for_report_line(
    child: &mut std::process::Child,
    feature: &str,
) -> (String, std::thread::JoinHandle<String>) {
    let err = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let deadline = Instant::now() + RUN_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.trim_start().starts_with(&format!("{feature} ")) => {
                return (line, reader)
            }
            Ok(_) => {}
            Err(e) => panic!("no `{feature}` report line from ironpen: {e}"),
        }
    }
}

/// Wait (at most RUN_TIMEOUT) for a guarded ironpen; its exit code.
fn wait_guard(g: &mut ChildGuard) -> Option<i32> {
    let deadline = Instant::now() + RUN_TIMEOUT;
    loop {
        match g.0.try_wait() {
            Ok(Some(st)) => return st.code(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            other => panic!("ironpen did not end in time: {other:?}"),
        }
    }
}

#[test]
fn cpu_percent_is_visible_in_the_cgroup_while_running() {
    if !controllers_present("cpu_percent") {
        return;
    }
    each_variant("cpu_percent", |env, v| {
        let d = deleg_for(env, v);
        let opts = with_parent(&["--cpu-percent", "25", "--pids", "20", "--report"], &d);
        let mut c = env.ironpen_cmd(v, &opts, &["sleep", "3"]);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut guard = ChildGuard(c.spawn().expect("spawn ironpen"));
        let pid = guard.pid();
        let (line, reader) = wait_for_report_line(&mut guard.0, "cpu");
        let paths = report_paths(&line);
        let dir = &paths[0].1;
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).map(|s| s.trim().to_string());
        match read("cpu.max") {
            Ok(max) => assert_eq!(max, "25000 100000"),
            Err(_) => {
                assert_eq!(read("cpu.cfs_quota_us").unwrap(), "25000");
                assert_eq!(read("cpu.cfs_period_us").unwrap(), "100000");
            }
        }
        // The jail (its init and the sleep) runs inside, ironpen itself does not.
        let procs = read("cgroup.procs").unwrap();
        let members: Vec<&str> = procs.lines().collect();
        assert!(!members.is_empty(), "nothing in {}", dir.display());
        assert!(!members.contains(&pid.to_string().as_str()));
        let code = wait_guard(&mut guard);
        let stderr = reader.join().unwrap_or_default();
        assert_eq!(code, Some(0), "[{}] {stderr}", v.name());
        assert!(!dir.exists(), "{} not removed", dir.display());
        assert_no_jail_cgroups(pid, &d);
    });
}

#[test]
fn cgroups_are_removed_after_signals_and_errors() {
    if !controllers_present("cgroups_removed") {
        return;
    }
    each_variant("cgroups_removed", |env, v| {
        let d = deleg_for(env, v);
        let opts = with_parent(&["--pids", "16", "--memory", "64M", "--report"], &d);
        // The program kills itself.
        let (pid, out) = run_pid(env, v, &opts, &["sh", "-c", "kill -KILL $$"]);
        assert_eq!(out.code, Some(137), "[{}] {out:?}", v.name());
        assert_eq!(report_paths(&out.stderr).len(), 2, "{}", out.stderr);
        assert_no_jail_cgroups(pid, &d);

        // ironpen is sent SIGTERM while the program runs.
        let mut c = env.ironpen_cmd(v, &opts, &["sleep", "30"]);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut guard = ChildGuard(c.spawn().expect("spawn ironpen"));
        let pid = guard.pid();
        let (_, reader) = wait_for_report_line(&mut guard.0, "pids");
        std::thread::sleep(Duration::from_millis(100));
        send_signal(pid, "TERM");
        let code = wait_guard(&mut guard);
        let stderr = reader.join().unwrap_or_default();
        assert_eq!(code, Some(143), "[{}] {stderr}", v.name());
        assert_no_jail_cgroups(pid, &d);

        // A setup error inside the jail (the program does not exist).
        let (pid, out) = run_pid(env, v, &opts, &["/no/such/program"]);
        assert_eq!(out.code, Some(127), "[{}] {out:?}", v.name());
        assert_no_jail_cgroups(pid, &d);
    });
}

#[test]
fn unenforceable_limit_is_refused_and_leaves_nothing() {
    if !controllers_present("unenforceable_limit") {
        return;
    }
    each_variant("unenforceable_limit", |env, v| {
        // Root: a parent that does not exist. uid 65534: no delegation at all.
        let opts: Vec<&str> = match v {
            Variant::Root => vec!["--pids", "8", "--cgroup-parent", "no-such-parent"],
            _ => vec!["--pids", "8"],
        };
        let (pid, out) = run_pid(env, v, &opts, &["true"]);
        assert_eq!(out.code, Some(125), "[{}] {out:?}", v.name());
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {}", out.stderr);
        let l = lines[0];
        assert!(l.starts_with("ironpen: cgroup pids=8 (mkdir /"), "{l}");
        assert!(l.contains(&format!("/ironpen-{pid}-")), "{l}");
        let errno = if v == Variant::Root {
            "(errno 2)"
        } else {
            "(errno 13)"
        };
        assert!(l.contains(errno), "{l}");
        if v != Variant::Root {
            assert!(l.contains("--cgroup-parent"), "{l}");
        }
        assert_no_jail_cgroups(pid, &None);
    });
}

#[test]
fn policy_limits_drive_a_real_jail() {
    if !controllers_present("policy_limits") {
        return;
    }
    each_variant("policy_limits", |env, v| {
        let d = deleg_for(env, v);
        let policy = env.dir.join("limits.toml");
        std::fs::write(
            &policy,
            "include = [\"@default\"]\n[limits]\npids = 8\nmemory = \"64M\"\ncpu_percent = 50\n",
        )
        .unwrap();
        set_mode(&policy, 0o644);
        let p = policy.to_string_lossy().into_owned();
        let (pid, out) = run_pid(
            env,
            v,
            // Fully enforced limits pass --strict.
            &with_parent(&["--policy", &p, "--report", "--strict"], &d),
            &["sh", "-c", FORK_LOOP],
        );
        assert_eq!(started(&out), 6, "[{}] {out:?}", v.name());
        let features: Vec<String> = report_paths(&out.stderr).into_iter().map(|x| x.0).collect();
        assert_eq!(features, ["memory", "pids", "cpu"], "{}", out.stderr);
        assert!(out.stderr.contains("cpu_percent=50"), "{}", out.stderr);
        assert_no_jail_cgroups(pid, &d);

        // The command line is the last layer.
        let (pid, out) = run_pid(
            env,
            v,
            &with_parent(&["--policy", &p, "--pids", "5"], &d),
            &["sh", "-c", FORK_LOOP],
        );
        assert_eq!(started(&out), 3, "[{}] {out:?}", v.name());
        assert_no_jail_cgroups(pid, &d);
    });
}

#[test]
fn print_plan_shows_the_limits() {
    each_variant("print_plan_limits", |env, v| {
        let out = env.run(
            v,
            &[
                "--print-plan",
                "--memory",
                "1G",
                "--pids",
                "5",
                "--cpu-percent",
                "30",
            ],
            &["true"],
        );
        assert_eq!(out.code, Some(0), "{out:?}");
        let plan = parse_json(&out.stdout);
        assert_eq!(plan["limits"]["memory"], 1u64 << 30);
        assert_eq!(plan["limits"]["pids"], 5);
        assert_eq!(plan["limits"]["cpu_percent"], 30);
    });
}

#[test]
fn bad_limits_are_rejected_naming_the_argument() {
    let ncpu = ironpen_jail::cgroup::cpu_count();
    let too_much = (100 * ncpu + 1).to_string();
    each_variant("bad_limits", |env, v| {
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (vec!["--memory", "12Q"], "--memory 12Q: unknown size suffix"),
            (vec!["--memory", "lots"], "--memory lots: expected a size"),
            (
                vec!["--memory", "1K"],
                "--memory 1K: 1024 bytes is below the minimum",
            ),
            (
                vec!["--memory", "99999999999T"],
                "--memory 99999999999T: size is too large",
            ),
            (vec!["--pids", "0"], "--pids 0: must be at least 1"),
            (vec!["--pids=-3"], "--pids -3: expected a whole number"),
            (
                vec!["--pids", "many"],
                "--pids many: expected a whole number",
            ),
            (vec!["--cpu-percent", "0"], "--cpu-percent 0: must be 1 to"),
            (vec!["--cpu-percent", &too_much], "must be 1 to"),
            (
                vec!["--pids", "4", "--cgroup-parent", "../x"],
                "--cgroup-parent ../x:",
            ),
            (
                vec!["--pids", "4", "--cgroup-parent", "/sys/fs/cgroup"],
                "relative path",
            ),
            (vec!["--cgroup-parent", "x"], "given without a limit"),
        ];
        for (opts, want) in cases {
            let out = env.run(v, &opts, &["true"]);
            assert_eq!(out.code, Some(125), "{opts:?}: {out:?}");
            let line = out.stderr.trim();
            assert_eq!(line.lines().count(), 1, "{opts:?}: {line}");
            assert!(line.starts_with("ironpen: "), "{line}");
            assert!(line.contains(want), "{opts:?}: want {want:?} in {line}");
            assert!(out.stdout.is_empty(), "nothing ran: {}", out.stdout);
        }
        // Policy files: file, field, value and reason.
        for (body, want) in [
            (
                "memory = \"12Q\"",
                "limits.memory = \"12Q\": unknown size suffix",
            ),
            ("pids = 0", "limits.pids = 0: must be at least 1"),
            ("cpu_percent = 0", "limits.cpu_percent = 0: must be 1 to"),
            (
                &*format!("cpu_percent = {too_much}"),
                &*format!(
                    "limits.cpu_percent = {too_much}: must be 1 to {}",
                    100 * ncpu
                ),
            ),
        ] {
            let p = env.dir.join("bad.toml");
            std::fs::write(&p, format!("include = [\"@default\"]\n[limits]\n{body}\n")).unwrap();
            set_mode(&p, 0o644);
            let ps = p.to_string_lossy().into_owned();
            let out = env.run(v, &["--policy", &ps], &["true"]);
            assert_eq!(out.code, Some(125), "{body}: {out:?}");
            let line = out.stderr.trim();
            assert_eq!(line.lines().count(), 1, "{body}: {line}");
            assert!(line.contains(&format!("{ps}: {want}")), "{body}: {line}");
        }
    });
}
