//! What a jail changed: a walk of an upper layer against its base that trusts nothing the jail
//! wrote. Directories are opened with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_XDEV)` from the layer's root, every entry is classified with `fstatat(
//! AT_SYMLINK_NOFOLLOW)`, only regular files are ever opened (`O_NOFOLLOW | O_NONBLOCK`, and
//! checked again with `fstat`), content is compared in fixed-size chunks, and the walk keeps an
//! explicit stack of paths (no recursion, at most two directory fds open at a time), so a deep
//! tree, a FIFO, a device node, a symlink to /etc/shadow or a huge sparse file cannot make it
//! hang, follow, block or run out of memory or fds.

use std::ffi::{CStr, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use serde::Serialize;

use super::escape::escape_bytes;
use super::{Result, WsError};

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Not in the base.
    Added,
    /// Same type in both; content differs (metadata may too).
    Modified,
    /// Same type and content; only mode, owner or xattrs differ.
    Metadata,
    /// Deleted (an overlay whiteout).
    Deleted,
    /// A directory replaced as a whole (opaque): nothing of the base's directory shows through.
    Replaced,
    /// The type changed (e.g. a file became a directory or a symlink).
    TypeChanged,
}

impl Change {
    pub fn letter(self) -> char {
        match self {
            Change::Added => 'A',
            Change::Modified => 'M',
            Change::Metadata => 'm',
            Change::Deleted => 'D',
            Change::Replaced => 'R',
            Change::TypeChanged => 'T',
        }
    }
}

/// File type, from lstat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDev,
    BlockDev,
    Unknown,
}

impl Kind {
    fn of(st: &Stat) -> Kind {
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Symlink,
            FileType::Fifo => Kind::Fifo,
            FileType::Socket => Kind::Socket,
            FileType::CharacterDevice => Kind::CharDev,
            FileType::BlockDevice => Kind::BlockDev,
            FileType::Unknown => Kind::Unknown,
        }
    }
}

/// One changed path.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Path in the jail (= on the host, for the base), raw bytes.
    #[serde(skip)]
    pub raw_path: Vec<u8>,
    /// The path, escaped for printing (see `escape_bytes`).
    pub path: String,
    pub change: Change,
    /// Type in the layer (for deletions: in the base).
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// Symlink target, raw bytes.
    #[serde(skip)]
    pub raw_target: Option<Vec<u8>>,
    /// The earlier hard link's raw path.
    #[serde(skip)]
    pub raw_hardlink_of: Option<Vec<u8>>,
    /// Symlink target, escaped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// An earlier entry this one is a hard link of, escaped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardlink_of: Option<String>,
    /// Metadata differences from the base, e.g. `mode 644 -> 4755`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub meta: Vec<String>,
    /// Things `ws apply` refuses by default: setuid, setgid, file-capability, device.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<&'static str>,
}

impl Entry {
    /// The one-line form: `A  /path -> target (hard link of /x) [mode 644 -> 755]`.
    pub fn line(&self) -> String {
        let mut s = format!("{}  {}", self.change.letter(), self.path);
        match self.kind {
            Kind::File | Kind::Dir => {}
            Kind::Symlink => {}
            k => s.push_str(&format!(
                " [{}]",
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            )),
        }
        if self.kind == Kind::Dir && self.change != Change::Deleted {
            s.push('/');
        }
        if let Some(t) = &self.target {
            s.push_str(&format!(" -> {t}"));
        }
        if let Some(h) = &self.hardlink_of {
            s.push_str(&format!(" (hard link of {h})"));
        }
        if !self.meta.is_empty() {
            s.push_str(&format!(" [{}]", self.meta.join(", ")));
        }
        if !self.flags.is_empty() {
            s.push_str(&format!(" !{}", self.flags.join(",")));
        }
        s
    }
}

/// Totals of a walk.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub added: u64,
    pub modified: u64,
    pub metadata: u64,
    pub deleted: u64,
    pub replaced: u64,
    pub type_changed: u64,
    /// Bytes of regular files in the layer that differ from the base (apparent sizes).
    pub bytes: u64,
    /// Entries that could not be examined (named in `errors`).
    pub errors: Vec<String>,
}

