//! The fuse-overlayfs driver (`--overlay-driver fuse`): the same script run on the kernel
//! driver and on fuse leaves the same `ws diff` and an untouched base; the report names the
//! driver; the daemon is gone when ironpen returns; a missing binary is a clear error (exit 125)
//! that writes nothing. And `--print-plan --workspace` creates nothing.

mod ws_common;

use std::fs;

use ws_common::*;

/// The changes both drivers must record alike: modified, deleted, added, metadata-only, a
/// directory replaced as a whole, and a symlink named like a fuse-overlayfs whiteout (an entry,
/// not a deletion of `a`, on both).
const SCRIPT: &str = "echo more >> a; rm b; echo new > c; chmod 600 m; \
                      rm -r sub; mkdir sub; echo y > sub/y; mkdir -p keep/deeper; echo z > keep/deeper/z; \
                      ln -s /etc/shadow .wh.a";

fn make_base(env: &Env, name: &str) -> std::path::PathBuf {
    let base = env.dir_for(name);
    for (p, text) in [
        ("a", "a\n"),
        ("b", "b\n"),
        ("m", "m\n"),
        ("sub/x", "x\n"),
        ("keep/k", "k\n"),
    ] {
        let f = base.join(p);
        fs::create_dir_all(f.parent().unwrap()).unwrap();
        fs::write(&f, text).unwrap();
    }
    if is_root() {
        // Owned by the host ids a root-started jail runs as (so it may change them), as
        // rootless callers own theirs.
        let ok = std::process::Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(&base)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
    base
}

fn fuse_daemons_of(env: &Env) -> Vec<String> {
    let needle = env.path().to_string_lossy().into_owned();
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(c) = fs::read(e.path().join("cmdline")) {
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            if c.contains("fuse-overlayfs") && c.contains(&needle) {
                out.push(format!("{}: {c}", e.file_name().to_string_lossy()));
            }
        }
    }
    out
}

