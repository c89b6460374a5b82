//! `ironpen check`: is this kernel and CPU fit to run a jail?

/// Options of `ironpen check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {}

pub fn run(_args: &CheckArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`ironpen check` is not implemented yet")
}