impl Stats {
    fn count(&mut self, e: &Entry) {
        match e.change {
            Change::Added => self.added += 1,
            Change::Modified => self.modified += 1,
            Change::Metadata => self.metadata += 1,
            Change::Deleted => self.deleted += 1,
            Change::Replaced => self.replaced += 1,
            Change::TypeChanged => self.type_changed += 1,
        }
        if e.kind == Kind::File && e.change != Change::Deleted && e.change != Change::Metadata {
            self.bytes += e.size;
        }
    }
}

const OVERLAY_XATTR_PREFIXES: [&str; 2] = ["user.overlay.", "trusted.overlay."];
/// fuse-overlayfs also keeps its own bookkeeping (origin, opaque) under this prefix.
const FUSE_XATTR_PREFIXES: [&str; 3] = ["user.overlay.", "trusted.overlay.", "user.fuseoverlayfs."];
/// fuse-overlayfs marks an opaque directory with this file when it cannot set an xattr.
const FUSE_OPAQUE_FILE: &[u8] = b".wh..wh..opq";

/// Which overlay wrote the upper layer, hence how deletions and opaque directories look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The kernel's overlayfs: 0:0 character devices (or overlay.whiteout xattrs) and
    /// `*.overlay.opaque` xattrs. A file named `.wh.X` is just a file.
    Kernel,
    /// fuse-overlayfs: the kernel's forms, plus `.wh.X` files for deletions and
    /// `.wh..wh..opq` files or `user.fuseoverlayfs.opaque` for opaque directories.
    FuseOverlayfs,
}

impl Format {
    fn prefixes(self) -> &'static [&'static str] {
        match self {
            Format::Kernel => &OVERLAY_XATTR_PREFIXES,
            Format::FuseOverlayfs => &FUSE_XATTR_PREFIXES,
        }
    }
}
/// Paths longer than this are opened in pieces (PATH_MAX is 4096).
const CHUNK: usize = 3000;
const BUF: usize = 64 * 1024;

