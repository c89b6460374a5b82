//! The jail's file system: a fresh tmpfs root built from the plan's `MountOp`s, then pivot_root.
//!
//! Bind sources are cloned with `open_tree(OPEN_TREE_CLONE | AT_RECURSIVE)` before anything is
//! mounted, their flags are set on the whole cloned tree with `mount_setattr(AT_RECURSIVE)` (a
//! classic bind would leave submounts writable), and they are attached with `move_mount` onto
//! targets resolved by `openat2(RESOLVE_IN_ROOT)`: a symlink planted in a bound directory can
//! never steer a mount outside the new root.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use ironpen_sys::mount as sysmount;
use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags, CWD};
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MountPropagationFlags, MoveMountFlags,
    OpenTreeFlags, UnmountFlags,
};

use crate::error::{Ctx, SetupError};
use crate::protocol::{self, Message};
use crate::report::Entry;
use crate::spec::{BindMode, Identity, MountOp, OverlayDriver};

/// Where the new root is attached before pivot_root (inside our private mount namespace only;
/// every bind source has been cloned before, so hiding this directory hides nothing we need).
const STAGING: &str = "/tmp";

/// What the proc mount achieved, for the enforcement report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcMode {
    /// `subset=pid`: only process directories; /proc/sys, /proc/kcore, ... do not exist.
    PidOnly,
    /// A full procfs (kernel < 5.8).
    Full,
    NotMounted,
}

fn rel(p: &Path) -> &Path {
    match p.strip_prefix("/") {
        Ok(r) if r.as_os_str().is_empty() => Path::new("."),
        Ok(r) => r,
        Err(_) => p,
    }
}

