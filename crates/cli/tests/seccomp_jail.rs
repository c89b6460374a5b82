//! The seccomp filter as a jailed program meets it: `seccomp-probe jailed` makes the default
//! profile's checks from inside `ironpen run` (without loading anything itself), as root and as
//! uid 65534. The same probe under `--seccomp none` shows which results the filter changes, so the
//! test proves the filter (not capabilities or namespaces) is what blocks those calls.

#[path = "common/bin.rs"]
mod bin;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

const EPERM: i64 = 1;
const EFAULT: i64 = 14;
const ENOSYS: i64 = 38;

/// ironpen and seccomp-probe copied into a fresh 0755 directory, so uid 65534 can run them.
struct Bins {
    dir: tempfile::TempDir,
}

impl Bins {
    fn new() -> Option<Bins> {
        let ironpen = bin::ironpen();
        // The probe comes from this build even when IRONPEN_TEST_BIN names another ironpen.
        let probe =
            std::path::PathBuf::from(env!("CARGO_BIN_EXE_ironpen")).with_file_name("seccomp-probe");
        if !probe.exists() {
            let required = std::env::var("IRONPEN_TEST_REQUIRE").unwrap_or_default();
            assert!(
                required.is_empty(),
                "{} missing: run `cargo build --workspace` first",
                probe.display()
            );
            eprintln!(
                "SKIP: {} missing (cargo build --workspace)",
                probe.display()
            );
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("ironpen-seccomp-jail-")
            .tempdir()
            .expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for b in [&ironpen, &probe] {
            let dst = dir.path().join(b.file_name().unwrap());
            std::fs::copy(b, &dst).expect("copy binary");
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Some(Bins { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Run the probe in a jail; `as_nobody` spawns ironpen as uid/gid 65534.
fn run_jailed(bins: &Bins, extra: &[&str], as_nobody: bool) -> BTreeMap<String, Result<i64, i64>> {
    let dir = bins.path().to_str().unwrap();
    let mut cmd = Command::new(bins.path().join("ironpen"));
    cmd.arg("run")
        .args(extra)
        .args(["--ro-bind", dir, "/p", "--", "/p/seccomp-probe", "jailed"]);
    cmd.current_dir("/");
    if as_nobody {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("spawn ironpen");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ironpen run {extra:?} seccomp-probe jailed: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    seccomp_oracle::probe_results(&stdout)
}

fn variants() -> Vec<bool> {
    if rustix::process::geteuid().is_root() {
        vec![false, true]
    } else {
        vec![false]
    }
}

/// Denied by the default profile with EPERM.
const DENIED: &[&str] = &[
    "ioctl_tiocsti_hi",
    "ioctl_tiocsti",
    "ioctl_tioclinux",
    "keyctl",
    "add_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "unshare_newuser",
    "setns",
    "mount",
    "fsopen",
    "ptrace",
    "clone_newuser",
    "personality_exec",
];

#[test]
fn default_filter_holds_inside_the_jail() {
    let Some(bins) = Bins::new() else { return };
    for nobody in variants() {
        let who = if nobody { "uid 65534" } else { "caller" };
        let r = run_jailed(&bins, &[], nobody);
        let get = |n: &str| {
            *r.get(n)
                .unwrap_or_else(|| panic!("[{who}] probe did not report {n}: {r:?}"))
        };
        assert!(matches!(get("getppid"), Ok(p) if p >= 0), "[{who}] {r:?}");
        assert_eq!(get("write"), Ok(1), "[{who}]");
        assert_eq!(get("ioctl_fionread"), Ok(0), "[{who}] ordinary ioctls pass");
        for denied in DENIED {
            assert_eq!(get(denied), Err(EPERM), "[{who}] {denied}: {r:?}");
        }
        assert_eq!(get("clone3"), Err(ENOSYS), "[{who}]");
        assert_eq!(get("unknown_1000"), Err(ENOSYS), "[{who}]");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(
                get("x32_getpid"),
                Err(EPERM),
                "[{who}] x32 numbers are refused"
            );
        }
        assert_eq!(get("personality_query"), Ok(0), "[{who}]");
        assert_eq!(
            get("openat_badptr"),
            Err(EFAULT),
            "[{who}] allowed calls reach the kernel"
        );
        assert_eq!(
            get("spawn_true"),
            Ok(0),
            "[{who}] libc falls back from clone3 to clone"
        );
    }
}

/// Without the filter the same calls get other answers (EFAULT/EINVAL/ENOSYS... from the kernel
/// itself, or success): the EPERMs above come from the filter, not from missing capabilities.
#[test]
fn the_filter_is_what_blocks_them() {
    let Some(bins) = Bins::new() else { return };
    for nobody in variants() {
        let who = if nobody { "uid 65534" } else { "caller" };
        let with = run_jailed(&bins, &[], nobody);
        let without = run_jailed(&bins, &["--seccomp", "none"], nobody);
        for name in ["keyctl", "io_uring_setup", "clone3", "personality_exec"] {
            assert_ne!(
                with[name], without[name],
                "[{who}] {name}: same result with and without the filter ({:?})",
                with[name]
            );
        }
        if cfg!(target_arch = "x86_64") {
            assert_ne!(with["x32_getpid"], without["x32_getpid"], "[{who}] x32");
        }
    }
}

/// `seccomp-probe jailed-all`: (name, expected errno, what the call returned), skipped omitted.
fn run_deny_set(bins: &Bins, extra: &[&str], nobody: bool) -> Vec<(String, i64, Result<i64, i64>)> {
    let dir = bins.path().to_str().unwrap();
    let mut cmd = Command::new(bins.path().join("ironpen"));
    cmd.arg("run").args(extra).args([
        "--ro-bind",
        dir,
        "/p",
        "--",
        "/p/seccomp-probe",
        "jailed-all",
    ]);
    cmd.current_dir("/");
    if nobody {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("spawn ironpen");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("probe JSON line"))
        .filter(|v| v.get("skipped").is_none())
        .map(|v| {
            let got = match v.get("ret") {
                Some(r) => Ok(r.as_i64().unwrap()),
                None => Err(v["errno"].as_i64().unwrap()),
            };
            (
                v["name"].as_str().unwrap().to_string(),
                v["expected"].as_i64().unwrap(),
                got,
            )
        })
        .collect()
}

/// Every syscall the default profile refuses (per ironpen's reference evaluator, all-zero
/// arguments) is refused inside a real jail with exactly the profile's errno — and without the
/// filter most of them get another answer, so it is the filter that refuses them.
#[test]
fn every_denied_syscall_is_refused_inside_the_jail() {
    let Some(bins) = Bins::new() else { return };
    for nobody in variants() {
        let with = run_deny_set(&bins, &[], nobody);
        assert!(
            with.len() > 50,
            "only {} denied syscalls probed",
            with.len()
        );
        let wrong: Vec<_> = with
            .iter()
            .filter(|(_, want, got)| *got != Err(*want))
            .collect();
        assert!(
            wrong.is_empty(),
            "[nobody: {nobody}] not refused as the profile says: {wrong:?}"
        );
        let without = run_deny_set(&bins, &["--seccomp", "none"], nobody);
        let differ = without
            .iter()
            .filter(|(_, want, got)| *got != Err(*want))
            .count();
        assert!(
            differ * 2 > without.len(),
            "[nobody: {nobody}] without the filter only {differ} of {} calls changed",
            without.len()
        );
    }
}
