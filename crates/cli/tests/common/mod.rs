//! Shared helpers for the end-to-end jail tests: locate and stage the binaries, run `ironpen run`
//! as root and as uid/gid 65534, parse the probe's JSON line, and check after every test that
//! nothing was left behind (mounts under the test's directory, processes naming its id).
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

mod bin;

/// Longest a single jail run may take before the test kills it and fails (gcc under load is the
/// slowest case; a hung jail must not stall the suite for minutes).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// Host uid/gid that an unprivileged test variant runs as ("nobody" on Debian).
pub const NOBODY: u32 = 65534;

/// Who runs `ironpen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The test process is root and runs ironpen as root.
    Root,
    /// ironpen runs as uid/gid 65534 (the test process is root and drops privileges).
    Nobody,
    /// The test process is not root: ironpen runs as the current user.
    CurrentUser { uid: u32, gid: u32 },
}

impl Variant {
    pub fn name(&self) -> &'static str {
        match self {
            Variant::Root => "root",
            Variant::Nobody => "uid 65534",
            Variant::CurrentUser { .. } => "current user",
        }
    }
    /// uid and gid the jailed program sees by default.
    pub fn inner_ids(&self) -> (u32, u32) {
        match *self {
            Variant::Root => (0, 0),
            Variant::Nobody => (NOBODY, NOBODY),
            Variant::CurrentUser { uid, gid } => (uid, gid),
        }
    }
    /// Host uid/gid that files written by the jail into a `--bind` directory get.
    pub fn host_ids(&self) -> (u32, u32) {
        match *self {
            Variant::Root | Variant::Nobody => (NOBODY, NOBODY),
            Variant::CurrentUser { uid, gid } => (uid, gid),
        }
    }
    /// Make `cmd` run as this variant's user.
    pub fn apply(&self, cmd: &mut Command) {
        if *self == Variant::Nobody {
            cmd.uid(NOBODY).gid(NOBODY);
        }
    }
}

pub fn current_ids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let field = |k: &str| -> u32 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {k} in /proc/self/status"))
    };
    (field("Uid:"), field("Gid:"))
}

pub fn is_root() -> bool {
    current_ids().0 == 0
}

/// A test that needs something the machine lacks: print why and return, unless the CI says
/// (IRONPEN_TEST_REQUIRE) that every test must really run.
pub fn skip(test: &str, reason: &str) {
    if let Ok(req) = std::env::var("IRONPEN_TEST_REQUIRE") {
        if !req.is_empty() {
            panic!("{test}: would skip ({reason}), but IRONPEN_TEST_REQUIRE={req} forbids skips");
        }
    }
    eprintln!("SKIP {test}: {reason}");
}

/// Can `variant` create a user namespace on this machine? (Rootless jails need it.)
fn userns_works(variant: Variant) -> Result<(), String> {
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "true"]);
    variant.apply(&mut cmd);
    match cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "`unshare --user` as {} fails: {}",
            variant.name(),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("cannot run unshare(1): {e}")),
    }
}

/// The variants this test process can exercise: root and 65534 when we are root, else only the
/// current user. Variants the machine cannot support are skipped with a reason.
pub fn variants(test: &str) -> Vec<Variant> {
    let candidates = if is_root() {
        vec![Variant::Root, Variant::Nobody]
    } else {
        let (uid, gid) = current_ids();
        vec![Variant::CurrentUser { uid, gid }]
    };
    // IRONPEN_TEST_VARIANTS=root or =nobody narrows the run (for debugging one side).
    let only = std::env::var("IRONPEN_TEST_VARIANTS").unwrap_or_default();
    let mut out = Vec::new();
    for v in candidates {
        let key = match v {
            Variant::Root => "root",
            Variant::Nobody => "nobody",
            Variant::CurrentUser { .. } => "user",
        };
        if !only.is_empty() && !only.split(',').any(|o| o.trim() == key) {
            eprintln!("{test}: variant {key} not selected by IRONPEN_TEST_VARIANTS={only}");
            continue;
        }
        if v == Variant::Root {
            out.push(v);
            continue;
        }
        match userns_works(v) {
            Ok(()) => out.push(v),
            Err(why) => skip(&format!("{test} [{}]", v.name()), &why),
        }
    }
    out
}

/// Run `f` once per variant, each with its own fresh environment, checking clean-up after each.
pub fn each_variant(test: &str, f: impl Fn(&TestEnv, Variant)) {
    for v in variants(test) {
        eprintln!("--- {test} [{}]", v.name());
        let env = TestEnv::new(test);
        f(&env, v);
        env.assert_clean();
    }
}

