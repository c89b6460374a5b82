//! The advisory database: kernel flaws that break sandboxes or give local root from inside one,
//! with upstream fixed-in versions per stable branch, and the matcher that decides whether the
//! running kernel is affected.
//!
//! Matching errs towards "affected": a stable branch with no listed fix counts as vulnerable,
//! release candidates of the mainline fix release count as before the fix, and a kernel whose
//! upstream version is unknown is never called unaffected.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::version::{KernelIdentity, Version};

/// The database compiled into the binary.
pub const BUILTIN_DB: &str = include_str!("../../../data/advisories.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Class {
    /// Leaves the sandbox (namespaces, seccomp, LSM) directly.
    Escape,
    /// Becomes root (or gains kernel code execution) from an unprivileged process.
    LocalRoot,
    /// Reads memory or data it should not see.
    InfoLeak,
}

impl Class {
    pub fn as_str(&self) -> &'static str {
        match self {
            Class::Escape => "escape",
            Class::LocalRoot => "local-root",
            Class::InfoLeak => "info-leak",
        }
    }
}

/// One entry as written in the TOML file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advisory {
    /// CVE identifier; also what `--accept-risk` takes.
    pub id: String,
    /// Common name ("Dirty Pipe"), if it has one.
    #[serde(default)]
    pub name: Option<String>,
    pub class: Class,
    /// One line: how the flaw works.
    pub mechanism: String,
    /// First upstream version with the flaw (`5.8` means 5.8-rc1 on). Required unless `distro`
    /// is set.
    #[serde(default)]
    pub introduced: Option<String>,
    /// First mainline release containing the fix (`5.17`); absent if unfixed upstream.
    #[serde(default)]
    pub fixed_mainline: Option<String>,
    /// First fixed version in each older stable branch (`5.10.102`). Branches between
    /// `introduced` and `fixed_mainline` not listed here count as vulnerable.
    #[serde(default)]
    pub fixed: Vec<String>,
    /// Set when the flaw lives in one distribution's patches only (e.g. "ubuntu").
    #[serde(default)]
    pub distro: Option<String>,
    /// Preconditions, e.g. "unprivileged user namespaces".
    #[serde(default)]
    pub requires: Option<String>,
    /// Where the facts come from: kernel commit, NVD, distribution tracker.
    pub sources: Vec<String>,
}

/// The file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseFile {
    /// Monotonically increasing with every change to the file.
    pub sequence: u64,
    /// Date of the last change (YYYY-MM-DD).
    pub updated: String,
    #[serde(rename = "advisory")]
    pub advisories: Vec<Advisory>,
}

/// A validated advisory with parsed versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub advisory: Advisory,
    introduced: Version,
    fixed_mainline: Option<Version>,
    fixed: Vec<Version>,
}

/// A validated database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub sequence: u64,
    pub updated: String,
    /// "built-in" or the file it came from.
    pub source: String,
    pub advisories: Vec<Checked>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    #[error("read advisory database {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("parse advisory database {path}: {source}")]
    Parse {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("advisory database {path}: entry {id}: field {field}: {reason}")]
    Invalid {
        path: String,
        id: String,
        field: &'static str,
        reason: String,
    },
    #[error("advisory database {path}: {reason}")]
    File { path: String, reason: String },
}

impl Database {
    pub fn builtin() -> Result<Database, DbError> {
        Database::parse(BUILTIN_DB, "built-in")
    }

