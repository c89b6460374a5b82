//! `ironpen check` and a real jail must agree: a feature `check` calls available is fully
//! enforced in `ironpen run --report`, and one it calls unavailable is not claimed as enforced.

#[path = "common/bin.rs"]
mod bin;

use bin::output as ironpen;

/// The report's lines: feature -> (level, detail).
fn report() -> std::collections::BTreeMap<String, (String, String)> {
    let out = ironpen(&["run", "--report", "--", "/bin/true"]);
    assert!(out.status.success(), "ironpen run --report: {out:?}");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("  "))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let feature = f.next()?.to_string();
            let level = f.next()?.to_string();
            Some((feature, (level, f.collect::<Vec<_>>().join(" "))))
        })
        .collect()
}

#[test]
fn check_features_match_the_enforcement_report() {
    let out = ironpen(&["check", "--json"]);
    let check: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check --json ({e}): {out:?}"));
    let f = &check["features"];
    let status = |v: &serde_json::Value| v["status"].as_str().unwrap_or("?").to_string();
    let r = report();
    let level = |name: &str| {
        r.get(name)
            .unwrap_or_else(|| panic!("report has no {name} line: {r:?}"))
            .0
            .clone()
    };
    for (feature, check_status) in [
        ("seccomp", status(&f["seccomp_filter"])),
        ("mdwe", status(&f["mdwe"])),
        ("landlock", status(&f["landlock"]["status"])),
        ("proc", status(&f["proc_subset_pid"])),
    ] {
        match check_status.as_str() {
            "available" => assert_eq!(level(feature), "full", "{feature}: check says available"),
            "unavailable" => {
                assert_ne!(level(feature), "full", "{feature}: check says unavailable")
            }
            other => eprintln!(
                "{feature}: check says {other}, report says {}",
                level(feature)
            ),
        }
    }
    if let Some(abi) = f["landlock"]["abi"].as_u64() {
        let detail = &r["landlock"].1;
        assert!(
            detail.contains(&format!("ABI {abi}")),
            "check sees Landlock ABI {abi}, the report says {detail:?}"
        );
    }
}