fn show(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

/// Make every existing mount private: nothing we mount propagates back to the host, nothing the
/// host mounts later appears in the jail.
pub(crate) fn make_private() -> Result<(), SetupError> {
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .ctx("mount(MS_PRIVATE|MS_REC)", || "\"/\"".into())
}

/// What `open_sources` prepared for one op, before the staging root hides the host's tree.
pub(crate) enum Source {
    /// A cloned bind tree with its flags set.
    Tree(OwnedFd),
    /// O_PATH fds of a workspace overlay's layers (the overlay itself is created later, with the
    /// jail's ids, see `overlay_mount`).
    Overlay {
        lower: OwnedFd,
        upper: OwnedFd,
        work: OwnedFd,
    },
    /// The /dev/fuse of a fuse-overlayfs workspace, opened with the caller's rights.
    Fuse(OwnedFd),
}

/// Clone every bind source (recursively) and set its flags, and open every overlay layer, before
/// the staging root hides anything. Returns one entry per op (None for other ops and absent
/// optional sources).
pub(crate) fn open_sources(ops: &[MountOp]) -> Result<Vec<Option<Source>>, SetupError> {
    ops.iter()
        .map(|op| {
            if let MountOp::Overlay {
                driver: OverlayDriver::FuseOverlayfs { .. },
                origin,
                ..
            } = op
            {
                return open_fuse_device(origin).map(|fd| Some(Source::Fuse(fd)));
            }
            if let MountOp::Overlay {
                lower,
                upper,
                work,
                origin,
                ..
            } = op
            {
                let open = |p: &Path| {
                    rfs::open(
                        p,
                        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .ctx("open", || format!("{} ({origin})", show(p)))
                };
                return Ok(Some(Source::Overlay {
                    lower: open(lower)?,
                    upper: open(upper)?,
                    work: open(work)?,
                }));
            }
            let MountOp::Bind {
                src,
                mode,
                optional,
                origin,
                ..
            } = op
            else {
                return Ok(None);
            };
            let flags = OpenTreeFlags::OPEN_TREE_CLONE
                | OpenTreeFlags::OPEN_TREE_CLOEXEC
                | OpenTreeFlags::AT_RECURSIVE;
            let tree = match rustix::mount::open_tree(CWD, src.as_path(), flags) {
                Ok(fd) => fd,
                Err(rustix::io::Errno::NOENT) if *optional => return Ok(None),
                Err(e) => {
                    return Err(SetupError::os(
                        "open_tree",
                        format!("{} ({origin})", show(src)),
                        e.into(),
                    ))
                }
            };
            let set = match mode {
                BindMode::ReadOnly => {
                    sysmount::MOUNT_ATTR_RDONLY
                        | sysmount::MOUNT_ATTR_NOSUID
                        | sysmount::MOUNT_ATTR_NODEV
                }
                BindMode::ReadWrite => sysmount::MOUNT_ATTR_NOSUID | sysmount::MOUNT_ATTR_NODEV,
                BindMode::Device => sysmount::MOUNT_ATTR_NOSUID,
            };
            sysmount::set_attr(tree.as_fd(), set, 0, true)
                .ctx("mount_setattr(AT_RECURSIVE)", || {
                    format!("{} ({origin})", show(src))
                })?;
            Ok(Some(Source::Tree(tree)))
        })
        .collect()
}

fn with_hint(mut e: SetupError, hint: &str) -> SetupError {
    e.message = format!("{}; {hint}", e.message);
    e
}

/// A workspace overlay, created with the jail's ids (so the overlay's own writes to the upper
/// layer are done as the jail's host uid, never as the caller) and before the staging root is
/// attached. The layers are named by `/proc/self/fd/N`: they were opened with the caller's
/// rights, which the jail's ids may lack on the path leading to them.
fn overlay_mount(
    lower: &OwnedFd,
    upper: &OwnedFd,
    work: &OwnedFd,
    origin: &str,
) -> Result<OwnedFd, SetupError> {
    use std::os::fd::AsRawFd;
    let fdpath = |fd: &OwnedFd| format!("/proc/self/fd/{}", fd.as_raw_fd());
    let hint = "copy-on-write workspaces need overlayfs with `userxattr` in a user namespace \
                (Linux >= 5.11); ironpen never falls back to writing the base";
    let fs = rustix::mount::fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC).map_err(|e| {
        with_hint(
            SetupError::os("fsopen", format!("overlay ({origin})"), e.into()),
            hint,
        )
    })?;
    let set = |key: &str, value: &str| rustix::mount::fsconfig_set_string(fs.as_fd(), key, value);
    // "lowerdir+" (Linux 6.8) takes one path without ':' escaping; older kernels get "lowerdir"
    // (a /proc/self/fd/N path has nothing to escape).
    let lower_path = fdpath(lower);
    if set("lowerdir+", &lower_path).is_err() {
        set("lowerdir", &lower_path).map_err(|e| {
            SetupError::os("fsconfig", format!("overlay lowerdir ({origin})"), e.into())
        })?;
    }
    set("upperdir", &fdpath(upper)).ctx("fsconfig", || format!("overlay upperdir ({origin})"))?;
    set("workdir", &fdpath(work)).ctx("fsconfig", || format!("overlay workdir ({origin})"))?;
    rustix::mount::fsconfig_set_flag(fs.as_fd(), "userxattr").map_err(|e| {
        with_hint(
            SetupError::os(
                "fsconfig",
                format!("overlay userxattr ({origin})"),
                e.into(),
            ),
            hint,
        )
    })?;
    rustix::mount::fsconfig_create(fs.as_fd()).map_err(|e| {
        with_hint(
            SetupError::os("fsconfig(CREATE)", format!("overlay ({origin})"), e.into()),
            hint,
        )
    })?;
    rustix::mount::fsmount(
        fs.as_fd(),
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_NOSUID | MountAttrFlags::MOUNT_ATTR_NODEV,
    )
    .ctx("fsmount", || format!("overlay ({origin})"))
}

fn open_fuse_device(origin: &str) -> Result<OwnedFd, SetupError> {
    rfs::open("/dev/fuse", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).map_err(|e| {
        with_hint(
            SetupError::os("open", format!("\"/dev/fuse\" ({origin})"), e.into()),
            "the fuse-overlayfs driver needs read-write access to /dev/fuse \
             (ironpen never falls back to writing the base)",
        )
    })
}

/// A `fuse` mount served through `dev`, made in the jail's user namespace (the kernel requires
/// /dev/fuse to have been opened there) with the jail's ids as its owner; the kernel checks
/// permissions itself (`default_permissions`) against what the daemon reports.
fn fuse_mount(dev: &OwnedFd, ids: &Identity, origin: &str) -> Result<OwnedFd, SetupError> {
    use std::os::fd::AsRawFd;
    let fd = dev.as_raw_fd().to_string();
    let (uid, gid) = (ids.uid.to_string(), ids.gid.to_string());
    let fs = rustix::mount::fsopen("fuse", FsOpenFlags::FSOPEN_CLOEXEC)
        .ctx("fsopen", || format!("fuse ({origin})"))?;
    for (key, value) in [
        ("source", "ironpen-workspace"),
        ("subtype", "fuse-overlayfs"),
        ("fd", fd.as_str()),
        ("rootmode", "40000"),
        ("user_id", uid.as_str()),
        ("group_id", gid.as_str()),
    ] {
        rustix::mount::fsconfig_set_string(fs.as_fd(), key, value)
            .ctx("fsconfig", || format!("fuse {key}={value} ({origin})"))?;
    }
    rustix::mount::fsconfig_set_flag(fs.as_fd(), "default_permissions").ctx("fsconfig", || {
        format!("fuse default_permissions ({origin})")
    })?;
    rustix::mount::fsconfig_create(fs.as_fd())
        .ctx("fsconfig(CREATE)", || format!("fuse ({origin})"))?;
    rustix::mount::fsmount(
        fs.as_fd(),
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_NOSUID | MountAttrFlags::MOUNT_ATTR_NODEV,
    )
    .ctx("fsmount", || format!("fuse ({origin})"))
}

/// Create the workspace overlays, with the jail's ids set and before the staging root exists.
/// A fuse-overlayfs mount's /dev/fuse goes to ironpen, which starts the daemon outside the
/// jail; the jail keeps no copy (the mount's first use waits for the daemon). Returns the
/// report's lines: which driver serves which base.
pub(crate) fn mount_overlays(
    ops: &[MountOp],
    sources: &mut [Option<Source>],
    ids: &Identity,
    sock: BorrowedFd<'_>,
) -> Result<Vec<Entry>, SetupError> {
    let mut report = Vec::new();
    for (i, (op, source)) in ops.iter().zip(sources.iter_mut()).enumerate() {
        let MountOp::Overlay {
            dst,
            driver,
            origin,
            ..
        } = op
        else {
            continue;
        };
        match source.take() {
            Some(Source::Overlay { lower, upper, work }) => {
                *source = Some(Source::Tree(overlay_mount(&lower, &upper, &work, origin)?));
                report.push(Entry::full(
                    "workspace",
                    format!("{}: driver kernel (overlayfs, userxattr)", dst.display()),
                ));
            }
            Some(Source::Fuse(dev)) => {
                let mnt = fuse_mount(&dev, ids, origin)?;
                protocol::send_with_fd(sock, &Message::FuseDevice { op: i }, dev.as_fd())
                    .ctx("send", || format!("/dev/fuse to ironpen ({origin})"))?;
                drop(dev);
                *source = Some(Source::Tree(mnt));
                let binary = match driver {
                    OverlayDriver::FuseOverlayfs { binary } => binary.display().to_string(),
                    OverlayDriver::Kernel => String::new(),
                };
                report.push(Entry::full(
                    "workspace",
                    format!(
                        "{}: driver fuse ({binary}, daemon outside the jail)",
                        dst.display()
                    ),
                ));
            }
            other => *source = other,
        }
    }
    Ok(report)
}

/// A new, detached filesystem instance.
fn new_fs(
    fstype: &str,
    options: &[(&str, &str)],
    attrs: MountAttrFlags,
    what: &str,
) -> Result<OwnedFd, SetupError> {
    let fs = rustix::mount::fsopen(fstype, FsOpenFlags::FSOPEN_CLOEXEC)
        .ctx("fsopen", || format!("{fstype} ({what})"))?;
    for (key, value) in options {
        rustix::mount::fsconfig_set_string(fs.as_fd(), *key, *value)
            .ctx("fsconfig", || format!("{fstype} {key}={value} ({what})"))?;
    }
    rustix::mount::fsconfig_create(fs.as_fd())
        .ctx("fsconfig(CREATE)", || format!("{fstype} ({what})"))?;
    rustix::mount::fsmount(fs.as_fd(), FsMountFlags::FSMOUNT_CLOEXEC, attrs)
        .ctx("fsmount", || format!("{fstype} ({what})"))
}

/// Attach a detached mount onto an (already resolved) target.
fn attach(
    mnt: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    what: impl FnOnce() -> String,
) -> Result<(), SetupError> {
    rustix::mount::move_mount(
        mnt,
        "",
        target,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
    .ctx("move_mount", what)
}

/// Resolve `path` inside the new root without ever leaving it.
fn open_in_root(root: BorrowedFd<'_>, path: &Path, dir: bool) -> rustix::io::Result<OwnedFd> {
    let mut flags = OFlags::PATH | OFlags::CLOEXEC;
    if dir {
        flags |= OFlags::DIRECTORY;
    }
    rfs::openat2(
        root,
        rel(path),
        flags,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
}

/// `mkdir -p` inside the new root; returns an O_PATH fd of the directory.
fn ensure_dir(root: BorrowedFd<'_>, path: &Path, origin: &str) -> Result<OwnedFd, SetupError> {
    ensure_target(root, path, true, origin)
}

fn split<'a>(path: &'a Path, origin: &str) -> Result<(&'a Path, &'a std::ffi::OsStr), SetupError> {
    match (path.parent(), path.file_name()) {
        (Some(p), Some(n)) => Ok((p, n)),
        _ => Err(SetupError::other(
            "resolve",
            format!("{} ({origin})", show(path)),
            "not a valid mount target",
        )),
    }
}

/// Make sure a mount target exists with the same kind (directory or not) as the source,
/// creating missing parents; returns an O_PATH fd of it.
fn ensure_target(
    root: BorrowedFd<'_>,
    path: &Path,
    dir: bool,
    origin: &str,
) -> Result<OwnedFd, SetupError> {
    let what = || format!("{} ({origin})", show(path));
    match open_in_root(root, path, dir) {
        Ok(fd) => return Ok(fd),
        Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(SetupError::os("openat2(RESOLVE_IN_ROOT)", what(), e.into())),
    }
    let (parent, name) = split(path, origin)?;
    // An O_PATH directory fd is a valid dirfd for the *at() calls.
    let parent_fd = ensure_dir(root, parent, origin)?;
    let created = if dir {
        rfs::mkdirat(parent_fd.as_fd(), name, Mode::from_raw_mode(0o755)).map(drop)
    } else {
        rfs::openat(
            parent_fd.as_fd(),
            name,
            OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o644),
        )
        .map(drop)
    };
    match created {
        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
        Err(e) => {
            let step = if dir { "mkdir" } else { "create mount point" };
            return Err(SetupError::os(step, what(), e.into()));
        }
    }
    open_in_root(root, path, dir).ctx("openat2(RESOLVE_IN_ROOT)", what)
}

/// The directory that the last entries were created in (most land in /etc or /dev, one after
/// the other): reused until a mount is attached, which may cover it.
#[derive(Default)]
struct ParentCache(Option<(PathBuf, OwnedFd)>);

impl ParentCache {
    /// An O_PATH fd of `path`'s parent directory (a valid dirfd for the *at() calls that create
    /// entries) and `path`'s last component.
    fn dir_for_create<'p>(
        &mut self,
        root: BorrowedFd<'_>,
        path: &'p Path,
        origin: &str,
    ) -> Result<(BorrowedFd<'_>, &'p std::ffi::OsStr), SetupError> {
        let (parent, name) = split(path, origin)?;
        if !matches!(&self.0, Some((p, _)) if p == parent) {
            let fd = ensure_dir(root, parent, origin)?;
            self.0 = Some((parent.to_path_buf(), fd));
        }
        let (_, fd) = self.0.as_ref().expect("set just above");
        Ok((fd.as_fd(), name))
    }

    /// A mount was attached somewhere in the tree: a cached directory may be hidden under it.
    fn forget(&mut self) {
        self.0 = None;
    }
}

