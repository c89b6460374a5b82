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
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Full => "full",
            Level::Partial => "partial",
            Level::Off => "off",
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

    /// Entries that are not fully enforced.
    pub fn shortfalls(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.level != Level::Full)
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