/// The freshly built `ironpen` and `ironpen-probe`. `IRONPEN_TEST_BIN=/path/to/ironpen` tests
/// another build of ironpen (e.g. the release binary); the probe always comes from this build.
pub fn built_binaries() -> (PathBuf, PathBuf) {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_ironpen"));
    let ironpen = bin::ironpen();
    let probe = built
        .parent()
        .expect("ironpen binary has a parent directory")
        .join("ironpen-probe");
    assert!(
        probe.is_file(),
        "the jail tests need the probe binary at {}; build it first with \
         `cargo build --workspace` (or `cargo build -p ironpen-probe`)",
        probe.display()
    );
    (ironpen, probe)
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One test's private world on the host: a 0755 directory under /tmp named by a unique id,
/// holding copies of the binaries (bin/, bound read-only into the jail at `/<id>`), a marker
/// file that must never be visible from inside, and any work directories. Dropping it kills
/// leftover processes, unmounts leftover mounts and removes the directory, even on panic.
pub struct TestEnv {
    pub id: String,
    pub dir: PathBuf,
    pub bin: PathBuf,
    /// Exists on the host only; a jail that can see it has escaped.
    pub marker: PathBuf,
}

impl TestEnv {
    pub fn new(test: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let short: String = test
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(16)
            .collect();
        let id = format!("ipt-{short}-{}-{n}-{nanos:x}", std::process::id());
        let dir = PathBuf::from("/tmp").join(&id);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        set_mode(&dir, 0o755);
        let bin = dir.join("bin");
        std::fs::create_dir(&bin).unwrap_or_else(|e| panic!("mkdir {}: {e}", bin.display()));
        set_mode(&bin, 0o755);
        let (ironpen, probe) = built_binaries();
        for (src, name) in [(&ironpen, "ironpen"), (&probe, "ironpen-probe")] {
            stage_binary(src, &bin.join(name));
        }
        let marker = dir.join(format!("host-marker-{id}"));
        std::fs::write(&marker, b"host only\n").expect("write marker");
        TestEnv {
            id,
            dir,
            bin,
            marker,
        }
    }

    /// Replace the staged binaries with private copies (e.g. before changing their owner: the
    /// staged files may be hard links to the build output).
    pub fn private_copies(&self) {
        for name in ["ironpen", "ironpen-probe"] {
            let p = self.bin.join(name);
            let tmp = self.bin.join(format!(".{name}.copy"));
            std::fs::copy(&p, &tmp).unwrap_or_else(|e| panic!("copy {}: {e}", p.display()));
            set_mode(&tmp, 0o755);
            std::fs::rename(&tmp, &p).unwrap_or_else(|e| panic!("rename to {}: {e}", p.display()));
        }
    }

    pub fn ironpen(&self) -> PathBuf {
        self.bin.join("ironpen")
    }
    /// The probe on the host (for host-side helper actions).
    pub fn host_probe(&self) -> PathBuf {
        self.bin.join("ironpen-probe")
    }
    /// Where bin/ appears inside the jail.
    pub fn inner_bin(&self) -> String {
        format!("/{}", self.id)
    }
    /// The probe's path inside the jail. It contains the id, so a leftover jail process is
    /// recognisable on the host by its command line.
    pub fn probe(&self) -> String {
        format!("/{}/ironpen-probe", self.id)
    }

    /// A directory under the test dir, writable by the jail's host ids for `v`.
    pub fn work_dir(&self, name: &str, v: Variant) -> PathBuf {
        let d = self.dir.join(name);
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
        set_mode(&d, 0o755);
        if is_root() {
            let (u, g) = v.host_ids();
            chown(&d, Some(u), Some(g)).unwrap_or_else(|e| panic!("chown {}: {e}", d.display()));
        }
        d
    }

    /// `ironpen run <opts> --ro-bind BIN /<id> -- <cmd>` as `v`, not yet spawned.
    pub fn ironpen_cmd(&self, v: Variant, opts: &[&str], cmd: &[&str]) -> Command {
        let mut c = Command::new(self.ironpen());
        c.arg("run");
        c.args(opts);
        c.arg("--ro-bind").arg(&self.bin).arg(self.inner_bin());
        c.arg("--");
        c.args(cmd);
        v.apply(&mut c);
        c.stdin(Stdio::null());
        c.current_dir("/");
        c
    }

    /// Run `ironpen run ... -- CMD` and collect its output.
    pub fn run(&self, v: Variant, opts: &[&str], cmd: &[&str]) -> Outcome {
        let c = self.ironpen_cmd(v, opts, cmd);
        run_cmd(c, RUN_TIMEOUT)
    }

    /// Run the probe with `action` in a jail with `opts`; it must exit 0 and print one JSON line.
    pub fn probe_in(&self, v: Variant, opts: &[&str], action: &[&str]) -> Value {
        let probe = self.probe();
        let mut cmd: Vec<&str> = vec![&probe];
        cmd.extend_from_slice(action);
        let out = self.run(v, opts, &cmd);
        assert_eq!(
            out.code,
            Some(0),
            "[{}] probe {action:?} with {opts:?}: ironpen exited {:?}\nstdout: {}\nstderr: {}",
            v.name(),
            out.status,
            out.stdout,
            out.stderr
        );
        out.json_line()
    }

    /// The probe in a default jail.
    pub fn probe_default(&self, v: Variant, action: &[&str]) -> Value {
        self.probe_in(v, &[], action)
    }

    /// Processes on the host whose command line names this test's id (ironpen, the jail's init
    /// and everything run from /<id>/ironpen-probe). Excludes the test process itself.
    pub fn leftover_processes(&self) -> Vec<(u32, String)> {
        let me = std::process::id();
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir("/proc") else {
            return out;
        };
        for e in rd.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if pid == me {
                continue;
            }
            let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
                continue;
            };
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            if cmdline.contains(&self.id) {
                // A zombie we have not reaped yet is not a leftover of the jail.
                let state = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
                let zombie = state
                    .rsplit_once(')')
                    .map(|(_, r)| r.trim_start().starts_with('Z'))
                    .unwrap_or(false);
                if !zombie {
                    out.push((pid, cmdline.trim().to_string()));
                }
            }
        }
        out
    }

    /// Mounts in our mount namespace at or under this test's directory.
    pub fn leftover_mounts(&self) -> Vec<String> {
        let dir = self.dir.to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split(' ').nth(4).is_some_and(|mp| mp.starts_with(&dir)))
            .map(str::to_string)
            .collect()
    }

    /// Wait (briefly: teardown is asynchronous after SIGKILL) until no process of this test is
    /// left; panic with the list otherwise.
    pub fn assert_no_processes(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let left = self.leftover_processes();
            if left.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                panic!("leftover processes of {}: {left:?}", self.id);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn assert_clean(&self) {
        self.assert_no_processes(Duration::from_secs(3));
        let mounts = self.leftover_mounts();
        assert!(
            mounts.is_empty(),
            "leftover mounts under {}: {mounts:#?}",
            self.dir.display()
        );
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        for (pid, _) in self.leftover_processes() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let mut mounts: Vec<String> = self
            .leftover_mounts()
            .iter()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = Command::new("umount")
                .args(["-l", &m])
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Put `src` at `dst` so that uid 65534 can run it: a hard link when the build output is already
/// world-executable and on the same file system (cheap: debug binaries are large), else a copy.
fn stage_binary(src: &Path, dst: &Path) {
    use std::os::unix::fs::MetadataExt;
    let world_exec = std::fs::metadata(src)
        .map(|m| m.mode() & 0o005 == 0o005)
        .unwrap_or(false);
    if world_exec && std::fs::hard_link(src, dst).is_ok() {
        return;
    }
    std::fs::copy(src, dst)
        .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", src.display(), dst.display()));
    set_mode(dst, 0o755);
}

pub fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", p.display()));
}

/// A finished command.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    /// Exit code; None if the process itself was killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// The only JSON line of stdout (panics if there is not exactly one).
    pub fn json_line(&self) -> Value {
        let lines: Vec<&str> = self
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one JSON line on stdout, got: {:?} (stderr: {})",
            self.stdout,
            self.stderr
        );
        parse_json(lines[0])
    }
    /// All JSON lines of stdout, in order.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| l.trim())
            .filter(|l| l.starts_with('{'))
            .map(parse_json)
            .collect()
    }
}

