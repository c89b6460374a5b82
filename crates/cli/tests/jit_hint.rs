//! JITs under memory-deny-write-execute: a known JIT runtime started directly gets the built-in
//! PaX-style exception (like a distribution's `m` marks); one started by another program inherits
//! MDWE and dies, and ironpen then says why and names the two ways out, which work.

#[path = "common/bin.rs"]
mod bin;

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

use bin::output as ironpen;

#[test]
fn node_directly_runs_with_the_builtin_exception() {
    let Some(node) = node() else { return };
    let out = ironpen(&["run", "--report", "--", node, "-e", "console.log(6*7)"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42", "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mdwe         waived") && err.contains("known JIT runtime"),
        "{err}"
    );
}

#[test]
fn node_behind_a_shell_gets_a_hint_and_the_exceptions_work() {
    let Some(node) = node() else { return };
    let script = format!("{node} -e 'console.log(6*7)'");
    let out = ironpen(&["run", "--", "sh", "-c", &script]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "node under MDWE ran: {out:?}");
    assert!(
        err.contains("ironpen pax set PROGRAM m") && err.contains("--allow-jit"),
        "no hint: {err}"
    );
    let jitless = format!("{node} --jitless -e 'console.log(6*7)'");
    for args in [
        vec!["run", "--allow-jit", "--", "sh", "-c", script.as_str()],
        vec!["run", "--", "sh", "-c", jitless.as_str()],
    ] {
        let out = ironpen(&args);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "42",
            "{args:?}: {out:?}"
        );
    }
}
