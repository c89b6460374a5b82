//! The fitness gate from a policy file (`[fitness]`) works like `run --require-fit`: with an
//! advisory database whose entry matches the running kernel, the jail is refused and the
//! advisory named; accepting it in the policy (or on the command line) takes it off the list.

#[path = "common/bin.rs"]
mod bin;

use bin::output as ironpen;

/// An advisory database with one entry affecting this kernel's branch, or None when the
/// upstream version of this kernel is unknown (then the gate refuses anyway, for that reason).
fn matching_db(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let out = ironpen(&["check", "--json", "--sysfs-root", "/nonexistent"]);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("check --json");
    let major = j["kernel"]["upstream"]["major"].as_u64()?;
    let minor = j["kernel"]["upstream"]["minor"].as_u64()?;
    let db = dir.join("advisories.toml");
    std::fs::write(
        &db,
        format!(
            "sequence = 1000\nupdated = \"2026-11-23\"\n\n[[advisory]]\nid = \"CVE-2099-1234\"\n\
             name = \"Test Flaw\"\nclass = \"escape\"\nmechanism = \"matches the running kernel\"\n\
             introduced = \"{major}.{minor}\"\nfixed_mainline = \"{major}.{}\"\n\
             sources = [\"https://example.invalid/CVE-2099-1234\"]\n",
            minor + 1
        ),
    )
    .unwrap();
    Some(db)
}

#[test]
fn fitness_section_gates_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = matching_db(dir.path()) else {
        eprintln!("SKIP: this kernel's upstream version is unknown");
        return;
    };
    let db = db.to_str().unwrap();
    let strict = dir.path().join("fit.toml");
    std::fs::write(&strict, "[fitness]\nrequire_fit = true\n").unwrap();
    let accepting = dir.path().join("accept.toml");
    std::fs::write(
        &accepting,
        "[fitness]\nrequire_fit = true\naccept_risk = [\"CVE-2099-1234\"]\n",
    )
    .unwrap();
    let (strict, accepting) = (strict.to_str().unwrap(), accepting.to_str().unwrap());

    for args in [
        vec!["run", "--policy", strict, "--advisory-db", db, "--", "true"],
        vec!["run", "--require-fit", "--advisory-db", db, "--", "true"],
    ] {
        let out = ironpen(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert!(
            err.contains("--accept-risk CVE-2099-1234"),
            "{args:?}: {err}"
        );
    }
    for args in [
        vec![
            "run",
            "--policy",
            accepting,
            "--advisory-db",
            db,
            "--",
            "true",
        ],
        vec![
            "run",
            "--policy",
            strict,
            "--accept-risk",
            "CVE-2099-1234",
            "--advisory-db",
            db,
            "--",
            "true",
        ],
    ] {
        let out = ironpen(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        // Other findings of this machine (a CPU flaw, say) may still refuse; this one must not.
        assert!(
            !err.contains("--accept-risk CVE-2099-1234"),
            "{args:?}: {err}"
        );
    }
    // Without a gate, acceptances mean nothing: a clear error instead of silence.
    let out = ironpen(&["run", "--accept-risk", "CVE-2099-1234", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("need --require-fit"));
}
