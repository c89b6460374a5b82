//! ironpen-audit: host-side checks (kernel/CPU fitness, advisory database, hardening).
//!
//! [`check`] gathers every signal into a [`Report`] with a verdict (fit / unfit / unknown);
//! [`gate`] is the fail-closed form `ironpen run --require-fit` calls: anything but "fit", after
//! the risks the caller accepted, is an error that names each item and how to accept it.

pub mod advisory;
pub mod cpu;
pub mod sysctl;
pub mod version;

use std::fmt::{self, Write as _};
use std::path::PathBuf;

use serde::Serialize;

pub use advisory::{Class, Database, DbError, Match};
pub use version::{identify, KernelIdentity, Version};

/// Accept-risk id for "the upstream kernel version cannot be determined".
pub const KERNEL_VERSION_UNKNOWN: &str = "kernel-version-unknown";
/// Accept-risk id for "the CPU vulnerability files cannot be read".
pub const CPU_UNREADABLE: &str = "cpu-vulnerabilities-unreadable";
/// Accept-risk id for "the database is older than --min-sequence".
pub const DB_TOO_OLD: &str = "database-sequence";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    Fit,
    Unfit,
    Unknown,
}

impl Verdict {
    /// `ironpen check` exit code: 0 fit, 1 unfit, 2 unknown.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Fit => 0,
            Verdict::Unfit => 1,
            Verdict::Unknown => 2,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Fit => "fit",
            Verdict::Unfit => "unfit",
            Verdict::Unknown => "unknown",
        }
    }
}

