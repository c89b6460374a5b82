//! `ironpen check`: is this kernel and CPU fit to run a jail?

use std::path::PathBuf;

use anyhow::Context as _;

/// Options of `ironpen check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Advisory database to use instead of the built-in one (e.g. a newer data/advisories.toml).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Require an advisory database with at least this sequence number.
    #[arg(long, value_name = "N")]
    pub min_sequence: Option<u64>,
    /// Accept one known risk (a CVE id, `cpu:NAME`, `kernel-version-unknown`, ...); repeatable.
    #[arg(long = "accept-risk", value_name = "ID")]
    pub accept_risk: Vec<String>,
    /// Read CPU state from this directory instead of /sys (for tests).
    #[arg(long, value_name = "DIR", hide = true, default_value = "/sys")]
    pub sysfs_root: PathBuf,
    /// Read sysctls from this directory instead of /proc (for tests).
    #[arg(long, value_name = "DIR", hide = true, default_value = "/proc")]
    pub procfs_root: PathBuf,
    /// Judge this `uname -r` instead of the running kernel's (needs --uname-v).
    #[arg(long, value_name = "RELEASE", hide = true, requires = "uname_v")]
    pub uname_r: Option<String>,
    /// Judge this `uname -v` instead of the running kernel's (needs --uname-r).
    #[arg(long, value_name = "VERSION", hide = true, requires = "uname_r")]
    pub uname_v: Option<String>,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<i32> {
    let opts = ironpen_audit::CheckOptions {
        db: args.db.clone(),
        min_sequence: args.min_sequence,
        accept: args.accept_risk.clone(),
        sysfs_root: args.sysfs_root.clone(),
        procfs_root: args.procfs_root.clone(),
        uname: args.uname_r.clone().zip(args.uname_v.clone()),
        features: true,
    };
    let report = match ironpen_audit::check(&opts) {
        Ok(r) => r,
        Err(e) => {
            // No report means no verdict: "unknown", never "fit".
            eprintln!("ironpen check: {e}; verdict: unknown");
            return Ok(ironpen_audit::Verdict::Unknown.exit_code());
        }
    };
    if args.json {
        let text = serde_json::to_string_pretty(&report).context("serialize check report")?;
        println!("{text}");
    } else {
        print!("{}", report.render_text());
    }
    Ok(report.verdict.exit_code())
}
