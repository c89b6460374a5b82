//! `ironpen policy`: inspect policies without running anything. `explain` prints what a seccomp
//! profile decides for every syscall of an architecture, from the same compile step `run` uses.

use std::collections::BTreeSet;
use std::io::Write as _;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use ironpen_policy::seccomp::{
    compile, default_profile, explain, explain_text, parse_profile, summary, verify, Arch, Filter,
    OciContext,
};

#[derive(Args, Debug)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Print the compiled seccomp filter's decision for every syscall.
    Explain(ExplainArgs),
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// `default` (ironpen's profile) or a FILE: an OCI/Docker seccomp JSON profile, or ironpen's
    /// own JSON form.
    #[arg(long, value_name = "default|FILE", default_value = "default")]
    pub seccomp: String,
    /// Architecture to compile for (default: this machine's).
    #[arg(long, value_enum)]
    pub arch: Option<ArchArg>,
    /// Capability the jail keeps, for OCI profiles' `includes`/`excludes` (repeatable), e.g.
    /// CAP_SYS_ADMIN.
    #[arg(long = "cap", value_name = "CAP")]
    pub caps: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ArchArg {
    #[value(name = "x86_64")]
    X86_64,
    #[value(name = "aarch64")]
    Aarch64,
}

impl From<ArchArg> for Arch {
    fn from(a: ArchArg) -> Arch {
        match a {
            ArchArg::X86_64 => Arch::X86_64,
            ArchArg::Aarch64 => Arch::Aarch64,
        }
    }
}

pub fn run(args: &PolicyArgs) -> Result<i32> {
    match &args.command {
        PolicyCommand::Explain(a) => explain_cmd(a),
    }
}

/// `default` or the profile in `path`, read for `ctx`; errors name the file and the field.
fn load(profile: &str, ctx: &OciContext) -> Result<Filter> {
    match profile {
        "default" => return Ok(default_profile()),
        "none" => {
            bail!("--seccomp none: there is no filter to explain; every syscall reaches the kernel")
        }
        _ => {}
    }
    let text = std::fs::read_to_string(profile)
        .with_context(|| format!("--seccomp {profile}: cannot read"))?;
    parse_profile(&text, ctx).with_context(|| format!("--seccomp {profile}"))
}

fn explain_cmd(a: &ExplainArgs) -> Result<i32> {
    let arch = match a.arch {
        Some(x) => Arch::from(x),
        None => Arch::native()
            .ok_or_else(|| anyhow!("no syscall table for this CPU architecture; pass --arch"))?,
    };
    let mut ctx = OciContext::new(arch);
    ctx.caps = a
        .caps
        .iter()
        .map(|c| normalize_cap(c))
        .collect::<BTreeSet<_>>();
    let filter = load(&a.seccomp, &ctx)?;
    // Compile and verify as `run` would, so what we explain is a filter the kernel would load.
    let prog = compile(&filter, arch)
        .with_context(|| format!("--seccomp {}: does not compile for {arch}", a.seccomp))?;
    verify(&prog).map_err(|e| {
        anyhow!(
            "--seccomp {}: compiled program for {arch} fails verification (a compiler bug): {e}",
            a.seccomp
        )
    })?;
    if a.json {
        let syscalls: Vec<serde_json::Value> = explain(&filter, arch)
            .into_iter()
            .map(|l| {
                let mut v = serde_json::to_value(&l).expect("explain lines serialize");
                v["summary"] = summary(&l.decision).into();
                v
            })
            .collect();
        let doc = serde_json::json!({
            "profile": a.seccomp,
            "arch": arch.name(),
            "instructions": prog.len(),
            "default_action": filter.default_action.to_string(),
            "unknown_action": filter.unknown_action.unwrap_or(filter.default_action).to_string(),
            "bad_arch_action": filter.bad_arch_action.to_string(),
            "x32_action": (arch == Arch::X86_64).then(|| filter.x32_action.to_string()),
            "syscalls": syscalls,
        });
        emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))
    } else {
        emit(&format!(
            "# profile {}: {} BPF instructions for {arch}\n{}",
            a.seccomp,
            prog.len(),
            explain_text(&filter, arch)
        ))
    }
}

/// Write the report; a closed pipe (`| head`) is the reader's choice, not a failure.
fn emit(text: &str) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e).context("writing the report to stdout"),
    }
}

/// `sys_admin` / `SYS_ADMIN` / `CAP_SYS_ADMIN` -> `CAP_SYS_ADMIN`, as OCI profiles spell them.
fn normalize_cap(c: &str) -> String {
    let up = c.to_ascii_uppercase();
    if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    }
}
