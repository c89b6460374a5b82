//! Copy-on-write workspaces: a named directory on the host holding, per base directory, the
//! upper and work layers of an overlay that the jail sees at the base's own path. The base is
//! only ever the overlay's read-only lower layer. See docs/workspaces.md.
//!
//! Layout of a workspace directory (0700, owned by the caller):
//! `workspace.json` (which base each layer belongs to), `lock` (flock; holds the holder's pid),
//! `layers/N/{upper,work}` (owned by the jail's host ids), `checkpoints/LABEL/` (copies of
//! `layers/`).

pub mod apply;
pub mod diff;
pub mod escape;
pub mod export;
pub mod fuse;
pub mod store;

use std::io::{Read, Seek, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::spec::{JailSpec, MountOp, OverlayDriver};

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
    /// The layer has been written by fuse-overlayfs: deletions may be `.wh.NAME` files and
    /// opaque directories `.wh..wh..opq` files or `user.fuseoverlayfs.opaque` xattrs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fuse: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub version: u32,
    pub layers: Vec<Layer>,
}

impl Layer {
    /// How the layer's upper directory records deletions (see [`diff::Format`]).
    pub fn format(&self) -> diff::Format {
        if self.fuse {
            diff::Format::FuseOverlayfs
        } else {
            diff::Format::Kernel
        }
    }
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
    pub fn attach(
        &self,
        spec: &mut JailSpec,
        bases: &[PathBuf],
        driver: fuse::DriverChoice,
        _lock: &WsLock,
    ) -> Result<()> {
        let mut meta = self.meta()?;
        let planned = self.plan_overlays(&mut meta, bases, driver)?;
        for (layer, _) in &planned {
            self.make_layer(layer, spec.ids.host_uid, spec.ids.host_gid)?;
        }
        self.save(&meta)?;
        insert_ops(spec, planned);
        Ok(())
    }

    /// What [`Workspace::attach`] would add to `spec`, without creating or changing anything
    /// (`--print-plan`). A workspace that does not exist yet is planned as a new one.
    pub fn preview(
        &self,
        spec: &mut JailSpec,
        bases: &[PathBuf],
        driver: fuse::DriverChoice,
    ) -> Result<()> {
        let mut meta = if self.exists() {
            self.meta()?
        } else {
            Meta::default()
        };
        let planned = self.plan_overlays(&mut meta, bases, driver)?;
        insert_ops(spec, planned);
        Ok(())
    }

    /// Validate `bases`, find or add their layers in `meta` and choose each overlay's driver.
    fn plan_overlays(
        &self,
        meta: &mut Meta,
        bases: &[PathBuf],
        driver: fuse::DriverChoice,
    ) -> Result<Vec<(Layer, MountOp)>> {
        let kernel = crate::features::overlay_userxattr();
        let mut ops: Vec<(Layer, MountOp)> = Vec::new();
        let dir = std::fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
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
            if ops.iter().any(|(l, _)| l.base == base) {
                continue;
            }
            let idx = match meta.layers.iter().position(|l| l.base == base) {
                Some(i) => i,
                None => {
                    meta.layers.push(Layer {
                        base: base.clone(),
                        id: meta.layers.len().to_string(),
                        fuse: false,
                    });
                    meta.layers.len() - 1
                }
            };
            let ld = self.layers_dir().join(&meta.layers[idx].id);
            let chosen = fuse::choose(driver, &meta.layers[idx], &ld, &kernel)?;
            if matches!(chosen, OverlayDriver::FuseOverlayfs { .. }) {
                // From now on the layer holds fuse-overlayfs's whiteouts (`.wh.` files).
                meta.layers[idx].fuse = true;
            }
            ops.push((
                meta.layers[idx].clone(),
                MountOp::Overlay {
                    lower: base.clone(),
                    upper: ld.join("upper"),
                    work: ld.join("work"),
                    dst: base.clone(),
                    origin: format!("--workspace {} --base {}", self.name, base.display()),
                    driver: chosen,
                },
            ));
        }
        Ok(ops)
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

/// One checkpoint: `checkpoints/LABEL/{checkpoint.json, layers/N/upper}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub label: String,
    /// Seconds since the epoch.
    pub created: u64,
}

