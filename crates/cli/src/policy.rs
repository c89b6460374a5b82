//! `ironpen policy`: inspect policies without running anything. `explain` prints what a seccomp
//! profile decides for every syscall of an architecture, from the same compile step `run` uses.

use std::collections::BTreeSet;
use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use ironpen_policy::model::init::{generate, Answers, QUESTIONS};
use ironpen_policy::model::Source;
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
    /// Print the fully merged policy (includes, booleans and --set applied) as TOML.
    Show(PolicyFileArgs),
    /// Validate a policy: exit 0 when it loads and merges, 125 with file:line:col otherwise.
    Check(PolicyFileArgs),
    /// Rate a policy's exposure from 0 (locked down) to 10 (no isolation), protection by
    /// protection.
    Score(ScoreArgs),
}

#[derive(Args, Debug)]
pub struct PolicyFileArgs {
    /// A policy FILE or a built-in profile (@default, @strict, @compute, @network-client,
    /// @server, @dev-tools).
    #[arg(value_name = "FILE|@NAME")]
    pub policy: String,
    /// Set a boolean the policy declares (repeatable), e.g. --set network=true.
    #[arg(long, value_name = "NAME=true|false", action = clap::ArgAction::Append)]
    pub set: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub file: PolicyFileArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
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
        PolicyCommand::Show(a) => {
            let p = crate::policy_run::load_policy(&a.policy, &a.set)?;
            emit(&p.to_toml())
        }
        PolicyCommand::Check(a) => {
            let p = crate::policy_run::load_policy(&a.policy, &a.set)?;
            // What `run` would refuse (grants not enforced yet) fails the check too.
            crate::policy_run::request_from_policy(&p)?;
            emit(&format!(
                "{}: ok ({} sources merged)\n",
                a.policy,
                p.sources.len()
            ))
        }
        PolicyCommand::Score(a) => {
            let p = crate::policy_run::load_policy(&a.file.policy, &a.file.set)?;
            let s = ironpen_policy::score::score(&p);
            if a.json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&s)?))
            } else {
                emit(&s.to_string())
            }
        }
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

/// Options of `ironpen init`.
#[derive(Args, Debug)]
#[command(
    after_help = "On a terminal (standard input and standard error) the questions are prompts: \
arrow keys and Enter choose, Enter alone takes the default. Otherwise they are read line by line \
from standard input, so answers can be piped: printf 'server\\nserver\\n80\\n' | ironpen init -o web.toml\n\
An answers FILE is TOML with the question keys: purpose, network, ports, writable, readable, \
virtualization, jit, priority; missing keys take the default."
)]
pub struct InitArgs {
    /// Take the answers from this TOML file instead of asking.
    #[arg(long, value_name = "FILE", conflicts_with = "yes")]
    pub answers: Option<std::path::PathBuf>,
    /// Take every default answer without asking.
    #[arg(long)]
    pub yes: bool,
    /// Write the policy here instead of standard output (an existing file is not replaced).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

/// signal(7): the same number on every Linux architecture.
const SIGINT: i32 = 2;

/// While prompting: SIGINT blocked, so Ctrl-C (read as a key in raw mode and re-raised by the
/// prompt library) ends the prompt with an error instead of killing ironpen with the cursor
/// hidden; and the terminal's ISIG off from the first question to the last, so a Ctrl-C typed
/// between two prompts (when the library is not in raw mode) is still read as that key instead
/// of becoming a blocked signal nobody looks at. Dropping the guard shows the cursor, restores
/// the terminal's modes, then the mask: a pending SIGINT then ends ironpen the usual way.
struct PromptGuard {
    mask: Option<ironpen_sys::signal::SigSet>,
    modes: Option<rustix::termios::Termios>,
}

impl PromptGuard {
    fn new() -> Self {
        let mask = ironpen_sys::signal::block(&ironpen_sys::signal::SigSet::of(&[SIGINT])).ok();
        let stdin = std::io::stdin();
        let modes = rustix::termios::tcgetattr(&stdin).ok();
        if let Some(old) = &modes {
            let mut quiet = old.clone();
            quiet.local_modes.remove(rustix::termios::LocalModes::ISIG);
            let _ =
                rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &quiet);
        }
        PromptGuard { mask, modes }
    }
}