/// Options of [`check`]. `Default` reads the real machine with the built-in database.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Advisory database file instead of the built-in one.
    pub db: Option<PathBuf>,
    /// Require a database with at least this sequence number.
    pub min_sequence: Option<u64>,
    /// Finding ids (CVE ids, `cpu:NAME` or `NAME`, [`KERNEL_VERSION_UNKNOWN`], ...) whose risk the
    /// caller accepts.
    pub accept: Vec<String>,
    pub sysfs_root: PathBuf,
    pub procfs_root: PathBuf,
    /// `(uname -r, uname -v)` to judge instead of the running kernel's.
    pub uname: Option<(String, String)>,
    /// Also run the jail's feature detection (informational; not part of the verdict).
    pub features: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            db: None,
            min_sequence: None,
            accept: Vec::new(),
            sysfs_root: PathBuf::from("/sys"),
            procfs_root: PathBuf::from("/proc"),
            uname: None,
            features: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbInfo {
    pub source: String,
    pub sequence: u64,
    pub updated: String,
    pub entries: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdvisoryResult {
    pub id: String,
    pub name: Option<String>,
    pub class: Class,
    pub mechanism: String,
    pub requires: Option<String>,
    pub sources: Vec<String>,
    #[serde(flatten)]
    pub result: Match,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    Advisory,
    Cpu,
    Kernel,
    Database,
}

/// One item that keeps the machine from being "fit".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What `--accept-risk` takes to accept it.
    pub id: String,
    pub kind: FindingKind,
    /// Unfit (known bad) or Unknown (a signal is missing: fail closed).
    pub verdict: Verdict,
    pub message: String,
    pub accepted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    pub kernel: KernelIdentity,
    pub database: DbInfo,
    pub advisories: Vec<AdvisoryResult>,
    pub cpu: cpu::CpuReport,
    pub sysctls: Vec<sysctl::SysctlFinding>,
    pub features: Option<ironpen_jail::features::Features>,
    pub findings: Vec<Finding>,
    /// `--accept-risk` ids that matched nothing (probably a typo).
    pub unused_accepts: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    #[error(transparent)]
    Database(#[from] DbError),
}

fn accepted(accept: &[String], id: &str) -> bool {
    accept.iter().any(|a| {
        a.eq_ignore_ascii_case(id)
            || id
                .strip_prefix("cpu:")
                .is_some_and(|name| a.eq_ignore_ascii_case(name))
    })
}

/// Gather every signal and decide.
pub fn check(opts: &CheckOptions) -> Result<Report, CheckError> {
    let db = match &opts.db {
        Some(p) => Database::load(p)?,
        None => Database::builtin()?,
    };
    let (release, version) = match &opts.uname {
        Some((r, v)) => (r.clone(), v.clone()),
        None => {
            let u = rustix::system::uname();
            (
                u.release().to_string_lossy().into_owned(),
                u.version().to_string_lossy().into_owned(),
            )
        }
    };
    let kernel = identify(&release, &version);
    let mut findings = Vec::new();

    if let Some(min) = opts.min_sequence {
        if db.sequence < min {
            findings.push(Finding {
                id: DB_TOO_OLD.into(),
                kind: FindingKind::Database,
                verdict: Verdict::Unknown,
                message: format!(
                    "advisory database {} has sequence {} but at least {min} is required; flaws published since are not checked",
                    db.source, db.sequence
                ),
                accepted: false,
            });
        }
    }

    let mut advisories = Vec::new();
    let mut version_unknown = false;
    for a in &db.advisories {
        let result = a.matches(&kernel);
        let adv = &a.advisory;
        match &result {
            Match::Affected(why) => findings.push(Finding {
                id: adv.id.clone(),
                kind: FindingKind::Advisory,
                verdict: Verdict::Unfit,
                message: format!(
                    "{}{} ({}): {why}. {}",
                    adv.id,
                    adv.name
                        .as_ref()
                        .map(|n| format!(" \"{n}\""))
                        .unwrap_or_default(),
                    adv.class.as_str(),
                    adv.mechanism
                ),
                accepted: false,
            }),
            Match::Unknown(why) if adv.distro.is_some() => findings.push(Finding {
                id: adv.id.clone(),
                kind: FindingKind::Advisory,
                verdict: Verdict::Unknown,
                message: format!("{}: cannot tell: {why}", adv.id),
                accepted: false,
            }),
            Match::Unknown(_) => version_unknown = true,
            _ => {}
        }
        advisories.push(AdvisoryResult {
            id: adv.id.clone(),
            name: adv.name.clone(),
            class: adv.class,
            mechanism: adv.mechanism.clone(),
            requires: adv.requires.clone(),
            sources: adv.sources.clone(),
            result,
        });
    }
    if version_unknown {
        findings.push(Finding {
            id: KERNEL_VERSION_UNKNOWN.into(),
            kind: FindingKind::Kernel,
            verdict: Verdict::Unknown,
            message: format!("cannot match advisories: {}", kernel.basis),
            accepted: false,
        });
    }

    let cpu = cpu::read(&opts.sysfs_root);
    if let Some(err) = &cpu.error {
        findings.push(Finding {
            id: CPU_UNREADABLE.into(),
            kind: FindingKind::Cpu,
            verdict: Verdict::Unknown,
            message: format!("CPU vulnerability state unknown: {err}"),
            accepted: false,
        });
    }
    for f in &cpu.findings {
        let (verdict, detail) = match &f.state {
            cpu::CpuState::Vulnerable(d) if f.fails => (Verdict::Unfit, d),
            cpu::CpuState::Unknown(d) if f.reach == cpu::Reach::CrossProcess => {
                (Verdict::Unknown, d)
            }
            _ => continue,
        };
        findings.push(Finding {
            id: format!("cpu:{}", f.name),
            kind: FindingKind::Cpu,
            verdict,
            message: format!("cpu:{}: {detail}: {}", f.name, f.impact),
            accepted: false,
        });
    }

    for f in &mut findings {
        f.accepted = accepted(&opts.accept, &f.id);
    }
    let unused_accepts = opts
        .accept
        .iter()
        .filter(|a| {
            !findings
                .iter()
                .any(|f| accepted(std::slice::from_ref(a), &f.id))
        })
        .cloned()
        .collect();
    let open = || findings.iter().filter(|f| !f.accepted);
    let verdict = if open().any(|f| f.verdict == Verdict::Unfit) {
        Verdict::Unfit
    } else if open().any(|f| f.verdict == Verdict::Unknown) {
        Verdict::Unknown
    } else {
        Verdict::Fit
    };

    Ok(Report {
        verdict,
        kernel,
        database: DbInfo {
            source: db.source.clone(),
            sequence: db.sequence,
            updated: db.updated.clone(),
            entries: db.advisories.len(),
        },
        advisories,
        cpu,
        sysctls: sysctl::read(&opts.procfs_root),
        features: opts.features.then(ironpen_jail::features::detect),
        findings,
        unused_accepts,
    })
}

/// Options of [`gate`]: what `ironpen run --require-fit --accept-risk ID...` passes.
#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    pub accept: Vec<String>,
    pub db: Option<PathBuf>,
    pub min_sequence: Option<u64>,
    /// Test hooks: fake /sys and /proc trees (None: the real ones).
    pub sysfs_root: Option<PathBuf>,
    pub procfs_root: Option<PathBuf>,
}

/// The gate let the jail start.
#[derive(Debug, Clone)]
pub struct GateReport {
    pub report: Report,
    /// Items that would have refused the start but were accepted by the caller.
    pub accepted: Vec<Finding>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    /// Known-bad or unknown items remain.
    Unfit {
        verdict: Verdict,
        failures: Vec<Finding>,
    },
    /// A signal could not be read at all (e.g. the database): counted as unfit.
    Check(CheckError),
}

impl fmt::Display for GateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateError::Unfit { verdict, failures } => {
                writeln!(
                    f,
                    "refusing to start: this machine is {} to run a jail (--require-fit):",
                    if *verdict == Verdict::Unfit { "unfit" } else { "not known to be fit" }
                )?;
                for x in failures {
                    let lead = if x.verdict == Verdict::Unknown { "signal missing, counted as unfit (fail closed): " } else { "" };
                    writeln!(f, "  - {lead}{}", x.message)?;
                    writeln!(f, "    to run anyway, knowingly: --accept-risk {}", x.id)?;
                }
                write!(f, "see `ironpen check` for the full report")
            }
            GateError::Check(e) => write!(
                f,
                "refusing to start: {e}; the fitness check could not run, which counts as unfit under --require-fit (fail closed)"
            ),
        }
    }
}