/// `YYYYMMDD-HHMMSS` (UTC) for a Unix time.
pub fn utc_label(secs: u64) -> String {
    let days = secs / 86400;
    let rem = secs % 86400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Workspace {
    fn checkpoints_dir(&self) -> PathBuf {
        self.dir.join("checkpoints")
    }

    /// Leftovers of an interrupted checkpoint or rollback: never a valid state, always removable
    /// (the valid states are only ever reached by one rename).
    fn clean_leftovers(&self) -> Result<()> {
        store::remove_tree(&self.dir.join(".rollback"))?;
        if let Ok(rd) = std::fs::read_dir(self.checkpoints_dir()) {
            for e in rd.flatten() {
                if e.file_name().as_encoded_bytes().starts_with(b".tmp-") {
                    store::remove_tree(&e.path())?;
                }
            }
        }
        Ok(())
    }

    /// Copy `layers/` (the upper layers; work directories are recreated empty) to `dst`.
    fn copy_layers(&self, from: &Path, dst: &Path) -> Result<()> {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dst)
            .map_err(|e| WsError::io("mkdir", dst, e))?;
        let rd = match std::fs::read_dir(from) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(WsError::io("read", from, e)),
        };
        for e in rd.flatten() {
            let id = e.file_name();
            let (src, to) = (from.join(&id), dst.join(&id));
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&to)
                .map_err(|e| WsError::io("mkdir", &to, e))?;
            let upper = src.join("upper");
            let md =
                std::fs::symlink_metadata(&upper).map_err(|e| WsError::io("stat", &upper, e))?;
            store::copy_tree(&upper, &to.join("upper"))?;
            let work = to.join("work");
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&work)
                .map_err(|e| WsError::io("mkdir", &work, e))?;
            if rustix::process::geteuid().is_root() {
                std::os::unix::fs::lchown(&work, Some(md.uid()), Some(md.gid()))
                    .map_err(|e| WsError::io("chown", &work, e))?;
            }
        }
        Ok(())
    }

    /// Save the current layers as checkpoint `label` (default: the UTC time). Built in a
    /// temporary directory and renamed into place: a crash leaves no checkpoint or a whole one.
    pub fn checkpoint(&self, label: Option<&str>, _lock: &WsLock) -> Result<Checkpoint> {
        self.meta()?;
        self.clean_leftovers()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let label = label.map(String::from).unwrap_or_else(|| utc_label(now));
        check_name(&label).map_err(|e| WsError::new("checkpoint", &label, e.reason))?;
        let cps = self.checkpoints_dir();
        match std::fs::DirBuilder::new().mode(0o700).create(&cps) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(WsError::io("mkdir", &cps, e)),
        }
        let fin = cps.join(&label);
        if fin.exists() {
            return Err(WsError::new(
                "checkpoint",
                &label,
                "exists already (rm it or choose another label)",
            ));
        }
        let tmp = cps.join(format!(".tmp-{label}"));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&tmp)
            .map_err(|e| WsError::io("mkdir", &tmp, e))?;
        self.copy_layers(&self.layers_dir(), &tmp.join("layers"))?;
        let cp = Checkpoint {
            label: label.clone(),
            created: now,
        };
        let text = serde_json::to_string_pretty(&cp)
            .map_err(|e| WsError::new("encode", "checkpoint.json", e))?;
        let cj = tmp.join("checkpoint.json");
        std::fs::write(&cj, text + "\n").map_err(|e| WsError::io("write", &cj, e))?;
        sync(&tmp)?;
        std::fs::rename(&tmp, &fin).map_err(|e| WsError::io("rename", &fin, e))?;
        sync(&cps)?;
        Ok(cp)
    }

    /// Complete checkpoints, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let mut out = Vec::new();
        let rd = match std::fs::read_dir(self.checkpoints_dir()) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(WsError::io("read", &self.checkpoints_dir(), e)),
        };
        for e in rd.flatten() {
            if e.file_name().as_encoded_bytes().starts_with(b".") {
                continue;
            }
            let p = e.path().join("checkpoint.json");
            if let Ok(cp) = std::fs::read_to_string(&p)
                .map_err(|_| ())
                .and_then(|t| serde_json::from_str::<Checkpoint>(&t).map_err(|_| ()))
            {
                out.push(cp);
            }
        }
        out.sort_by(|a, b| (a.created, &a.label).cmp(&(b.created, &b.label)));
        Ok(out)
    }

    /// Make the layers what checkpoint `label` (default: the latest) saved. The copy is built
    /// beside `layers/` and swapped in with one `renameat2(RENAME_EXCHANGE)`: a crash leaves the
    /// old or the restored state, never a mix.
    pub fn rollback(&self, label: Option<&str>, _lock: &WsLock) -> Result<Checkpoint> {
        self.meta()?;
        self.clean_leftovers()?;
        let cps = self.checkpoints()?;
        let cp = match label {
            Some(l) => cps.into_iter().find(|c| c.label == l),
            None => cps.into_iter().last(),
        }
        .ok_or_else(|| {
            WsError::new(
                "rollback",
                label.unwrap_or("(latest)"),
                "no such checkpoint",
            )
        })?;
        let tmp = self.dir.join(".rollback");
        self.copy_layers(&self.checkpoints_dir().join(&cp.label).join("layers"), &tmp)?;
        sync(&tmp)?;
        let layers = self.layers_dir();
        if layers.exists() {
            rfs_exchange(&tmp, &layers)?;
            sync(&self.dir)?;
            store::remove_tree(&tmp)?;
        } else {
            std::fs::rename(&tmp, &layers).map_err(|e| WsError::io("rename", &layers, e))?;
        }
        sync(&self.dir)?;
        Ok(cp)
    }

    /// Delete checkpoint `label`.
    pub fn remove_checkpoint(&self, label: &str, _lock: &WsLock) -> Result<()> {
        check_name(label)?;
        let p = self.checkpoints_dir().join(label);
        if !p.join("checkpoint.json").exists() {
            return Err(WsError::new("rm checkpoint", label, "no such checkpoint"));
        }
        // Hide it with one rename first, so a crash never leaves half a checkpoint listed.
        let tmp = self.checkpoints_dir().join(format!(".tmp-{label}"));
        std::fs::rename(&p, &tmp).map_err(|e| WsError::io("rename", &p, e))?;
        store::remove_tree(&tmp)
    }
}

