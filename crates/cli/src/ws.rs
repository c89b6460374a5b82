//! `ironpen ws ...` and the `--workspace` part of `ironpen run`: thin wrappers over
//! `ironpen_jail::workspace`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ironpen_jail::spec::JailSpec;
use ironpen_jail::workspace::fuse::DriverChoice;
use ironpen_jail::workspace::{self, Workspace, WsLock};

/// The `--workspace` options of `ironpen run`.
pub struct RunWorkspace<'a> {
    pub name: &'a str,
    pub dir: Option<&'a Path>,
    pub bases: &'a [PathBuf],
    /// `--overlay-driver` (default auto).
    pub driver: Option<&'a str>,
    pub wait: bool,
    pub chdir_given: bool,
    /// `--print-plan`: plan only, create nothing, take no lock.
    pub preview: bool,
}

/// Lock workspace `name`, create its layers and add the overlays of `bases` to `spec`. With
/// `preview` only the plan is changed (no lock is returned).
pub fn attach_to_run(spec: &mut JailSpec, w: &RunWorkspace<'_>) -> anyhow::Result<Option<WsLock>> {
    let driver: DriverChoice = match w.driver {
        Some(d) => d.parse()?,
        None => DriverChoice::Auto,
    };
    let ws = Workspace::locate(w.name, w.dir)?;
    let bases = if w.bases.is_empty() {
        vec![std::env::current_dir().context("current directory (the default --base)")?]
    } else {
        w.bases.to_vec()
    };
    let lock = if w.preview {
        ws.preview(spec, &bases, driver)?;
        None
    } else {
        // Every refusal (bad base, no usable driver) comes before anything is created.
        ws.preview(&mut spec.clone(), &bases, driver)?;
        ws.create()?;
        let lock = ws.lock(w.wait)?;
        ws.attach(spec, &bases, driver, &lock)?;
        Some(lock)
    };
    if !w.chdir_given {
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
    /// Save the workspace's current state as checkpoint LABEL (default: the UTC time).
    Checkpoint { name: String, label: Option<String> },
    /// List the workspace's checkpoints, oldest first.
    Checkpoints { name: String },
    /// Write the changes as a tar (OCI layer convention: a deletion is an empty `.wh.NAME`, a
    /// replaced directory holds `.wh..wh..opq`).
    Export {
        name: String,
        file: PathBuf,
        /// Refuse regular files larger than this (tar cannot keep holes).
        #[arg(long = "max-file-size", value_name = "BYTES", default_value_t = 4 << 30)]
        max_file_size: u64,
    },
    /// Merge the changes into the real base directories. Lists every action first; setuid and
    /// setgid bits are stripped, file capabilities and xattrs not copied, device nodes refused.
    Apply {
        name: String,
        /// Only list what would be done.
        #[arg(long = "dry-run")]
        dry_run: bool,
        /// Keep setuid/setgid bits on applied files (dangerous: they then work on the host).
        #[arg(long = "allow-setuid")]
        allow_setuid: bool,
    },
    /// Restore checkpoint LABEL (default: the latest); the current state is discarded.
    Rollback { name: String, label: Option<String> },
    /// What the workspace changed relative to its bases: A added, M modified, m metadata only,
    /// D deleted, R replaced directory, T type changed. Names are printed escaped.
    Diff {
        name: String,
        /// Only the totals.
        #[arg(long, conflicts_with_all = ["json", "patch"])]
        stat: bool,
        /// One JSON object per line per change, then a final {"stats": ...} line.
        #[arg(long, conflicts_with = "patch")]
        json: bool,
        /// Also print a unified diff of each changed text file (up to --patch-limit bytes).
        #[arg(long)]
        patch: bool,
        /// Largest file (bytes) --patch shows.
        #[arg(long = "patch-limit", value_name = "BYTES", default_value_t = 1 << 20)]
        patch_limit: u64,
    },
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
                let busy = match ws.lock(false) {
                    Ok(_) => String::new(),
                    Err(e) => format!("\t{}", e.reason),
                };
                println!("{}\t{} base(s)\t{}{busy}", ws.name, n, ws.dir.display());
            }
        }
        WsCmd::Show { name } => {
            let ws = open(args, name)?;
            let meta = ws.meta()?;
            println!("workspace {}\ndirectory {}", ws.name, ws.dir.display());
            for l in &meta.layers {
                println!(
                    "base {} -> layer {}{}",
                    l.base.display(),
                    ws.upper(l).display(),
                    if l.fuse { " (fuse-overlayfs)" } else { "" }
                );
            }
            let cps = ws.checkpoints()?;
            match cps.last() {
                Some(last) => println!("{} checkpoint(s), latest {}", cps.len(), last.label),
                None => println!("no checkpoints"),
            }
            if let Err(e) = ws.lock(false) {
                println!("{}", e.reason);
            }
        }
        WsCmd::Diff {
            name,
            stat,
            json,
            patch,
            patch_limit,
        } => {
            let ws = open(args, name)?;
            let _lock = ws.lock(args.wait)?;
            return diff(&ws, *stat, *json, patch.then_some(*patch_limit));
        }
        WsCmd::Checkpoint { name, label } => {
            let ws = open(args, name)?;
            let lock = ws.lock(args.wait)?;
            let cp = ws.checkpoint(label.as_deref(), &lock)?;
            println!("checkpoint {} of workspace {name}", cp.label);
        }
        WsCmd::Checkpoints { name } => {
            let ws = open(args, name)?;
            let _lock = ws.lock(args.wait)?;
            for cp in ws.checkpoints()? {
                println!("{}\t{}", cp.label, workspace::utc_label(cp.created));
            }
        }
        WsCmd::Rollback { name, label } => {
            let ws = open(args, name)?;
            let lock = ws.lock(args.wait)?;
            let cp = ws.rollback(label.as_deref(), &lock)?;
            println!("workspace {name} rolled back to checkpoint {}", cp.label);
        }
        WsCmd::Export {
            name,
            file,
            max_file_size,
        } => {
            let ws = open(args, name)?;
            let _lock = ws.lock(args.wait)?;
            let tmp = file.with_extension("tar.partial");
            let f =
                std::fs::File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
            let w = std::io::BufWriter::new(f);
            match workspace::export::export(&ws, w, *max_file_size) {
                Ok(s) => {
                    std::fs::rename(&tmp, file)
                        .with_context(|| format!("rename to {}", file.display()))?;
                    println!(
                        "exported {} entries, {} whiteouts, {} bytes to {}",
                        s.entries,
                        s.whiteouts,
                        s.bytes,
                        file.display()
                    );
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e.into());
                }
            }
        }
        WsCmd::Apply {
            name,
            dry_run,
            allow_setuid,
        } => {
            let ws = open(args, name)?;
            let _lock = ws.lock(args.wait)?;
            let opts = workspace::apply::ApplyOptions {
                dry_run: *dry_run,
                allow_setuid: *allow_setuid,
            };
            let n = workspace::apply::apply(&ws, opts, &mut |l| println!("{l}"))?;
            if !dry_run {
                println!("applied {n} changes");
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

fn diff(ws: &Workspace, stat: bool, json: bool, patch: Option<u64>) -> anyhow::Result<i32> {
    use std::io::Write;
    use workspace::diff::{self, Change, Kind, Stats};
    let meta = ws.meta()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut total = Stats::default();
    let mut write_err: Option<std::io::Error> = None;
    for layer in &meta.layers {
        let upper = ws.upper(layer);
        let mut show = |e: &diff::Entry| {
            if stat || write_err.is_some() {
                return;
            }
            let r = if json {
                serde_json::to_string(e)
                    .map_err(std::io::Error::other)
                    .and_then(|l| writeln!(out, "{l}"))
            } else {
                writeln!(out, "{}", e.line()).and_then(|()| {
                    let text = matches!(e.change, Change::Added | Change::Modified)
                        && e.kind == Kind::File;
                    match patch {
                        Some(limit) if text => {
                            let rel = diff::relative(&e.raw_path, &layer.base);
                            match diff::patch(&upper, &layer.base, rel, &e.path, limit) {
                                Some(p) => write!(out, "{p}"),
                                None => writeln!(
                                    out,
                                    "   (binary or larger than {limit} bytes: no patch)"
                                ),
                            }
                        }
                        _ => Ok(()),
                    }
                })
            };
            if let Err(err) = r {
                write_err = Some(err);
            }
        };
        let s = diff::walk(&upper, &layer.base, &layer.base, layer.format(), &mut show)?;
        total.added += s.added;
        total.modified += s.modified;
        total.metadata += s.metadata;
        total.deleted += s.deleted;
        total.replaced += s.replaced;
        total.type_changed += s.type_changed;
        total.bytes += s.bytes;
        total.errors.extend(s.errors);
    }
    if let Some(e) = write_err {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            anyhow::bail!("write diff: {e}");
        }
        return Ok(0);
    }
    if json {
        writeln!(out, "{}", serde_json::json!({ "stats": total }))?;
    } else if stat {
        writeln!(
            out,
            "{} added, {} modified, {} metadata only, {} deleted, {} replaced directories, {} type changes; {} bytes in changed files",
            total.added, total.modified, total.metadata, total.deleted, total.replaced, total.type_changed, total.bytes
        )?;
    }
    out.flush()?;
    for e in &total.errors {
        eprintln!("ironpen: ws diff: could not examine {e}");
    }
    Ok(if total.errors.is_empty() { 0 } else { 1 })
}
