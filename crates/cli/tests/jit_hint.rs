//! A JIT under memory-deny-write-execute dies; ironpen then says why and what to do, and the
//! documented exceptions make it work.

use std::process::Command;

fn node() -> Option<&'static str> {
    if std::path::Path::new("/usr/bin/node").exists() {
        return Some("/usr/bin/node");
    }
    let required = std::env::var("IRONPEN_TEST_REQUIRE").unwrap_or_default();
    assert!(
        required.is_empty(),
        "/usr/bin/node missing (apt-get install nodejs)"
    );
    eprintln!("SKIP: /usr/bin/node missing");
    None
}

fn ironpen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ironpen"))
        .args(args)
        .current_dir("/")
        .output()
        .expect("spawn ironpen")
}

#[test]
fn node_under_mdwe_gets_a_hint_and_the_exceptions_work() {
    let Some(node) = node() else { return };
    let js = "console.log(6*7)";
    let out = ironpen(&["run", "--", node, "-e", js]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "node ran with MDWE on: {out:?}");
    assert!(
        err.contains("ironpen pax set PROGRAM m") && err.contains("--allow-jit"),
        "no hint: {err}"
    );
    for extra in [&["--allow-jit"][..], &[]] {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", node]);
        if extra.is_empty() {
            args.push("--jitless");
        }
        args.extend_from_slice(&["-e", js]);
        let out = ironpen(&args);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "42",
            "{args:?}: {out:?}"
        );
    }
}
