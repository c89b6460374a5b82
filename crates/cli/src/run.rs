//! `ironpen run`: turn command-line options into a `JailSpec` and run it.

/// Options of `ironpen run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The command to run inside the jail, and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

pub fn run(_args: RunArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`ironpen run` is not implemented yet")
}
