//! The `ironpen` binary: parse the command line, call the library crates, print results.
//! Exit codes: the jailed command's own status; 128+N when it was killed by signal N;
//! 125 when ironpen itself failed.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod check;
mod pax;
mod policy;
mod policy_run;
mod run;
mod shell;
mod ws;

/// Strong, light isolation for one program.
#[derive(Parser, Debug)]
#[command(name = "ironpen", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    #[command(about = RUN_ABOUT)]
    Run(Box<run::RunArgs>),
    /// An interactive shell in a hardened jail (same options as `run`).
    Shell(Box<shell::ShellArgs>),
    /// Is this kernel and CPU fit to run a jail? (exit 0 fit, 1 unfit, 2 unknown)
    Check(check::CheckArgs),
    /// Inspect policies: show, check and score policy files; explain seccomp profiles.
    Policy(policy::PolicyArgs),
    /// Write a commented policy file from a few questions (or --answers FILE, or --yes).
    Init(policy::InitArgs),
    /// Read or write a binary's PaX-style marking (user.pax.flags), e.g. `m` for JITs.
    Pax(pax::PaxArgs),
    /// Copy-on-write workspaces: list, show, diff, checkpoint, rollback, export, apply, rm (see
    /// `ironpen run --workspace`).
    Ws(ws::WsArgs),
}

/// Exit status meaning "ironpen itself failed" (as opposed to the jailed program).
pub const EXIT_IRONPEN_FAILED: i32 = 125;

/// `ironpen run ...`, the command on every jail's start-up path: the same `run` subcommand,
/// without building the definitions of all the others (that halves the command line's cost,
/// ~0.15 ms per start). Help, errors and parsing are `run`'s own either way.
#[derive(Parser, Debug)]
#[command(name = "ironpen", version, about, long_about = None)]
struct RunOnly {
    #[command(subcommand)]
    command: RunOnlyCommand,
}

#[derive(Subcommand, Debug)]
enum RunOnlyCommand {
    #[command(about = RUN_ABOUT)]
    Run(Box<run::RunArgs>),
}

const RUN_ABOUT: &str = "Run a program in a hardened jail";

fn parse() -> Result<(Cli, clap::ArgMatches), clap::Error> {
    if std::env::args_os().nth(1).is_some_and(|a| a == "run") {
        let m = RunOnly::command().try_get_matches()?;
        let RunOnly {
            command: RunOnlyCommand::Run(args),
        } = RunOnly::from_arg_matches(&m)?;
        return Ok((
            Cli {
                command: Command::Run(args),
            },
            m,
        ));
    }
    Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)))
}

fn main() {
    let (cli, matches) = match parse() {
        Ok(v) => v,
        Err(e) if e.use_stderr() => {
            // One line naming the argument and the reason, like every other input error.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let detail = text
                .lines()
                .nth(1)
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("tip:"));
            match detail {
                Some(d) => eprintln!("ironpen: {first} {d} (see --help)"),
                None => eprintln!("ironpen: {first} (see --help)"),
            }
            std::process::exit(EXIT_IRONPEN_FAILED);
        }
        Err(e) => {
            // --help and --version.
            let _ = e.print();
            std::process::exit(0);
        }
    };
    let result = match cli.command {
        Command::Run(args) => {
            let sub = matches
                .subcommand_matches("run")
                .cloned()
                .unwrap_or_default();
            run::run(*args, &sub)
        }
        Command::Shell(args) => {
            let sub = matches.subcommand_matches("shell").cloned();
            shell::run(*args, &sub.unwrap_or_default())
        }
        Command::Check(args) => check::run(&args),
        Command::Policy(args) => policy::run(&args),
        Command::Pax(args) => pax::run(&args),
        Command::Init(args) => policy::init(&args),
        Command::Ws(args) => ws::run(&args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("ironpen: {e:#}");
            std::process::exit(EXIT_IRONPEN_FAILED);
        }
    }
}