/// Put the overlays before the final read-only remount of the jail's root.
fn insert_ops(spec: &mut JailSpec, planned: Vec<(Layer, MountOp)>) {
    let at = spec
        .mounts
        .iter()
        .position(|m| matches!(m, MountOp::RemountRootReadOnly))
        .unwrap_or(spec.mounts.len());
    spec.mounts
        .splice(at..at, planned.into_iter().map(|(_, op)| op));
}

fn sync(p: &Path) -> Result<()> {
    let d = std::fs::File::open(p).map_err(|e| WsError::io("open", p, e))?;
    rustix::fs::syncfs(&d).map_err(|e| WsError::io("syncfs", p, e.into()))
}

fn rfs_exchange(a: &Path, b: &Path) -> Result<()> {
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        a,
        rustix::fs::CWD,
        b,
        rustix::fs::RenameFlags::EXCHANGE,
    )
    .map_err(|e| WsError::io("renameat2(RENAME_EXCHANGE)", b, e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_utc_times() {
        assert_eq!(utc_label(0), "19700101-000000");
        assert_eq!(utc_label(1_700_000_000), "20231114-221320");
        assert_eq!(utc_label(951_782_400), "20000229-000000");
    }

    #[test]
    fn names_are_single_plain_components() {
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "a b",
            "x\n",
            &"a".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in ["w", "my-ws_1.2", "20231114-221320"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
    }
}