/// Open `rel` (components joined by '/') beneath `root`, never following a symlink, never
/// crossing a mount, in pieces when the path is longer than PATH_MAX allows.
pub(crate) fn open_beneath(
    root: BorrowedFd<'_>,
    rel: &[u8],
    flags: OFlags,
) -> rustix::io::Result<OwnedFd> {
    let how = ResolveFlags::BENEATH
        | ResolveFlags::NO_SYMLINKS
        | ResolveFlags::NO_MAGICLINKS
        | ResolveFlags::NO_XDEV;
    let flags = flags | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    if rel.is_empty() {
        return rfs::openat2(root, ".", flags, Mode::empty(), how);
    }
    let mut cur: Option<OwnedFd> = None;
    let mut rest = rel;
    loop {
        let (piece, more) = if rest.len() <= CHUNK {
            (rest, &[][..])
        } else {
            let cut = rest[..CHUNK]
                .iter()
                .rposition(|&b| b == b'/')
                .unwrap_or(CHUNK);
            (
                &rest[..cut],
                rest[cut..].strip_prefix(b"/").unwrap_or(&rest[cut..]),
            )
        };
        let f = if more.is_empty() {
            flags
        } else {
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW
        };
        let dir = cur.as_ref().map(|d| d.as_fd()).unwrap_or(root);
        let fd = rfs::openat2(dir, OsStr::from_bytes(piece), f, Mode::empty(), how)?;
        if more.is_empty() {
            return Ok(fd);
        }
        cur = Some(fd);
        rest = more;
    }
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(dir.len() + name.len() + 1);
    p.extend_from_slice(dir);
    if !dir.is_empty() {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// xattrs of `name` in directory `dir`, without following or opening it: l*xattr on
/// `/proc/self/fd/DIR/NAME` (the magic link leads into `dir`, the final name is not followed).
fn xattrs(dir: BorrowedFd<'_>, name: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut p = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    p.extend_from_slice(name);
    let path = Path::new(OsStr::from_bytes(&p));
    let mut list = vec![0u8; 4096];
    let n = match rfs::llistxattr(path, &mut list[..]) {
        Ok(n) => n,
        Err(rustix::io::Errno::RANGE) => {
            list = vec![0u8; 65536];
            rfs::llistxattr(path, &mut list[..]).unwrap_or(0)
        }
        Err(_) => 0,
    };
    let mut out = Vec::new();
    for key in list[..n].split(|&b| b == 0).filter(|k| !k.is_empty()) {
        let key = String::from_utf8_lossy(key).into_owned();
        let mut val = vec![0u8; 65536];
        if let Ok(len) = rfs::lgetxattr(path, key.as_str(), &mut val[..]) {
            val.truncate(len);
            out.push((key, val));
        }
    }
    out.sort();
    out
}

fn is_overlay_xattr(k: &str, format: Format) -> bool {
    format.prefixes().iter().any(|p| k.starts_with(p))
}

fn xattr_is(x: &[(String, Vec<u8>)], suffix: &str, value: &[u8], format: Format) -> bool {
    format.prefixes().iter().any(|p| {
        x.iter()
            .any(|(k, v)| k.strip_prefix(p) == Some(suffix) && v.as_slice() == value)
    })
}

fn is_whiteout(st: &Stat, x: &[(String, Vec<u8>)], format: Format) -> bool {
    let k = Kind::of(st);
    (k == Kind::CharDev && st.st_rdev == 0)
        || (k == Kind::File
            && st.st_size == 0
            && format.prefixes().iter().any(|p| {
                x.iter()
                    .any(|(kk, _)| kk.strip_prefix(p) == Some("whiteout"))
            }))
}

/// What fuse-overlayfs writes as a `.wh.*` marker: an empty regular file or a 0:0 device.
fn is_fuse_marker(st: &Stat) -> bool {
    match Kind::of(st) {
        Kind::File => st.st_size == 0,
        Kind::CharDev => st.st_rdev == 0,
        _ => false,
    }
}

/// Open a regular file for reading, refusing anything else even if it was swapped in between.
fn open_regular(dir: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<OwnedFd> {
    let fd = rfs::openat(
        dir,
        OsStr::from_bytes(name),
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    let st = rfs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(rustix::io::Errno::INVAL);
    }
    Ok(fd)
}

fn read_full(fd: BorrowedFd<'_>, buf: &mut [u8]) -> rustix::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match rustix::io::read(fd, &mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Do two regular files have the same content? Streams in fixed chunks.
fn same_content(
    a: BorrowedFd<'_>,
    b: BorrowedFd<'_>,
    bufs: &mut (Vec<u8>, Vec<u8>),
) -> rustix::io::Result<bool> {
    loop {
        let na = read_full(a, &mut bufs.0)?;
        let nb = read_full(b, &mut bufs.1)?;
        if na != nb || bufs.0[..na] != bufs.1[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

fn perm(mode: u32) -> u32 {
    mode & 0o7777
}

fn flags_of(st: &Stat, x: &[(String, Vec<u8>)]) -> Vec<&'static str> {
    let mut f = Vec::new();
    let k = Kind::of(st);
    if k != Kind::Dir && st.st_mode & 0o4000 != 0 {
        f.push("setuid");
    }
    if k != Kind::Dir && st.st_mode & 0o2010 == 0o2010 {
        f.push("setgid");
    }
    if x.iter().any(|(k, _)| k == "security.capability") {
        f.push("file-capability");
    }
    if matches!(k, Kind::CharDev | Kind::BlockDev) {
        f.push("device");
    }
    f
}

/// Walk one layer: `upper` (written by the jail) against `base` (the host directory it covers),
/// calling `out` for each change in a stable order. `shown_base` prefixes the printed paths.
pub fn walk(
    upper: &Path,
    base: &Path,
    shown_base: &Path,
    format: Format,
    out: &mut dyn FnMut(&Entry),
) -> Result<Stats> {
    let uroot = rfs::open(
        upper,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| WsError::io("open", upper, e.into()))?;
    // The base is the host's own directory; a missing base shows everything as added.
    let broot = rfs::open(
        base,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok();
    let mut stats = Stats::default();
    let mut bufs = (vec![0u8; BUF], vec![0u8; BUF]);
    let mut links: std::collections::HashMap<(u64, u64), Vec<u8>> =
        std::collections::HashMap::new();
    let prefix = shown_base.as_os_str().as_bytes().to_vec();
    // (relative path, base directory shows through)
    let mut stack: Vec<(Vec<u8>, bool)> = vec![(Vec::new(), broot.is_some())];
    while let Some((rel, in_base)) = stack.pop() {
        let shown_rel = |r: &[u8]| join(&prefix, r);
        let udir = match open_beneath(uroot.as_fd(), &rel, OFlags::RDONLY | OFlags::DIRECTORY) {
            Ok(d) => d,
            Err(e) => {
                stats
                    .errors
                    .push(format!("{}: {e}", escape_bytes(&shown_rel(&rel))));
                continue;
            }
        };
        let bdir = match (&broot, in_base) {
            (Some(b), true) => open_beneath(b.as_fd(), &rel, OFlags::PATH | OFlags::DIRECTORY).ok(),
            _ => None,
        };
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut dir = match rfs::Dir::read_from(udir.as_fd()) {
            Ok(d) => d,
            Err(e) => {
                stats
                    .errors
                    .push(format!("{}: {e}", escape_bytes(&shown_rel(&rel))));
                continue;
            }
        };
        for ent in dir.by_ref() {
            let Ok(ent) = ent else { break };
            let n: &CStr = ent.file_name();
            let n = n.to_bytes();
            if n != b"." && n != b".." {
                names.push(n.to_vec());
            }
        }
        drop(dir);
        names.sort();
        let mut subdirs = Vec::new();
        // fuse-overlayfs's `.wh.X` files: X is deleted unless the upper has X again.
        let mut fuse_whiteouts: Vec<Vec<u8>> = Vec::new();
        if format == Format::FuseOverlayfs {
            // Only a regular file or a 0:0 character device is fuse-overlayfs bookkeeping; it
            // lets the jail make symlinks (not files) named `.wh.*`, and shows them as such.
            let marker = |n: &[u8]| {
                rfs::statat(
                    udir.as_fd(),
                    OsStr::from_bytes(n),
                    AtFlags::SYMLINK_NOFOLLOW,
                )
                .is_ok_and(|st| is_fuse_marker(&st))
            };
            names.retain(|n| match n.strip_prefix(b".wh.") {
                Some(_) if !marker(n) => true,
                Some(_) if n.as_slice() == FUSE_OPAQUE_FILE || n.as_slice() == b".wh..opq" => false,
                Some(target) => {
                    fuse_whiteouts.push(target.to_vec());
                    false
                }
                None => true,
            });
            fuse_whiteouts.retain(|t| names.binary_search(t).is_err());
        }
        for target in fuse_whiteouts {
            let Some(b) = bdir.as_ref().and_then(|b| {
                rfs::statat(
                    b.as_fd(),
                    OsStr::from_bytes(&target),
                    AtFlags::SYMLINK_NOFOLLOW,
                )
                .ok()
            }) else {
                continue;
            };
            let shown = shown_rel(&join(&rel, &target));
            let e = Entry {
                path: escape_bytes(&shown),
                raw_path: shown,
                change: Change::Deleted,
                kind: Kind::of(&b),
                mode: perm(b.st_mode),
                uid: b.st_uid,
                gid: b.st_gid,
                size: 0,
                target: None,
                hardlink_of: None,
                raw_target: None,
                raw_hardlink_of: None,
                meta: Vec::new(),
                flags: Vec::new(),
            };
            stats.count(&e);
            out(&e);
        }
        for name in names {
            let path = join(&rel, &name);
            let shown = shown_rel(&path);
            let st = match rfs::statat(
                udir.as_fd(),
                OsStr::from_bytes(&name),
                AtFlags::SYMLINK_NOFOLLOW,
            ) {
                Ok(s) => s,
                Err(e) => {
                    stats.errors.push(format!("{}: {e}", escape_bytes(&shown)));
                    continue;
                }
            };
            let kind = Kind::of(&st);
            let ux = if matches!(kind, Kind::Symlink) {
                Vec::new()
            } else {
                xattrs(udir.as_fd(), &name)
            };
            let bst = bdir.as_ref().and_then(|b| {
                rfs::statat(
                    b.as_fd(),
                    OsStr::from_bytes(&name),
                    AtFlags::SYMLINK_NOFOLLOW,
                )
                .ok()
            });
            let mut e = Entry {
                path: escape_bytes(&shown),
                raw_path: shown.clone(),
                change: Change::Added,
                kind,
                mode: perm(st.st_mode),
                uid: st.st_uid,
                gid: st.st_gid,
                size: if kind == Kind::File {
                    st.st_size as u64
                } else {
                    0
                },
                target: None,
                hardlink_of: None,
                raw_target: None,
                raw_hardlink_of: None,
                meta: Vec::new(),
                flags: flags_of(&st, &ux),
            };
            if is_whiteout(&st, &ux, format) {
                if let Some(b) = &bst {
                    e.change = Change::Deleted;
                    e.kind = Kind::of(b);
                    e.mode = perm(b.st_mode);
                    e.uid = b.st_uid;
                    e.gid = b.st_gid;
                    e.size = 0;
                    e.flags.clear();
                    stats.count(&e);
                    out(&e);
                }
                continue;
            }
            if kind == Kind::Symlink {
                if let Ok(t) = rfs::readlinkat(udir.as_fd(), OsStr::from_bytes(&name), Vec::new()) {
                    e.target = Some(escape_bytes(t.as_bytes()));
                    e.raw_target = Some(t.as_bytes().to_vec());
                }
            }
            if kind != Kind::Dir && st.st_nlink > 1 {
                let key = (st.st_dev, st.st_ino);
                match links.get(&key) {
                    Some(first) => {
                        e.hardlink_of = Some(escape_bytes(first));
                        e.raw_hardlink_of = Some(first.clone());
                    }
                    None => {
                        links.insert(key, shown.clone());
                    }
                }
            }
            let opaque = kind == Kind::Dir
                && (xattr_is(&ux, "opaque", b"y", format)
                    || (format == Format::FuseOverlayfs
                        && open_beneath(udir.as_fd(), &name, OFlags::PATH | OFlags::DIRECTORY)
                            .and_then(|d| {
                                rfs::statat(
                                    d.as_fd(),
                                    OsStr::from_bytes(FUSE_OPAQUE_FILE),
                                    AtFlags::SYMLINK_NOFOLLOW,
                                )
                            })
                            .is_ok_and(|st| is_fuse_marker(&st))));
            match &bst {
                None => {}
                Some(b) if Kind::of(b) != kind => e.change = Change::TypeChanged,
                Some(_) if opaque => e.change = Change::Replaced,
                Some(b) => {
                    if perm(b.st_mode) != perm(st.st_mode) {
                        e.meta.push(format!(
                            "mode {:o} -> {:o}",
                            perm(b.st_mode),
                            perm(st.st_mode)
                        ));
                    }
                    if (b.st_uid, b.st_gid) != (st.st_uid, st.st_gid) {
                        e.meta.push(format!(
                            "owner {}:{} -> {}:{}",
                            b.st_uid, b.st_gid, st.st_uid, st.st_gid
                        ));
                    }
                    if kind != Kind::Symlink {
                        let bx = xattrs(
                            bdir.as_ref().map(|d| d.as_fd()).unwrap_or(udir.as_fd()),
                            &name,
                        );
                        let keep = |x: &[(String, Vec<u8>)]| -> Vec<(String, Vec<u8>)> {
                            x.iter()
                                .filter(|(k, _)| !is_overlay_xattr(k, format))
                                .cloned()
                                .collect()
                        };
                        let (ua, ba) = (keep(&ux), keep(&bx));
                        for (k, v) in &ua {
                            match ba.iter().find(|(bk, _)| bk == k) {
                                None => e
                                    .meta
                                    .push(format!("xattr {} added", escape_bytes(k.as_bytes()))),
                                Some((_, bv)) if bv != v => e
                                    .meta
                                    .push(format!("xattr {} changed", escape_bytes(k.as_bytes()))),
                                Some(_) => {}
                            }
                        }
                        for (k, _) in &ba {
                            if !ua.iter().any(|(uk, _)| uk == k) {
                                e.meta
                                    .push(format!("xattr {} removed", escape_bytes(k.as_bytes())));
                            }
                        }
                    }
                    let content = match kind {
                        Kind::File => {
                            st.st_size != b.st_size || {
                                let bd = bdir.as_ref().map(|d| d.as_fd());
                                match (
                                    open_regular(udir.as_fd(), &name),
                                    bd.map(|d| open_regular(d, &name)),
                                ) {
                                    (Ok(u), Some(Ok(bf))) => {
                                        !same_content(u.as_fd(), bf.as_fd(), &mut bufs)
                                            .unwrap_or(false)
                                    }
                                    _ => true,
                                }
                            }
                        }
                        Kind::Symlink => {
                            let bt = bdir.as_ref().and_then(|d| {
                                rfs::readlinkat(d.as_fd(), OsStr::from_bytes(&name), Vec::new())
                                    .ok()
                            });
                            bt.map(|t| escape_bytes(t.as_bytes())) != e.target
                        }
                        Kind::CharDev | Kind::BlockDev => st.st_rdev != b.st_rdev,
                        _ => false,
                    };
                    e.change = if content {
                        Change::Modified
                    } else if !e.meta.is_empty() {
                        Change::Metadata
                    } else {
                        // An unchanged directory that was only copied up on the way to a change.
                        if kind == Kind::Dir {
                            subdirs.push((path, true));
                        }
                        continue;
                    };
                }
            }
            if kind == Kind::Dir {
                let through = bst.as_ref().is_some_and(|b| Kind::of(b) == Kind::Dir) && !opaque;
                subdirs.push((path, through));
            }
            stats.count(&e);
            out(&e);
        }
        // Depth first, in name order.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(stats)
}

/// Unified diff of one modified or added text file; `None` when either side is not text (NUL
/// bytes, not UTF-8) or larger than `limit`.
pub fn patch(upper: &Path, base: &Path, rel: &[u8], shown: &str, limit: u64) -> Option<String> {
    let read = |root: &Path| -> Option<Option<String>> {
        let Ok(r) = rfs::open(
            root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            return Some(None);
        };
        let fd = match open_beneath(
            r.as_fd(),
            rel,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
        ) {
            Ok(fd) => fd,
            Err(_) => return Some(None),
        };
        let st = rfs::fstat(&fd).ok()?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile || st.st_size as u64 > limit
        {
            return None;
        }
        let mut buf = vec![
            0u8;
            usize::try_from(st.st_size)
                .ok()?
                .min(usize::try_from(limit).ok()?)
        ];
        let n = read_full(fd.as_fd(), &mut buf).ok()?;
        buf.truncate(n);
        if buf.contains(&0) {
            return None;
        }
        String::from_utf8(buf).ok().map(Some)
    };
    let old = read(base)?.unwrap_or_default();
    let new = read(upper)?.unwrap_or_default();
    let diff = similar::TextDiff::from_lines(&old, &new);
    Some(
        diff.unified_diff()
            .header(&format!("a{shown}"), &format!("b{shown}"))
            .to_string(),
    )
}

/// The path of `raw` relative to `base` (as bytes), for `patch`.
pub fn relative<'a>(raw: &'a [u8], base: &Path) -> &'a [u8] {
    let b = base.as_os_str().as_bytes();
    raw.strip_prefix(b)
        .map(|r| r.strip_prefix(b"/").unwrap_or(r))
        .unwrap_or(raw)
}

/// For callers that want owned paths.
pub fn to_path(raw: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(raw))
}
