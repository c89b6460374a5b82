//! The enforcement report: what a jail actually got, protection by protection. It is built in
//! the jail just before execve (only there is everything known) and sent to ironpen, which prints
//! it on request (`--report`) and refuses to start under `--strict` when anything is not full.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How fully a protection is in force.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Level {
    Full,
    Partial,
    Off,
    /// Off by an explicit, deliberate exception (`--seccomp none`, `--landlock off`,
    /// `--allow-jit`, a binary's PaX `m` mark): not a shortfall for `--strict`.
    Waived,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Full => "full",
            Level::Partial => "partial",
            Level::Off => "off",
            Level::Waived => "waived",
        })
    }
}

/// One protection's status.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub feature: String,
    pub level: Level,
    pub detail: String,
}

impl Entry {
    pub fn new(feature: &str, level: Level, detail: impl Into<String>) -> Self {
        Self {
            feature: feature.into(),
            level,
            detail: detail.into(),
        }
    }
    pub fn full(feature: &str, detail: impl Into<String>) -> Self {
        Self::new(feature, Level::Full, detail)
    }
    pub fn off(feature: &str, detail: impl Into<String>) -> Self {
        Self::new(feature, Level::Off, detail)
    }
    pub fn waived(feature: &str, detail: impl Into<String>) -> Self {
        Self::new(feature, Level::Waived, detail)
    }
}

/// The whole report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Report {
    pub entries: Vec<Entry>,
}

impl Report {
    pub fn push(&mut self, e: Entry) {
        self.entries.push(e);
    }

    /// Entries that are not fully enforced although they were asked for (a waived protection
    /// was explicitly not asked for).
    pub fn shortfalls(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| !matches!(e.level, Level::Full | Level::Waived))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            writeln!(
                f,
                "  {:<12} {:<8} {}",
                e.feature,
                e.level.to_string(),
                e.detail
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_counts_shortfalls_but_not_waivers() {
        let mut r = Report::default();
        r.push(Entry::full("seccomp", "default"));
        r.push(Entry::waived("mdwe", "--allow-jit"));
        assert_eq!(
            r.shortfalls().count(),
            0,
            "an explicit exception is not a shortfall"
        );
        r.push(Entry::new("landlock", Level::Partial, "ABI 3"));
        r.push(Entry::off("proc", "kernel lacks it"));
        let short: Vec<&str> = r.shortfalls().map(|e| e.feature.as_str()).collect();
        assert_eq!(short, ["landlock", "proc"]);
        assert!(r.to_string().contains("mdwe         waived"));
    }
}