pub fn parse_json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
}

/// Spawn `cmd` with piped stdout/stderr, wait at most `timeout` (then kill it and panic).
pub fn run_cmd(mut cmd: Command, timeout: Duration) -> Outcome {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
    wait_child(child, timeout, &format!("{cmd:?}"))
}

/// Wait for a child whose stdout/stderr are pipes, with a timeout.
pub fn wait_child(mut child: Child, timeout: Duration, what: &str) -> Outcome {
    let mut so = child.stdout.take();
    let mut se = child.stderr.take();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(o) = so.as_mut() {
            let _ = o.read_to_end(&mut s);
        }
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(o) = se.as_mut() {
            let _ = o.read_to_end(&mut s);
        }
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("timed out after {timeout:?}: {what}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("wait {what}: {e}"),
        }
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    Outcome {
        code: status.code(),
        status,
        stdout,
        stderr,
    }
}

/// A host process that is killed when the guard drops.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
    /// Still running (not exited, not a zombie)?
    pub fn alive(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Send a signal to a host process (by number or name, as kill(1) takes it).
pub fn send_signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .expect("run kill(1)");
    assert!(st.success(), "kill -{sig} {pid} failed");
}

/// The field `k` of a probe result as &str ("" if absent).
pub fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

#[track_caller]
/// Assert a probe result's `ok` field.
pub fn assert_ok(v: &Value, expected: bool, ctx: &str) {
    assert_eq!(
        v.get("ok"),
        Some(&Value::Bool(expected)),
        "{ctx}: expected ok={expected}, probe said {v}"
    );
}