    pub fn load(path: &Path) -> Result<Database, DbError> {
        let text = std::fs::read_to_string(path).map_err(|source| DbError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Database::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, source: &str) -> Result<Database, DbError> {
        let file: DatabaseFile = toml::from_str(text).map_err(|e| DbError::Parse {
            path: source.to_owned(),
            source: Box::new(e),
        })?;
        if file.sequence == 0 {
            return Err(DbError::File {
                path: source.into(),
                reason: "sequence must be at least 1".into(),
            });
        }
        let mut seen = HashSet::new();
        let mut advisories = Vec::with_capacity(file.advisories.len());
        for a in file.advisories {
            if !seen.insert(a.id.clone()) {
                return Err(DbError::File {
                    path: source.into(),
                    reason: format!("duplicate entry {}", a.id),
                });
            }
            advisories.push(check_entry(a, source)?);
        }
        Ok(Database {
            sequence: file.sequence,
            updated: file.updated,
            source: source.to_owned(),
            advisories,
        })
    }
}

fn check_entry(a: Advisory, path: &str) -> Result<Checked, DbError> {
    let bad = |field: &'static str, reason: String| DbError::Invalid {
        path: path.to_owned(),
        id: a.id.clone(),
        field,
        reason,
    };
    if a.id.trim().is_empty() || a.id.contains(char::is_whitespace) {
        return Err(bad(
            "id",
            "must be a non-empty identifier without spaces".into(),
        ));
    }
    if a.mechanism.trim().is_empty() {
        return Err(bad("mechanism", "must say how the flaw works".into()));
    }
    if a.sources.is_empty() || a.sources.iter().any(|s| !s.starts_with("https://")) {
        return Err(bad(
            "sources",
            "at least one https:// reference is required".into(),
        ));
    }
    let introduced = match (&a.introduced, &a.distro) {
        (Some(s), _) => {
            Version::parse(s).ok_or_else(|| bad("introduced", format!("{s:?} is not a version")))?
        }
        // Distribution-patch flaws are matched on the distribution, never on the version.
        (None, Some(_)) => Version::new(0, 0, 0),
        (None, None) => return Err(bad("introduced", "required for upstream flaws".into())),
    };
    let fixed_mainline = match &a.fixed_mainline {
        None => None,
        Some(s) => {
            let v = Version::parse(s)
                .ok_or_else(|| bad("fixed_mainline", format!("{s:?} is not a version")))?;
            if v.patch != 0 {
                return Err(bad(
                    "fixed_mainline",
                    format!("{s} is a stable release; mainline releases are X.Y"),
                ));
            }
            if v <= introduced {
                return Err(bad(
                    "fixed_mainline",
                    format!("{s} is not after introduced {introduced}"),
                ));
            }
            Some(v)
        }
    };
    let mut fixed = Vec::new();
    let mut branches = HashSet::new();
    for s in &a.fixed {
        let v = Version::parse(s).ok_or_else(|| bad("fixed", format!("{s:?} is not a version")))?;
        if v.rc.is_some() || v.patch == 0 {
            return Err(bad(
                "fixed",
                format!("{s}: stable fixes are X.Y.Z with Z > 0"),
            ));
        }
        if !branches.insert(v.branch()) {
            return Err(bad(
                "fixed",
                format!("two fixes listed for branch {}.{}", v.major, v.minor),
            ));
        }
        if v.branch() < introduced.branch() {
            return Err(bad(
                "fixed",
                format!("{s} is in a branch before introduced {introduced}"),
            ));
        }
        if let Some(m) = fixed_mainline {
            if v.branch() >= m.branch() {
                return Err(bad(
                    "fixed",
                    format!("{s} is not older than the mainline fix {m}"),
                ));
            }
        }
        fixed.push(v);
    }
    if a.distro.is_none() && fixed_mainline.is_none() && fixed.is_empty() {
        return Err(bad(
            "fixed",
            "an upstream flaw needs fixed_mainline or fixed entries".into(),
        ));
    }
    Ok(Checked {
        advisory: a,
        introduced,
        fixed_mainline,
        fixed,
    })
}

/// Is the kernel affected by one advisory?
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Match {
    Affected(String),
    NotAffected(String),
    Unknown(String),
}

impl Checked {
    pub fn introduced(&self) -> Version {
        self.introduced
    }
    pub fn fixed_mainline(&self) -> Option<Version> {
        self.fixed_mainline
    }
    pub fn fixed(&self) -> &[Version] {
        &self.fixed
    }

