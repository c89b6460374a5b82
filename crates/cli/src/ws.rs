//! `ironpen ws ...` and the `--workspace` part of `ironpen run`: thin wrappers over
//! `ironpen_jail::workspace`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ironpen_jail::spec::JailSpec;
use ironpen_jail::workspace::{self, Workspace, WsLock};

/// Lock workspace `name`, create its layers and add the overlays of `bases` to `spec`.
pub fn attach_to_run(
    spec: &mut JailSpec,
    name: &str,
    dir: Option<&Path>,
    bases: &[PathBuf],
    wait: bool,
    chdir_given: bool,
) -> anyhow::Result<WsLock> {
    let ws = Workspace::locate(name, dir)?;
    ws.create()?;
    let lock = ws.lock(wait)?;
    let bases = if bases.is_empty() {
        vec![std::env::current_dir().context("current directory (the default --base)")?]
    } else {
        bases.to_vec()
    };
    ws.attach(spec, &bases, &lock)?;
    if !chdir_given {
        if let Ok(b) = std::fs::canonicalize(&bases[0]) {
            spec.cwd = b;
        }
    }
    Ok(lock)
}

#[derive(clap::Args, Debug)]
pub struct WsArgs {
    /// Directory holding the workspaces (default: /var/lib/ironpen/workspaces as root,
    /// $XDG_STATE_HOME/ironpen/workspaces or ~/.local/state/ironpen/workspaces otherwise).
    #[arg(long, value_name = "DIR", global = true)]
    pub root: Option<PathBuf>,
    /// Wait for a busy workspace instead of failing.
    #[arg(long, global = true)]
    pub wait: bool,
    #[command(subcommand)]
    pub cmd: WsCmd,
}

#[derive(clap::Subcommand, Debug)]
pub enum WsCmd {
    /// List workspaces.
    List,
    /// Show a workspace's bases and layers.
    Show { name: String },
    /// Delete a workspace and everything in it.
    Rm { name: String },
}

fn open(args: &WsArgs, name: &str) -> anyhow::Result<Workspace> {
    let dir = args.root.as_ref().map(|r| r.join(name));
    let ws = Workspace::locate(name, dir.as_deref())?;
    ws.meta()?;
    Ok(ws)
}

pub fn run(args: &WsArgs) -> anyhow::Result<i32> {
    match &args.cmd {
        WsCmd::List => {
            let root = match &args.root {
                Some(r) => r.clone(),
                None => workspace::default_root()?,
            };
            for ws in Workspace::list(&root)? {
                let n = ws.meta().map(|m| m.layers.len()).unwrap_or(0);
                println!("{}\t{} base(s)\t{}", ws.name, n, ws.dir.display());
            }
        }
        WsCmd::Show { name } => {
            let ws = open(args, name)?;
            let meta = ws.meta()?;
            println!("workspace {}\ndirectory {}", ws.name, ws.dir.display());
            for l in &meta.layers {
                println!(
                    "base {} -> layer {}",
                    l.base.display(),
                    ws.upper(l).display()
                );
            }
        }
        WsCmd::Rm { name } => {
            let ws = open(args, name)?;
            let _lock = ws.lock(args.wait)?;
            workspace::store::remove_tree(&ws.dir)?;
            println!("removed workspace {name}");
        }
    }
    Ok(0)
}