fn err(o: &std::process::Output) -> String {
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn fuse_driver_records_the_same_changes_as_the_kernel_and_ends_its_daemon() {
    assert!(
        which_fuse().is_some(),
        "fuse-overlayfs is not installed (apt-get install fuse-overlayfs)"
    );
    for who in whos() {
        let env = Env::new();
        let (bk, bf) = (make_base(&env, "base-k"), make_base(&env, "base-f"));
        let (before_k, before_f) = (fingerprint(&bk), fingerprint(&bf));
        if !dev_fuse_usable(who) {
            // This machine's /dev/fuse is closed to unprivileged users: the driver must say so
            // and write nothing.
            let o = env.run_in(who, "f", &bf, &["--overlay-driver", "fuse"], SCRIPT);
            let e = err(&o);
            assert!(
                e.contains("/dev/fuse") && e.contains("never falls back"),
                "{e}"
            );
            assert_eq!(fingerprint(&bf), before_f, "{who:?}: base written");
            eprintln!("NOTE {who:?}: /dev/fuse is not accessible; checked the refusal only");
            continue;
        }
        ok(&env.run_in(who, "k", &bk, &["--overlay-driver", "kernel"], SCRIPT));
        let o = env.run_in(
            who,
            "f",
            &bf,
            &["--overlay-driver", "fuse", "--report"],
            SCRIPT,
        );
        ok(&o);
        let report = String::from_utf8_lossy(&o.stderr);
        assert!(
            report.contains(&format!("{}: driver fuse (", bf.display()))
                && report.contains("daemon outside the jail"),
            "{who:?}: {report}"
        );
        let left = fuse_daemons_of(&env);
        assert!(left.is_empty(), "{who:?}: daemon survived: {left:?}");
        assert_eq!(fingerprint(&bk), before_k, "{who:?}: kernel base written");
        assert_eq!(
            fingerprint(&bf),
            before_f,
            "{who:?}: fuse base written: {}",
            fp_diff(&before_f, &fingerprint(&bf))
        );

        // Same diff, path prefix aside, in every output form.
        for form in [&[][..], &["--stat"][..], &["--json"][..]] {
            let dk = ok(&env.ws(who, &[&["diff", "k"][..], form].concat()));
            let df = ok(&env.ws(who, &[&["diff", "f"][..], form].concat()));
            let dk = dk.replace(bk.to_str().unwrap(), "BASE");
            let df = df.replace(bf.to_str().unwrap(), "BASE");
            assert_eq!(dk, df, "{who:?} diff {form:?}");
        }
        let d = ok(&env.ws(who, &["diff", "f"]));
        for line in ["M  ", "D  ", "A  ", "m  ", "R  "] {
            assert!(d.contains(line), "{who:?}: no {line:?} in\n{d}");
        }
        assert!(
            d.contains(
                "A  BASE/.wh.a -> /etc/shadow\n"
                    .replace("BASE", bf.to_str().unwrap())
                    .as_str()
            ),
            "{who:?}: {d}"
        );
        assert_eq!(d.matches(".wh.").count(), 1, "{who:?}: {d}");

        // Runs continue on the same layer; auto stays with fuse for it, kernel refuses it.
        let o = env.run_in(who, "f", &bf, &["--report"], "cat c sub/y; test ! -e b");
        assert_eq!(ok(&o), "new\ny\n", "{who:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("driver fuse ("));
        let o = env.run_in(who, "f", &bf, &["--overlay-driver", "kernel"], "true");
        assert!(err(&o).contains("written by fuse-overlayfs"), "{who:?}");
        assert!(ok(&env.ws(who, &["show", "f"])).contains("(fuse-overlayfs)"));
        assert!(fuse_daemons_of(&env).is_empty(), "{who:?}");
        assert_eq!(fingerprint(&bf), before_f, "{who:?}: fuse base written");
    }
}

fn which_fuse() -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("fuse-overlayfs"))
        .find(|p| p.exists())
}

#[test]
fn missing_fuse_overlayfs_is_a_clear_error_that_writes_nothing() {
    for who in whos() {
        let env = Env::new();
        let base = make_base(&env, "base");
        let before = fingerprint(&base);
        let wsdir = env.ws_root(who).join("gone");
        let args = |driver: &str| {
            vec![
                "run".to_string(),
                "--workspace".into(),
                "gone".into(),
                "--workspace-dir".into(),
                wsdir.to_str().unwrap().into(),
                "--base".into(),
                base.to_str().unwrap().into(),
                "--overlay-driver".into(),
                driver.into(),
                "--".into(),
                "sh".into(),
                "-c".into(),
                "echo x > written".into(),
            ]
        };
        let owned = args("fuse");
        let a: Vec<&str> = owned.iter().map(String::as_str).collect();
        // Named by the environment variable, but absent.
        let o = env
            .command(who, &a)
            .env(
                "IRONPEN_FUSE_OVERLAYFS",
                env.path().join("no/fuse-overlayfs"),
            )
            .output()
            .unwrap();
        let e = err(&o);
        assert!(
            e.contains("IRONPEN_FUSE_OVERLAYFS=")
                && e.contains("never falls back to writing the base"),
            "{who:?}: {e}"
        );
        // Not in PATH.
        let o = env
            .command(who, &a)
            .env("PATH", "/nonexistent")
            .output()
            .unwrap();
        let e = err(&o);
        assert!(
            e.contains("fuse-overlayfs is not installed"),
            "{who:?}: {e}"
        );
        assert!(!wsdir.exists(), "{who:?}: the workspace was created");
        // Found, but it dies at once: the jail's first use of the mount fails, the run is an
        // ironpen failure naming the daemon, and nothing is left running.
        if dev_fuse_usable(who) {
            let o = env
                .command(who, &a)
                .env("IRONPEN_FUSE_OVERLAYFS", "/bin/false")
                .output()
                .unwrap();
            let e = err(&o);
            assert!(
                e.contains("fuse-overlayfs (--workspace gone --base")
                    && e.contains("ended with exit status: 1"),
                "{who:?}: {e}"
            );
            assert!(fuse_daemons_of(&env).is_empty());
            std::fs::remove_dir_all(&wsdir).unwrap();
        }
        assert!(!base.join("written").exists());
        assert_eq!(fingerprint(&base), before, "{who:?}");
        // A bad driver name.
        let owned = args("overlay");
        let a: Vec<&str> = owned.iter().map(String::as_str).collect();
        assert!(err(&env.run(who, &a)).contains("expected auto, kernel or fuse"));
    }
}

#[test]
fn print_plan_with_a_workspace_creates_nothing() {
    for who in whos() {
        let env = Env::new();
        let base = make_base(&env, "base");
        let wsdir = env.ws_root(who).join("not-yet/plan");
        for driver in ["kernel", "fuse", "auto"] {
            let o = env.run(
                who,
                &[
                    "run",
                    "--print-plan",
                    "--workspace",
                    "plan",
                    "--workspace-dir",
                    wsdir.to_str().unwrap(),
                    "--base",
                    base.to_str().unwrap(),
                    "--overlay-driver",
                    driver,
                    "--",
                    "true",
                ],
            );
            let plan: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
            let ov = plan["mounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["op"] == "overlay")
                .unwrap_or_else(|| panic!("{who:?}: no overlay in {plan}"));
            assert_eq!(ov["upper"], wsdir.join("layers/0/upper").to_str().unwrap());
            match driver {
                "fuse" => assert!(ov["driver"]["fuse-overlayfs"]["binary"].is_string(), "{ov}"),
                "kernel" => assert_eq!(ov["driver"], "kernel"),
                _ => {}
            }
            assert!(
                !wsdir.parent().unwrap().exists(),
                "{who:?} {driver}: created"
            );
        }
    }
}

/// ^C at the terminal (SIGINT to ironpen's foreground process group) is for the jailed program:
/// one that handles it keeps a working file system, because the daemon is not in that group.
#[test]
fn a_terminal_interrupt_does_not_reach_the_fuse_daemon() {
    use std::os::unix::process::CommandExt as _;
    for who in whos() {
        if !dev_fuse_usable(who) {
            eprintln!("NOTE {who:?}: /dev/fuse is not accessible; skipped (see the refusal test)");
            continue;
        }
        let env = Env::new();
        let base = make_base(&env, "base");
        let wsdir = env.ws_root(who).join("int");
        // The handler waits a little, so a daemon that took the signal too has gone by then.
        let script = "trap 'sleep 0.3; cat a > after-int; echo handled; exit 0' INT; echo ready; \
                      while :; do sleep 0.05; done";
        let mut cmd = env.command(
            who,
            &[
                "run",
                "--overlay-driver",
                "fuse",
                "--workspace",
                "int",
                "--workspace-dir",
                wsdir.to_str().unwrap(),
                "--base",
                base.to_str().unwrap(),
                "--",
                "sh",
                "-c",
                script,
            ],
        );
        cmd.process_group(0)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let pgid = child.id();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert_eq!(line, "ready\n", "{who:?}");
        assert!(
            !fuse_daemons_of(&env).is_empty(),
            "{who:?}: no daemon while running"
        );
        // What the terminal does on ^C: the signal to the whole foreground group.
        let ok = std::process::Command::new("kill")
            .args(["-INT", "--", &format!("-{pgid}")])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            (o.status.code(), rest.as_str()),
            (Some(0), "handled\n"),
            "{who:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            fs::read_to_string(env.ws_root(who).join("int/layers/0/upper/after-int")).unwrap(),
            "a\n"
        );
        assert!(fuse_daemons_of(&env).is_empty(), "{who:?}");
    }
}

/// fuse-overlayfs takes its layers in one comma- and colon-separated option: a base whose path
/// it could not quote is refused before anything is created (the kernel driver takes it).
#[test]
fn fuse_refuses_a_base_path_it_cannot_quote() {
    let who = Who::Caller;
    let env = Env::new();
    let base = make_base(&env, "odd,name:x");
    let before = fingerprint(&base);
    let o = env.run_in(
        who,
        "odd",
        &base,
        &["--overlay-driver", "fuse"],
        "echo x > y",
    );
    let e = err(&o);
    assert!(e.contains("cannot take a layer path containing"), "{e}");
    assert!(!env.ws_root(who).join("odd").exists());
    let o = env.run_in(
        who,
        "odd",
        &base,
        &["--overlay-driver", "kernel"],
        "echo x > y; cat y",
    );
    assert_eq!(ok(&o), "x\n");
    assert_eq!(fingerprint(&base), before);
}