/// Build the jail's root from `ops` and pivot into it. On return the process's `/` is the new
/// root and the old one is detached.
pub(crate) fn build_and_pivot(
    ops: &[MountOp],
    mut sources: Vec<Option<Source>>,
    ids: &Identity,
    exec_paths: &[PathBuf],
) -> Result<ProcMode, SetupError> {
    let nosuid_nodev = MountAttrFlags::MOUNT_ATTR_NOSUID | MountAttrFlags::MOUNT_ATTR_NODEV;
    let root_mnt = new_fs("tmpfs", &[("mode", "0755")], nosuid_nodev, "jail root")?;
    let staging = rfs::open(
        STAGING,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx("open", || {
        format!("{STAGING:?} (staging point for the jail root)")
    })?;
    attach(root_mnt.as_fd(), staging.as_fd(), || {
        format!("jail root -> {STAGING:?}")
    })?;
    let root = root_mnt.as_fd();
    let uid = ids.uid.to_string();
    let gid = ids.gid.to_string();
    let mut proc_mode = ProcMode::NotMounted;
    let mut parents = ParentCache::default();

    for (i, op) in ops.iter().enumerate() {
        let origin = op.origin();
        if op.is_mount() {
            parents.forget();
        }
        match op {
            MountOp::Bind { src, dst, .. }
            | MountOp::Overlay {
                lower: src, dst, ..
            } => {
                let Some(Source::Tree(tree)) = sources[i].take() else {
                    continue;
                };
                let is_dir = rfs::fstat(tree.as_fd())
                    .map(|st| rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::Directory)
                    .ctx("fstat", || format!("{} ({origin})", show(src)))?;
                let target = ensure_target(root, dst, is_dir, &origin)?;
                attach(tree.as_fd(), target.as_fd(), || {
                    format!("{} -> {} ({origin})", show(src), show(dst))
                })?;
            }
            MountOp::Tmpfs { dst, mode, .. } => {
                let mode = format!("{mode:o}");
                let opts = [
                    ("mode", mode.as_str()),
                    ("uid", uid.as_str()),
                    ("gid", gid.as_str()),
                ];
                // Scratch space is not for programs: noexec also stops `ld.so /tmp/x` and
                // mmap(PROT_EXEC) of files there, which Landlock's execute right does not cover.
                // Unless the user allowed execution at or beneath this mount (--allow-exec).
                let allowed = exec_paths.iter().any(|p| p.starts_with(dst));
                let attrs = if allowed {
                    nosuid_nodev
                } else {
                    nosuid_nodev | MountAttrFlags::MOUNT_ATTR_NOEXEC
                };
                let mnt = new_fs("tmpfs", &opts, attrs, &origin)?;
                let target = ensure_dir(root, dst, &origin)?;
                attach(mnt.as_fd(), target.as_fd(), || {
                    format!("tmpfs -> {} ({origin})", show(dst))
                })?;
            }
            MountOp::Proc { dst } => {
                let attrs = nosuid_nodev | MountAttrFlags::MOUNT_ATTR_NOEXEC;
                let (mnt, mode) = match new_fs("proc", &[("subset", "pid")], attrs, &origin) {
                    Ok(m) => (m, ProcMode::PidOnly),
                    Err(e) if e.errno == Some(libc_einval()) => {
                        (new_fs("proc", &[], attrs, &origin)?, ProcMode::Full)
                    }
                    Err(e) => return Err(e),
                };
                let target = ensure_dir(root, dst, &origin)?;
                attach(mnt.as_fd(), target.as_fd(), || {
                    format!("proc -> {} ({origin})", show(dst))
                })?;
                proc_mode = mode;
            }
            MountOp::Devpts { dst } => {
                let attrs = MountAttrFlags::MOUNT_ATTR_NOSUID | MountAttrFlags::MOUNT_ATTR_NOEXEC;
                let mnt = new_fs(
                    "devpts",
                    &[("ptmxmode", "0666"), ("mode", "0620")],
                    attrs,
                    &origin,
                )?;
                let target = ensure_dir(root, dst, &origin)?;
                attach(mnt.as_fd(), target.as_fd(), || {
                    format!("devpts -> {} ({origin})", show(dst))
                })?;
                let ptmx = dst.with_file_name("ptmx");
                let (dir, name) = parents.dir_for_create(root, &ptmx, &origin)?;
                rfs::symlinkat("pts/ptmx", dir, name)
                    .ctx("symlink", || format!("{} ({origin})", show(&ptmx)))?;
            }
            MountOp::Dir { dst, mode } => {
                let (parent, name) = parents.dir_for_create(root, dst, &origin)?;
                match rfs::mkdirat(parent, name, Mode::from_raw_mode(*mode)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(SetupError::os("mkdir", show(dst), e.into())),
                }
                rfs::chmodat(
                    parent,
                    name,
                    Mode::from_raw_mode(*mode),
                    rfs::AtFlags::empty(),
                )
                .ctx("chmod", || show(dst))?;
            }
            MountOp::Symlink { target, link, .. } => {
                let (dir, name) = parents.dir_for_create(root, link, &origin)?;
                rfs::symlinkat(target.as_path(), dir, name).ctx("symlink", || {
                    format!("{} -> {} ({origin})", show(link), show(target))
                })?;
            }
            MountOp::File {
                dst,
                contents,
                mode,
            } => {
                let (dir, name) = parents.dir_for_create(root, dst, &origin)?;
                let f = rfs::openat(
                    dir,
                    name,
                    OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC,
                    Mode::from_raw_mode(*mode),
                )
                .ctx("create", || show(dst))?;
                write_all(f.as_fd(), contents.as_bytes()).ctx("write", || show(dst))?;
            }
            MountOp::RemountRootReadOnly => {
                sysmount::set_attr(root, sysmount::MOUNT_ATTR_RDONLY, 0, false)
                    .ctx("mount_setattr(MOUNT_ATTR_RDONLY)", || "jail root".into())?;
            }
        }
    }

    // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves the new
    // root alone, with no directory of the old root reachable.
    rustix::process::fchdir(root).ctx("chdir", || "jail root".into())?;
    rustix::process::pivot_root(".", ".").ctx("pivot_root", || "jail root".into())?;
    rustix::mount::unmount(".", UnmountFlags::DETACH)
        .ctx("umount2(MNT_DETACH)", || "old root".into())?;
    rustix::process::chdir("/").ctx("chdir", || "\"/\"".into())?;
    Ok(proc_mode)
}

fn libc_einval() -> i32 {
    rustix::io::Errno::INVAL.raw_os_error()
}

fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = rustix::io::write(fd, buf)?;
        buf = &buf[n..];
    }
    Ok(())
}
