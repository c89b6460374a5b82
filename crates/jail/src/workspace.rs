//! Copy-on-write workspaces: a named directory on the host holding, per base directory, the
//! upper and work layers of an overlay that the jail sees at the base's own path. The base is
//! only ever the overlay's read-only lower layer. See docs/workspaces.md.
//!
//! Layout of a workspace directory (0700, owned by the caller):
//! `workspace.json` (which base each layer belongs to), `lock` (flock; holds the holder's pid),
//! `layers/N/{upper,work}` (owned by the jail's host ids), `checkpoints/LABEL/` (copies of
//! `layers/`).

pub mod diff;
pub mod escape;
pub mod store;

use std::io::{Read, Seek, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::spec::{JailSpec, MountOp};

/// A workspace operation that failed: what, on which object, why.
#[derive(Debug, thiserror::Error)]
#[error("{op} {object}: {reason}")]
pub struct WsError {
    pub op: String,
    pub object: String,
    pub reason: String,
}

impl WsError {
    pub fn new(op: &str, object: impl AsRef<str>, reason: impl ToString) -> Self {
        Self {
            op: op.into(),
            object: object.as_ref().into(),
            reason: reason.to_string(),
        }
    }
    fn io(op: &str, path: &Path, e: std::io::Error) -> Self {
        Self::new(op, format!("{:?}", path.display().to_string()), e)
    }
}

pub type Result<T> = std::result::Result<T, WsError>;

/// One base directory and the layer that records its changes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Canonical host path of the base (also its path inside the jail).
    pub base: PathBuf,
    /// Directory name under `layers/`.
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub version: u32,
    pub layers: Vec<Layer>,
}

/// A workspace on the host.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub name: String,
    pub dir: PathBuf,
}

/// The held lock of a workspace; released on drop (and when the process dies).
#[derive(Debug)]
pub struct WsLock {
    _file: std::fs::File,
}

/// Where workspaces live by default: root `/var/lib/ironpen/workspaces`, otherwise
/// `$XDG_STATE_HOME/ironpen/workspaces` or `~/.local/state/ironpen/workspaces`.
pub fn default_root() -> Result<PathBuf> {
    if rustix::process::geteuid().is_root() {
        return Ok(PathBuf::from("/var/lib/ironpen/workspaces"));
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|x| Path::new(x).is_absolute()) {
        return Ok(Path::new(&x).join("ironpen/workspaces"));
    }
    match std::env::var_os("HOME").filter(|h| Path::new(h).is_absolute()) {
        Some(h) => Ok(Path::new(&h).join(".local/state/ironpen/workspaces")),
        None => Err(WsError::new(
            "locate",
            "workspaces",
            "neither XDG_STATE_HOME nor HOME is set to an absolute path (use --workspace-dir)",
        )),
    }
}

/// Workspace names are single, plain path components.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(WsError::new(
            "workspace",
            name,
            "name must be 1-64 characters of A-Z a-z 0-9 . _ - and not start with '.'",
        ))
    }
}

impl Workspace {
    /// The workspace `name` under `root` (default: [`default_root`]), or at exactly `dir`.
    pub fn locate(name: &str, dir: Option<&Path>) -> Result<Self> {
        check_name(name)?;
        let dir = match dir {
            Some(d) => std::path::absolute(d).map_err(|e| WsError::io("resolve", d, e))?,
            None => default_root()?.join(name),
        };
        Ok(Self {
            name: name.into(),
            dir,
        })
    }

    pub fn exists(&self) -> bool {
        self.dir.join("workspace.json").is_file()
    }

