//! The matcher must never call a vulnerable version fit. Versions are generated around every
//! boundary of every shipped advisory, labelled by construction, and checked both through the
//! matcher and through the full report (with a fake, clean CPU tree).

use std::path::Path;

use ironpen_audit::advisory::{Checked, Database, Match};
use ironpen_audit::{check, identify, CheckOptions, Verdict, Version};
use proptest::prelude::*;

fn db() -> Database {
    Database::builtin().expect("built-in database")
}

fn upstream(db: &Database) -> Vec<Checked> {
    db.advisories
        .iter()
        .filter(|a| a.advisory.distro.is_none())
        .cloned()
        .collect()
}

/// Ground truth by construction, from the entry's fields only.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Truth {
    Vulnerable,
    Fixed,
    Before,
}

/// Generate (advisory index, version, truth) around the boundaries of one advisory.
fn around(a: &Checked) -> Vec<(Version, Truth)> {
    let mut out = Vec::new();
    let intro = a.introduced();
    // Just before introduction: previous branch's late sublevels are not affected.
    if intro.patch == 0 && intro.minor > 0 {
        for p in [0, 1, 50, 300] {
            out.push((Version::new(intro.major, intro.minor - 1, p), Truth::Before));
        }
    }
    // Stable fixes: everything in the branch below the fix is vulnerable, from it on fixed.
    for f in a.fixed() {
        for p in 0..f.patch {
            if Version::new(f.major, f.minor, p) >= intro {
                out.push((Version::new(f.major, f.minor, p), Truth::Vulnerable));
            }
        }
        for p in f.patch..f.patch + 40 {
            out.push((Version::new(f.major, f.minor, p), Truth::Fixed));
        }
    }
    // Branches between introduction and the mainline fix without a listed fix: all vulnerable.
    if let Some(m) = a.fixed_mainline() {
        for major in intro.major..=m.major {
            for minor in 0..=40u32 {
                let b = (major, minor);
                if b < intro.branch()
                    || b >= m.branch()
                    || a.fixed().iter().any(|f| f.branch() == b)
                {
                    continue;
                }
                // Only real branch numbers are interesting, but any (major, minor) must be safe.
                for p in [0, 1, 7, 99, 400] {
                    let v = Version::new(major, minor, p);
                    if v >= intro {
                        out.push((v, Truth::Vulnerable));
                    }
                }
            }
        }
        // Release candidates of the fix release are before the fix; the release is fixed.
        for rc in 1..=8 {
            out.push((
                Version {
                    rc: Some(rc),
                    ..Version::new(m.major, m.minor, 0)
                },
                Truth::Vulnerable,
            ));
        }
        for p in 0..20 {
            out.push((Version::new(m.major, m.minor, p), Truth::Fixed));
        }
        out.push((Version::new(m.major, m.minor + 1, 0), Truth::Fixed));
        out.push((Version::new(m.major + 1, 0, 0), Truth::Fixed));
    }
    out
}

#[test]
fn exhaustive_boundaries_of_every_advisory() {
    let db = db();
    let mut checked = 0;
    for a in upstream(&db) {
        for (v, truth) in around(&a) {
            let m = a.matches_version(v);
            match truth {
                Truth::Vulnerable => assert!(
                    matches!(m, Match::Affected(_)),
                    "{} {v}: {m:?}",
                    a.advisory.id
                ),
                Truth::Fixed => assert!(
                    matches!(m, Match::NotAffected(_)),
                    "{} {v}: {m:?}",
                    a.advisory.id
                ),
                Truth::Before => assert!(
                    matches!(m, Match::NotAffected(_)),
                    "{} {v}: {m:?}",
                    a.advisory.id
                ),
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} versions generated");
}

/// Local suffixes seen on real kernels; none of them may raise the parsed version.
const SUFFIXES: &[&str] = &[
    "",
    "+",
    "-dirty",
    "-rc1",
    "-00001-gdeadbeef",
    "-custom",
    "-fc-v657",
    "-arch1-1",
    "-1-lts",
    "-300.fc39.x86_64",
    "-android13-4-00032-g1cd5b6c5fa3e-ab9206497",
    "-gf5b9c2b4c0e5",
    "-zen1-1",
    "-v8+",
    "-sunxi64",
    "-1-pve",
];

fn clean_sysfs() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let v = t.path().join("devices/system/cpu/vulnerabilities");
    std::fs::create_dir_all(&v).unwrap();
    std::fs::write(v.join("meltdown"), "Not affected\n").unwrap();
    std::fs::write(v.join("spectre_v2"), "Mitigation: Retpolines\n").unwrap();
    t
}

fn report_for(release: &str, version: &str, sysfs: &Path) -> ironpen_audit::Report {
    check(&CheckOptions {
        sysfs_root: sysfs.to_path_buf(),
        uname: Some((release.into(), version.into())),
        features: false,
        ..CheckOptions::default()
    })
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any version a shipped advisory calls vulnerable, dressed in any local suffix or as a
    /// Debian uname -v, is never reported fit.
    #[test]
    fn vulnerable_versions_are_never_fit(
        pick in 0usize..1000,
        which in 0usize..10_000,
        suffix in prop::sample::select(SUFFIXES),
        debian in any::<bool>(),
    ) {
        let db = db();
        let advs = upstream(&db);
        let a = &advs[pick % advs.len()];
        let vulns: Vec<Version> = around(a).into_iter().filter(|(_, t)| *t == Truth::Vulnerable).map(|(v, _)| v).collect();
        prop_assume!(!vulns.is_empty());
        let v = vulns[which % vulns.len()];
        let (release, version) = if debian {
            (format!("{}.{}.0-27-amd64", v.major, v.minor), format!("#1 SMP PREEMPT_DYNAMIC Debian {v}-1 (2024-11-01)"))
        } else {
            (format!("{v}{suffix}"), "#1 SMP PREEMPT_DYNAMIC".to_owned())
        };
        let id = identify(&release, &version);
        if let Some(parsed) = id.upstream {
            prop_assert!(parsed <= v, "{release} / {version} parsed as {parsed}, above {v}");
        }
        let sysfs = clean_sysfs();
        let r = report_for(&release, &version, sysfs.path());
        prop_assert_ne!(r.verdict, Verdict::Fit, "{} {} judged fit ({})", a.advisory.id, release, id.basis);
    }

    /// Any string at all: parsing never panics, and a kernel whose version cannot be stated is
    /// never fit.
    #[test]
    fn arbitrary_uname_is_never_fit_when_unknown(release in ".{0,40}", version in ".{0,60}") {
        let id = identify(&release, &version);
        if id.upstream.is_none() {
            let sysfs = clean_sysfs();
            let r = report_for(&release, &version, sysfs.path());
            prop_assert_ne!(r.verdict, Verdict::Fit);
        }
    }
}