    /// Decide for a kernel identity (distribution scoping, then the upstream version).
    pub fn matches(&self, kernel: &KernelIdentity) -> Match {
        if let Some(d) = &self.advisory.distro {
            if !d.eq_ignore_ascii_case(kernel.distro.name()) {
                return Match::NotAffected(format!(
                    "flaw in {d} kernel patches only; this is not a {d} kernel"
                ));
            }
            return Match::Unknown(format!(
                "flaw in {d} kernel patches; ironpen cannot tell which {d} package versions carry the fix"
            ));
        }
        match kernel.upstream {
            Some(v) => self.matches_version(v),
            None => Match::Unknown(kernel.basis.clone()),
        }
    }

    /// Decide for an upstream version (meaningless for `distro` entries: use [`Checked::matches`]).
    pub fn matches_version(&self, v: Version) -> Match {
        // `introduced = "5.8"` covers 5.8-rc1 on: compare against the earliest rc.
        let intro = if self.introduced.patch == 0 && self.introduced.rc.is_none() {
            Version {
                rc: Some(0),
                ..self.introduced
            }
        } else {
            self.introduced
        };
        if v < intro {
            return Match::NotAffected(format!(
                "{v} predates the flaw (introduced in {intro_shown})",
                intro_shown = self.introduced
            ));
        }
        if let Some(m) = self.fixed_mainline {
            if v.branch() > m.branch() {
                return Match::NotAffected(format!(
                    "{v} is after the mainline fix in {}.{}",
                    m.major, m.minor
                ));
            }
            if v.branch() == m.branch() {
                return if v >= m {
                    Match::NotAffected(format!(
                        "{v} contains the mainline fix ({}.{})",
                        m.major, m.minor
                    ))
                } else {
                    Match::Affected(format!(
                        "{v} is a release candidate before the mainline fix ({}.{})",
                        m.major, m.minor
                    ))
                };
            }
        }
        match self.fixed.iter().find(|f| f.branch() == v.branch()) {
            Some(f) if v >= *f => Match::NotAffected(format!("{v} contains the stable fix ({f})")),
            Some(f) => Match::Affected(format!("{v} is before the stable fix {f}")),
            None => Match::Affected(format!(
                "{v}: no fix listed for the {}.{} branch{}",
                v.major,
                v.minor,
                match self.fixed_mainline {
                    Some(m) => format!(" (mainline fix in {}.{})", m.major, m.minor),
                    None => " and none upstream".into(),
                }
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::identify;

    #[test]
    fn builtin_database_is_valid_and_cited() {
        let db = Database::builtin().unwrap();
        assert!(db.sequence >= 1);
        let ids: Vec<&str> = db
            .advisories
            .iter()
            .map(|a| a.advisory.id.as_str())
            .collect();
        for must in [
            "CVE-2016-5195",
            "CVE-2022-0847",
            "CVE-2021-3493",
            "CVE-2023-0386",
            "CVE-2023-2640",
            "CVE-2023-32629",
            "CVE-2022-29582",
            "CVE-2023-2598",
            "CVE-2022-0185",
            "CVE-2024-1086",
            "CVE-2022-2588",
            "CVE-2021-22555",
            "CVE-2022-0492",
        ] {
            assert!(ids.contains(&must), "{must} missing");
        }
        assert!(!ids.contains(&"CVE-2019-5736"), "runc flaw, not kernel");
    }

    fn dirty_pipe() -> Checked {
        Database::builtin()
            .unwrap()
            .advisories
            .into_iter()
            .find(|a| a.advisory.id == "CVE-2022-0847")
            .unwrap()
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn dirty_pipe_boundaries() {
        let a = dirty_pipe();
        assert!(matches!(
            a.matches_version(v("5.7.19")),
            Match::NotAffected(_)
        ));
        assert!(matches!(
            a.matches_version(v("5.8-rc1")),
            Match::Affected(_)
        ));
        assert!(matches!(a.matches_version(v("5.8.0")), Match::Affected(_)));
        assert!(matches!(
            a.matches_version(v("5.10.101")),
            Match::Affected(_)
        ));
        assert!(matches!(
            a.matches_version(v("5.10.102")),
            Match::NotAffected(_)
        ));
        assert!(matches!(
            a.matches_version(v("5.15.24")),
            Match::Affected(_)
        ));
        assert!(matches!(
            a.matches_version(v("5.15.25")),
            Match::NotAffected(_)
        ));
        assert!(matches!(
            a.matches_version(v("5.16.10")),
            Match::Affected(_)
        ));
        assert!(matches!(
            a.matches_version(v("5.16.11")),
            Match::NotAffected(_)
        ));
        // 5.11..5.14 had no stable fix listed: vulnerable.
        assert!(matches!(
            a.matches_version(v("5.13.19")),
            Match::Affected(_)
        ));
        assert!(matches!(
            a.matches_version(v("5.17-rc5")),
            Match::Affected(_)
        ));
        assert!(matches!(
            a.matches_version(v("5.17.0")),
            Match::NotAffected(_)
        ));
        assert!(matches!(
            a.matches_version(v("6.18.44")),
            Match::NotAffected(_)
        ));
    }

    #[test]
    fn distro_scoping_and_unknown_kernels() {
        let db = Database::builtin().unwrap();
        let ubuntu_only = db
            .advisories
            .iter()
            .find(|a| a.advisory.id == "CVE-2021-3493")
            .unwrap();
        let debian = identify(
            "6.1.0-27-amd64",
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)",
        );
        let ubuntu = identify(
            "5.15.0-91-generic",
            "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023",
        );
        assert!(matches!(
            ubuntu_only.matches(&debian),
            Match::NotAffected(_)
        ));
        assert!(matches!(ubuntu_only.matches(&ubuntu), Match::Unknown(_)));
        // An unknown upstream base is never "not affected".
        for a in &db.advisories {
            assert!(
                !matches!(a.matches(&ubuntu), Match::NotAffected(_)),
                "{}",
                a.advisory.id
            );
        }
    }

    #[test]
    fn rejects_bad_entries() {
        let base = |extra: &str| {
            format!(
                "sequence = 1\nupdated = \"2026-01-01\"\n[[advisory]]\nid = \"CVE-1\"\nclass = \"escape\"\n\
                 mechanism = \"m\"\nsources = [\"https://x\"]\n{extra}"
            )
        };
        assert!(Database::parse(
            &base("introduced = \"5.8\"\nfixed_mainline = \"5.17\""),
            "t"
        )
        .is_ok());
        for bad in [
            "introduced = \"5.8\"",                              // no fix at all
            "introduced = \"5.8\"\nfixed_mainline = \"5.17.1\"", // stable as mainline
            "introduced = \"5.8\"\nfixed_mainline = \"5.7\"",    // fix before intro
            "introduced = \"5.8\"\nfixed_mainline = \"5.17\"\nfixed = [\"5.17.3\"]", // not older
            "introduced = \"5.8\"\nfixed_mainline = \"5.17\"\nfixed = [\"5.10.1\", \"5.10.2\"]",
            "introduced = \"5.8\"\nfixed_mainline = \"5.17\"\nfixed = [\"5.4.1\"]",
            "introduced = \"x\"\nfixed_mainline = \"5.17\"",
            "introduced = \"5.8\"\nfixed_mainline = \"5.17\"\nbogus = 1",
        ] {
            assert!(Database::parse(&base(bad), "t").is_err(), "accepted: {bad}");
        }
        let zero = base("introduced = \"5.8\"\nfixed_mainline = \"5.17\"")
            .replace("sequence = 1", "sequence = 0");
        assert!(Database::parse(&zero, "t").is_err());
    }
}