    /// Create the directory (0700) if needed.
    pub fn create(&self) -> Result<()> {
        if let Some(parent) = self.dir.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| WsError::io("mkdir", parent, e))?;
        }
        match std::fs::DirBuilder::new().mode(0o700).create(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(WsError::io("mkdir", &self.dir, e)),
        }
        let md =
            std::fs::symlink_metadata(&self.dir).map_err(|e| WsError::io("stat", &self.dir, e))?;
        if !md.is_dir() || md.uid() != rustix::process::geteuid().as_raw() {
            return Err(WsError::new(
                "open",
                self.dir.display().to_string(),
                "not a directory owned by the caller (refusing to use it as a workspace)",
            ));
        }
        if !self.exists() {
            self.save(&Meta {
                version: 1,
                layers: vec![],
            })?;
        }
        Ok(())
    }

    pub fn meta(&self) -> Result<Meta> {
        let p = self.dir.join("workspace.json");
        let text = std::fs::read_to_string(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                WsError::new(
                    "open",
                    &self.name,
                    format!("no such workspace (looked in {})", self.dir.display()),
                )
            } else {
                WsError::io("read", &p, e)
            }
        })?;
        serde_json::from_str(&text).map_err(|e| WsError::new("parse", p.display().to_string(), e))
    }

    fn save(&self, meta: &Meta) -> Result<()> {
        let p = self.dir.join("workspace.json");
        let tmp = self.dir.join(".workspace.json.tmp");
        let text = serde_json::to_string_pretty(meta)
            .map_err(|e| WsError::new("encode", "workspace.json", e))?;
        std::fs::write(&tmp, text + "\n").map_err(|e| WsError::io("write", &tmp, e))?;
        std::fs::rename(&tmp, &p).map_err(|e| WsError::io("rename", &p, e))
    }

    pub fn layers_dir(&self) -> PathBuf {
        self.dir.join("layers")
    }

    pub fn upper(&self, layer: &Layer) -> PathBuf {
        self.layers_dir().join(&layer.id).join("upper")
    }

    /// Take the workspace's lock: at most one jail or `ws` command at a time. Without `wait`, a
    /// busy workspace is an error naming the holder's pid.
    pub fn lock(&self, wait: bool) -> Result<WsLock> {
        use rustix::fs::FlockOperation;
        let p = self.dir.join("lock");
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&p)
            .map_err(|e| WsError::io("open", &p, e))?;
        if let Err(e) = rustix::fs::flock(f.as_fd(), FlockOperation::NonBlockingLockExclusive) {
            if e != rustix::io::Errno::WOULDBLOCK {
                return Err(WsError::io("flock", &p, e.into()));
            }
            if !wait {
                let mut holder = String::new();
                let _ = f.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another process".to_string()
                } else {
                    format!("pid {holder}")
                };
                return Err(WsError::new(
                    "lock",
                    format!("workspace {}", self.name),
                    format!("in use by {who} (use --wait to wait for it)"),
                ));
            }
            rustix::fs::flock(f.as_fd(), FlockOperation::LockExclusive)
                .map_err(|e| WsError::io("flock", &p, e.into()))?;
        }
        let _ = f.set_len(0);
        let _ = f.rewind();
        let _ = writeln!(f, "{}", std::process::id());
        Ok(WsLock { _file: f })
    }

    /// Add the overlays of `bases` (host directories; each seen at its own path in the jail) to
    /// `spec`, creating their layers (owned by the jail's host ids) as needed. Needs the lock.
    pub fn attach(&self, spec: &mut JailSpec, bases: &[PathBuf], _lock: &WsLock) -> Result<()> {
        let mut meta = self.meta()?;
        let mut ops = Vec::new();
        for b in bases {
            let base = std::fs::canonicalize(b).map_err(|e| WsError::io("--base", b, e))?;
            let md = std::fs::metadata(&base).map_err(|e| WsError::io("--base", &base, e))?;
            if !md.is_dir() {
                return Err(WsError::new(
                    "--base",
                    base.display().to_string(),
                    "not a directory",
                ));
            }
            for bad in ["/proc", "/sys", "/dev"] {
                if base == Path::new("/") || base.starts_with(bad) {
                    return Err(WsError::new(
                        "--base",
                        base.display().to_string(),
                        "cannot be /, /proc, /sys or /dev",
                    ));
                }
            }
            let dir = std::fs::canonicalize(&self.dir)
                .map_err(|e| WsError::io("resolve", &self.dir, e))?;
            if dir.starts_with(&base) || base.starts_with(&dir) {
                return Err(WsError::new(
                    "--base",
                    base.display().to_string(),
                    format!(
                        "overlaps the workspace directory {} (use --workspace-dir elsewhere, or another --base)",
                        dir.display()
                    ),
                ));
            }
            let layer = match meta.layers.iter().find(|l| l.base == base) {
                Some(l) => l.clone(),
                None => {
                    let l = Layer {
                        base: base.clone(),
                        id: meta.layers.len().to_string(),
                    };
                    meta.layers.push(l.clone());
                    l
                }
            };
            self.make_layer(&layer, spec.ids.host_uid, spec.ids.host_gid)?;
            let ld = self.layers_dir().join(&layer.id);
            ops.push(MountOp::Overlay {
                lower: base.clone(),
                upper: ld.join("upper"),
                work: ld.join("work"),
                dst: base.clone(),
                origin: format!("--workspace {} --base {}", self.name, base.display()),
            });
        }
        self.save(&meta)?;
        // Before the final read-only remount of the root.
        let at = spec
            .mounts
            .iter()
            .position(|m| matches!(m, MountOp::RemountRootReadOnly))
            .unwrap_or(spec.mounts.len());
        spec.mounts.splice(at..at, ops);
        Ok(())
    }

    fn make_layer(&self, layer: &Layer, uid: u32, gid: u32) -> Result<()> {
        let ld = self.layers_dir().join(&layer.id);
        for (p, mode) in [(self.layers_dir(), 0o700), (ld.clone(), 0o700)] {
            match std::fs::DirBuilder::new().mode(mode).create(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(WsError::io("mkdir", &p, e)),
            }
        }
        for (name, mode) in [("upper", 0o755), ("work", 0o700)] {
            let p = ld.join(name);
            match std::fs::DirBuilder::new().mode(mode).create(&p) {
                Ok(()) => {
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
                        .map_err(|e| WsError::io("chmod", &p, e))?;
                    if rustix::process::geteuid().is_root() {
                        std::os::unix::fs::lchown(&p, Some(uid), Some(gid))
                            .map_err(|e| WsError::io("chown", &p, e))?;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(WsError::io("mkdir", &p, e)),
            }
            let md = std::fs::symlink_metadata(&p).map_err(|e| WsError::io("stat", &p, e))?;
            if !md.is_dir() || md.uid() != uid {
                return Err(WsError::new(
                    "open",
                    p.display().to_string(),
                    format!("layer must be a directory owned by the jail's host uid {uid} (found uid {})", md.uid()),
                ));
            }
        }
        Ok(())
    }

    /// All workspaces under `root`.
    pub fn list(root: &Path) -> Result<Vec<Workspace>> {
        let rd = match std::fs::read_dir(root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(WsError::io("read", root, e)),
        };
        let mut out = Vec::new();
        for ent in rd.flatten() {
            let Some(name) = ent.file_name().to_str().map(String::from) else {
                continue;
            };
            if check_name(&name).is_err() {
                continue;
            }
            let ws = Workspace {
                name,
                dir: ent.path(),
            };
            if ws.exists() {
                out.push(ws);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
