//! `ironpen pax get|set`: read and write the PaX-style marking (`user.pax.flags`) that exempts
//! one binary from memory-deny-write-execute (`m`) or address-space randomisation (`r`).

use std::path::PathBuf;

use anyhow::Context as _;
use ironpen_jail::pax::{self, PaxFlags};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Flags: P E M R S (uppercase = enabled, lowercase = disabled, '-' = unset), \
as Gentoo Hardened writes them. ironpen honours m (run without memory-deny-write-execute: JITs \
such as node, java, luajit) and r (run without address-space randomisation).\n\n\
Examples:\n  ironpen pax set /usr/bin/node m\n  ironpen pax get /usr/bin/node\n  \
ironpen pax set ./tool ''      (remove the marking)"
)]
pub struct PaxArgs {
    #[command(subcommand)]
    pub command: PaxCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum PaxCommand {
    /// Print the marking of FILE (or "no marking").
    Get {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Mark FILE with FLAGS (e.g. m); empty FLAGS remove the marking.
    Set {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(value_name = "FLAGS", allow_hyphen_values = true)]
        flags: String,
    },
}

pub fn run(args: &PaxArgs) -> anyhow::Result<i32> {
    match &args.command {
        PaxCommand::Get { file } => {
            let Some(raw) = pax::read_raw(file)? else {
                println!("{}: no marking", file.display());
                return Ok(0);
            };
            let flags = PaxFlags::parse(&raw).with_context(|| {
                format!(
                    "{}: invalid marking (ignored by ironpen run)",
                    file.display()
                )
            })?;
            println!("{}: {raw}", file.display());
            for line in flags.describe() {
                println!("  {line}");
            }
            Ok(0)
        }
        PaxCommand::Set { file, flags } => {
            let parsed = PaxFlags::parse(flags)?;
            pax::set(file, &parsed)?;
            if parsed.is_empty() {
                println!("{}: marking removed", file.display());
            } else {
                println!("{}: {parsed}", file.display());
            }
            Ok(0)
        }
    }
}