impl Drop for PromptGuard {
    fn drop(&mut self) {
        let _ = dialoguer::console::Term::stderr().show_cursor();
        if let Some(old) = &self.modes {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin(),
                rustix::termios::OptionalActions::Now,
                old,
            );
        }
        if let Some(old) = &self.mask {
            let _ = ironpen_sys::signal::set_mask(old);
        }
    }
}

/// Ask each question with a prompt on the terminal (dialoguer, on stderr): a list to pick from
/// for questions with choices, a line editor checked by `Answers::answer` for the others.
fn ask_terminal(answers: &mut Answers) -> Result<()> {
    use dialoguer::{theme::ColorfulTheme, Input, Select};
    let theme = ColorfulTheme::default();
    let _guard = PromptGuard::new();
    for q in QUESTIONS {
        let answer = if q.choices.is_empty() {
            let check = answers.clone();
            Input::<String>::with_theme(&theme)
                .with_prompt(q.prompt)
                .allow_empty(true)
                .validate_with(move |s: &String| -> Result<(), String> {
                    check.clone().answer(q, s)
                })
                .interact_text()
                .with_context(|| format!("asking {} on the terminal", q.key))?
        } else {
            let default = q.choices.iter().position(|c| *c == q.default).unwrap_or(0);
            let i = Select::with_theme(&theme)
                .with_prompt(q.prompt)
                .items(q.choices)
                .default(default)
                .interact()
                .with_context(|| format!("asking {} on the terminal", q.key))?;
            q.choices[i].to_string()
        };
        answers
            .answer(q, &answer)
            .map_err(|e| anyhow!("{}: {e}", q.key))?;
    }
    Ok(())
}

/// Ask each question on stderr and read its answer as a line from stdin (a pipe or a file). At
/// end of input the remaining questions take their defaults; a wrong answer is asked again.
fn ask_lines(answers: &mut Answers) -> Result<()> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    for q in QUESTIONS {
        loop {
            let choices = if q.choices.is_empty() {
                String::new()
            } else {
                format!(" [{}]", q.choices.join("/"))
            };
            eprint!("{}{choices} ({}): ", q.prompt, q.default);
            let line = match lines.next() {
                Some(l) => {
                    let l = l.context("reading an answer from standard input")?;
                    // Over a pipe nothing echoes the answer: show it after its question.
                    eprintln!("{l}");
                    l
                }
                None => {
                    eprintln!("(end of input: {} = {})", q.key, q.default);
                    String::new()
                }
            };
            match answers.answer(q, &line) {
                Ok(()) => break,
                Err(e) if line.is_empty() => bail!("{}: {e}", q.key),
                Err(e) => eprintln!("ironpen: {e}"),
            }
        }
    }
    Ok(())
}

pub fn init(a: &InitArgs) -> Result<i32> {
    let mut answers = Answers::default();
    if let Some(path) = &a.answers {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--answers {}: cannot read", path.display()))?;
        answers = Answers::from_toml(&path.display().to_string(), &text)?;
    } else if !a.yes {
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            ask_terminal(&mut answers)?;
        } else {
            ask_lines(&mut answers)?;
        }
    }
    let text = generate(&answers);
    // The generated policy must load like any other: check it before handing it out.
    let mut loader = |name: &str, _: Option<&str>| -> Result<Source, String> {
        if name == "init.toml" {
            Ok(Source {
                name: name.into(),
                text: text.clone(),
            })
        } else {
            Err("not available while checking a generated policy".into())
        }
    };
    ironpen_policy::model::load("init.toml", &[], &mut loader, &crate::policy_run::vars())
        .context("the generated policy does not load here")?;
    match &a.output {
        Some(path) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .with_context(|| format!("-o {}: cannot create", path.display()))?;
            f.write_all(text.as_bytes())
                .with_context(|| format!("-o {}: cannot write", path.display()))?;
            eprintln!("ironpen: wrote {}", path.display());
            Ok(0)
        }
        None => emit(&text),
    }
}