/// Path of an executable on the host, if installed (searched in /usr only: the jail sees /usr).
pub fn host_tool(name: &str) -> Option<String> {
    for d in ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
        let p = format!("{d}/{name}");
        if Path::new(&p).is_file() {
            return Some(p);
        }
    }
    None
}

/// The machine's hostname as the host sees it.
pub fn host_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("read /proc/sys/kernel/hostname")
        .trim()
        .to_string()
}

/// Run the probe directly on the host (a positive control, or a host-side helper).
pub fn host_probe(env: &TestEnv, v: Variant, args: &[&str]) -> Outcome {
    let mut c = Command::new(env.host_probe());
    c.args(args);
    v.apply(&mut c);
    c.stdin(Stdio::null());
    c.current_dir("/");
    run_cmd(c, RUN_TIMEOUT)
}

/// Run `ironpen-probe HELPER... -- ironpen run OPTS --ro-bind BIN /<id> -- CMD` on the host as
/// `v`: the helper prepares state (a session keyring, an inherited fd), prints its JSON line and
/// execs ironpen. Returns the outcome; stdout holds the helper's line, then the jail's.
pub fn run_wrapped(
    env: &TestEnv,
    v: Variant,
    helper: &[&str],
    opts: &[&str],
    cmd: &[&str],
) -> Outcome {
    let mut c = Command::new(env.host_probe());
    c.args(helper);
    c.arg("--").arg(env.ironpen()).arg("run");
    c.args(opts);
    c.arg("--ro-bind").arg(&env.bin).arg(env.inner_bin());
    c.arg("--");
    c.args(cmd);
    v.apply(&mut c);
    c.stdin(Stdio::null());
    c.current_dir("/");
    run_cmd(c, RUN_TIMEOUT)
}

/// The protection layers an attack test is run under: the default jail, and the same jail with
/// seccomp and Landlock off, so that each denial is shown to hold on the base layer alone
/// (defence in depth: namespaces, mounts, ids and capabilities must stop it on their own, and
/// a test cannot pass merely because a filter said EPERM first).
pub const LAYERS: [(&str, &[&str]); 2] = [
    ("default", &[]),
    (
        "no seccomp, no landlock",
        &["--seccomp", "none", "--landlock", "off"],
    ),
];

impl TestEnv {
    /// Run the probe with `action` once per entry of [`LAYERS`] (plus `extra` options).
    pub fn probe_layers(
        &self,
        v: Variant,
        extra: &[&str],
        action: &[&str],
    ) -> Vec<(String, Value)> {
        LAYERS
            .iter()
            .map(|(name, opts)| {
                let mut all: Vec<&str> = opts.to_vec();
                all.extend_from_slice(extra);
                (
                    format!("{}/{name}", v.name()),
                    self.probe_in(v, &all, action),
                )
            })
            .collect()
    }
}

/// Assert that `action` fails under every layer.
#[track_caller]
pub fn assert_denied_all_layers(env: &TestEnv, v: Variant, extra: &[&str], action: &[&str]) {
    for (layer, r) in env.probe_layers(v, extra, action) {
        assert_ok(&r, false, &format!("[{layer}] {action:?}"));
    }
}