/// Fail-closed fitness gate: Ok only when every item is fine or explicitly accepted.
pub fn gate(opts: &GateOptions) -> Result<GateReport, GateError> {
    let defaults = CheckOptions::default();
    let copts = CheckOptions {
        db: opts.db.clone(),
        min_sequence: opts.min_sequence,
        accept: opts.accept.clone(),
        sysfs_root: opts.sysfs_root.clone().unwrap_or(defaults.sysfs_root),
        procfs_root: opts.procfs_root.clone().unwrap_or(defaults.procfs_root),
        uname: None,
        features: false,
    };
    let report = check(&copts).map_err(GateError::Check)?;
    if report.verdict != Verdict::Fit {
        let failures = report
            .findings
            .iter()
            .filter(|f| !f.accepted)
            .cloned()
            .collect();
        return Err(GateError::Unfit {
            verdict: report.verdict,
            failures,
        });
    }
    let accepted = report
        .findings
        .iter()
        .filter(|f| f.accepted)
        .cloned()
        .collect();
    Ok(GateReport { report, accepted })
}

impl Report {
    /// The human table of `ironpen check`.
    pub fn render_text(&self) -> String {
        let mut o = String::new();
        let k = &self.kernel;
        let _ = writeln!(o, "Kernel   {} ({})", k.release, k.version);
        let _ = writeln!(
            o,
            "         upstream {}: {}",
            k.upstream
                .map(|v| v.to_string())
                .unwrap_or_else(|| "unknown".into()),
            k.basis
        );
        let d = &self.database;
        let _ = writeln!(
            o,
            "Database {} (sequence {}, updated {}, {} entries)",
            d.source, d.sequence, d.updated, d.entries
        );

        if let Some(features) = &self.features {
            let _ = writeln!(o, "\nFEATURES (what ironpen will use)");
            for (name, st) in features.entries() {
                let detail = match (name, st.reason(), features.landlock.abi) {
                    (_, Some(r), _) => r.to_owned(),
                    ("landlock", None, Some(abi)) => format!("ABI {abi}"),
                    _ => String::new(),
                };
                let _ = writeln!(o, "  {name:<20} {:<11} {detail}", st.level());
            }
        }

        let _ = writeln!(o, "\nKNOWN KERNEL FLAWS");
        for a in &self.advisories {
            let (word, why) = match &a.result {
                Match::Affected(w) => ("AFFECTED", w),
                Match::NotAffected(w) => ("ok", w),
                Match::Unknown(w) => ("unknown", w),
            };
            let name = a
                .name
                .as_ref()
                .map(|n| format!("{n}: "))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "  {:<9} {:<15} {:<10} {name}{why}",
                word,
                a.id,
                a.class.as_str()
            );
        }

        let _ = writeln!(
            o,
            "\nCPU (SMT: {})",
            self.cpu.smt.as_deref().unwrap_or("unknown")
        );
        if let Some(e) = &self.cpu.error {
            let _ = writeln!(o, "  unknown   {e}");
        }
        for c in &self.cpu.findings {
            let word = match (&c.state, c.fails) {
                (cpu::CpuState::NotAffected, _) => "ok",
                (cpu::CpuState::Mitigated(_), _) => "mitigated",
                (cpu::CpuState::Vulnerable(_), true) => "VULNERABLE",
                (cpu::CpuState::Vulnerable(_), false) => "vulnerable",
                (cpu::CpuState::Unknown(_), _) => "unknown",
            };
            let _ = writeln!(o, "  {word:<10} {:<26} {}", c.name, c.raw);
            if matches!(c.state, cpu::CpuState::Vulnerable(_)) {
                let _ = writeln!(o, "  {:<10} {:<26} -> {}", "", "", c.impact);
            }
        }

        let _ = writeln!(o, "\nSETTINGS (advice; not part of the verdict)");
        for s in &self.sysctls {
            let (word, detail) = match &s.state {
                sysctl::SysctlState::Ok => ("ok", String::new()),
                sysctl::SysctlState::Weak => {
                    ("WEAK", format!("recommended {}: {}", s.recommended, s.why))
                }
                sysctl::SysctlState::Absent(d) => ("absent", d.clone()),
                sysctl::SysctlState::Unreadable(d) => ("unreadable", d.clone()),
            };
            let value = s.value.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
            let _ = writeln!(o, "  {word:<10} {:<34} {value:<3} {detail}", s.name);
        }

        let _ = writeln!(o, "\nVERDICT: {}", self.verdict.as_str().to_uppercase());
        for f in &self.findings {
            let tag = if f.accepted {
                "accepted"
            } else {
                f.verdict.as_str()
            };
            let _ = writeln!(o, "  [{tag}] {}", f.message);
            if !f.accepted {
                let _ = writeln!(o, "      accept knowingly with --accept-risk {}", f.id);
            }
        }
        for a in &self.unused_accepts {
            let _ = writeln!(o, "  note: --accept-risk {a} matched nothing");
        }
        o
    }
}
