//! Removing and copying layer trees that a jailed program wrote: never follow its symlinks,
//! never open its device nodes or FIFOs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::{Result, WsError};

/// `rm -rf` that also copes with directories the jail made read-only (mode 0555), which a
/// rootless caller cannot empty without making them writable first. Symlinks are removed, never
/// followed (std's remove_dir_all and our walk both use lstat semantics).
pub fn remove_tree(path: &Path) -> Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(md) = std::fs::symlink_metadata(&d) else {
            continue;
        };
        if !md.is_dir() {
            continue;
        }
        let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700));
        if let Ok(rd) = std::fs::read_dir(&d) {
            stack.extend(rd.flatten().map(|e| e.path()));
        }
    }
    std::fs::remove_dir_all(path).map_err(|e| WsError::io("remove", path, e))
}

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, SeekFrom, XattrFlags};

use super::diff::open_beneath;

fn proc_path(dir: BorrowedFd<'_>, name: &[u8]) -> std::path::PathBuf {
    let mut p = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    p.extend_from_slice(name);
    std::path::PathBuf::from(OsStr::from_bytes(&p))
}

/// Copy every xattr of `name` in `sdir` onto `name` in `ddir` (neither followed nor opened).
fn copy_xattrs(sdir: BorrowedFd<'_>, ddir: BorrowedFd<'_>, name: &[u8]) -> std::io::Result<()> {
    let (src, dst) = (proc_path(sdir, name), proc_path(ddir, name));
    let mut list = vec![0u8; 65536];
    let n = match rfs::llistxattr(&src, &mut list[..]) {
        Ok(n) => n,
        Err(rustix::io::Errno::NOTSUP) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut val = vec![0u8; 65536];
    for key in list[..n].split(|&b| b == 0).filter(|k| !k.is_empty()) {
        let key = OsStr::from_bytes(key);
        let len = rfs::lgetxattr(&src, key, &mut val[..])?;
        rfs::lsetxattr(&dst, key, &val[..len], XattrFlags::empty())?;
    }
    Ok(())
}

/// Copy a regular file's content, keeping holes (a 1 TiB sparse file stays a few blocks).
fn copy_sparse(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, size: u64) -> std::io::Result<()> {
    let mut pos = 0u64;
    while pos < size {
        let data = match rfs::seek(src, SeekFrom::Data(pos)) {
            Ok(d) => d,
            Err(rustix::io::Errno::NXIO) => break,
            Err(e) => return Err(e.into()),
        };
        let hole = rfs::seek(src, SeekFrom::Hole(data))?.min(size);
        let (mut off_in, mut off_out) = (data, data);
        while off_in < hole {
            let want = usize::try_from(hole - off_in)
                .unwrap_or(usize::MAX)
                .min(1 << 30);
            let n = rfs::copy_file_range(src, Some(&mut off_in), dst, Some(&mut off_out), want)?;
            if n == 0 {
                break;
            }
        }
        pos = hole;
    }
    rfs::ftruncate(dst, size)?;
    Ok(())
}

/// Copy the tree at `src` to the new directory `dst`, keeping types, modes, owners (as root),
/// xattrs (overlay's `user.overlay.*` and `trusted.overlay.*` included), hard links, holes and
/// whiteouts (0:0 character devices, which any user may create since Linux 5.8). Never follows
/// a symlink, never opens anything but regular files; an explicit stack, no recursion.
pub fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    let as_root = rustix::process::geteuid().is_root();
    let sroot = rfs::open(
        src,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| WsError::io("open", src, e.into()))?;
    std::fs::create_dir(dst).map_err(|e| WsError::io("mkdir", dst, e))?;
    let droot = rfs::open(
        dst,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| WsError::io("open", dst, e.into()))?;
    let err = |rel: &[u8], op: &str, e: std::io::Error| {
        WsError::new(
            op,
            format!("{}/{}", src.display(), super::escape::escape_bytes(rel)),
            e,
        )
    };
    let mut links: std::collections::HashMap<(u64, u64), Vec<u8>> = Default::default();
    // Directories get their final mode last (a 0555 directory must stay writable while filled).
    let mut dirs: Vec<(Vec<u8>, rfs::Stat)> = Vec::new();
    let st = rfs::fstat(&sroot).map_err(|e| WsError::io("stat", src, e.into()))?;
    dirs.push((Vec::new(), st));
    let mut stack: Vec<Vec<u8>> = vec![Vec::new()];
    while let Some(rel) = stack.pop() {
        let sdir = open_beneath(sroot.as_fd(), &rel, OFlags::RDONLY | OFlags::DIRECTORY)
            .map_err(|e| err(&rel, "open", e.into()))?;
        let ddir = open_beneath(droot.as_fd(), &rel, OFlags::PATH | OFlags::DIRECTORY)
            .map_err(|e| err(&rel, "open copy of", e.into()))?;
        let mut names = Vec::new();
        for ent in rfs::Dir::read_from(sdir.as_fd()).map_err(|e| err(&rel, "read", e.into()))? {
            let ent = ent.map_err(|e| err(&rel, "read", e.into()))?;
            let n = ent.file_name().to_bytes();
            if n != b"." && n != b".." {
                names.push(n.to_vec());
            }
        }
        for name in names {
            let path = if rel.is_empty() {
                name.clone()
            } else {
                [&rel[..], b"/", &name[..]].concat()
            };
            let n = OsStr::from_bytes(&name);
            let st = rfs::statat(sdir.as_fd(), n, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| err(&path, "stat", e.into()))?;
            let ft = FileType::from_raw_mode(st.st_mode);
            let mode = Mode::from_raw_mode(st.st_mode & 0o7777);
            if ft != FileType::Directory && st.st_nlink > 1 {
                let key = (st.st_dev, st.st_ino);
                if let Some(first) = links.get(&key) {
                    rfs::linkat(
                        droot.as_fd(),
                        OsStr::from_bytes(first),
                        ddir.as_fd(),
                        n,
                        AtFlags::empty(),
                    )
                    .map_err(|e| err(&path, "link", e.into()))?;
                    continue;
                }
                links.insert(key, path.clone());
            }
            match ft {
                FileType::Directory => {
                    rfs::mkdirat(ddir.as_fd(), n, Mode::from_raw_mode(0o700))
                        .map_err(|e| err(&path, "mkdir", e.into()))?;
                    dirs.push((path.clone(), st));
                    stack.push(path);
                    continue;
                }
                FileType::RegularFile => {
                    let sf = rfs::openat(
                        sdir.as_fd(),
                        n,
                        OFlags::RDONLY
                            | OFlags::NOFOLLOW
                            | OFlags::NONBLOCK
                            | OFlags::CLOEXEC
                            | OFlags::NOCTTY,
                        Mode::empty(),
                    )
                    .map_err(|e| err(&path, "open", e.into()))?;
                    let fst = rfs::fstat(&sf).map_err(|e| err(&path, "stat", e.into()))?;
                    if FileType::from_raw_mode(fst.st_mode) != FileType::RegularFile {
                        return Err(err(
                            &path,
                            "copy",
                            std::io::Error::other("changed type while copied"),
                        ));
                    }
                    let df: OwnedFd = rfs::openat(
                        ddir.as_fd(),
                        n,
                        OFlags::WRONLY
                            | OFlags::CREATE
                            | OFlags::EXCL
                            | OFlags::NOFOLLOW
                            | OFlags::CLOEXEC,
                        Mode::from_raw_mode(0o600),
                    )
                    .map_err(|e| err(&path, "create", e.into()))?;
                    copy_sparse(sf.as_fd(), df.as_fd(), fst.st_size as u64)
                        .map_err(|e| err(&path, "copy", e))?;
                }
                FileType::Symlink => {
                    let t = rfs::readlinkat(sdir.as_fd(), n, Vec::new())
                        .map_err(|e| err(&path, "readlink", e.into()))?;
                    rfs::symlinkat(t.as_c_str(), ddir.as_fd(), n)
                        .map_err(|e| err(&path, "symlink", e.into()))?;
                }
                _ => {
                    rfs::mknodat(ddir.as_fd(), n, ft, mode, st.st_rdev)
                        .map_err(|e| err(&path, "mknod", e.into()))?;
                }
            }
            finish(sdir.as_fd(), ddir.as_fd(), &name, &st, as_root)
                .map_err(|e| err(&path, "copy metadata", e))?;
        }
    }
    for (rel, st) in dirs.iter().rev() {
        let (sdir, ddir, name) = if rel.is_empty() {
            (None, None, Vec::new())
        } else {
            let cut = rel.iter().rposition(|&b| b == b'/');
            let (parent, name) = match cut {
                Some(i) => (&rel[..i], rel[i + 1..].to_vec()),
                None => (&[][..], rel.clone()),
            };
            let s = open_beneath(sroot.as_fd(), parent, OFlags::PATH | OFlags::DIRECTORY)
                .map_err(|e| err(rel, "open", e.into()))?;
            let d = open_beneath(droot.as_fd(), parent, OFlags::PATH | OFlags::DIRECTORY)
                .map_err(|e| err(rel, "open", e.into()))?;
            (Some(s), Some(d), name)
        };
        match (&sdir, &ddir) {
            (Some(s), Some(d)) => finish(s.as_fd(), d.as_fd(), &name, st, as_root),
            _ => finish_root(src, dst, st, as_root),
        }
        .map_err(|e| err(rel, "copy metadata", e))?;
    }
    Ok(())
}

/// The copied tree's top directory: through directory fds (it has no parent fd here).
fn finish_root(src: &Path, dst: &Path, st: &rfs::Stat, as_root: bool) -> std::io::Result<()> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let s = rfs::open(src, flags, Mode::empty())?;
    let d = rfs::open(dst, flags, Mode::empty())?;
    if as_root {
        rfs::fchown(
            &d,
            Some(rustix::fs::Uid::from_raw(st.st_uid)),
            Some(rustix::fs::Gid::from_raw(st.st_gid)),
        )?;
    }
    let mut list = vec![0u8; 65536];
    let n = rfs::flistxattr(&s, &mut list[..]).unwrap_or(0);
    let mut val = vec![0u8; 65536];
    for key in list[..n].split(|&b| b == 0).filter(|k| !k.is_empty()) {
        let key = OsStr::from_bytes(key);
        let len = rfs::fgetxattr(&s, key, &mut val[..])?;
        rfs::fsetxattr(&d, key, &val[..len], XattrFlags::empty())?;
    }
    rfs::fchmod(&d, Mode::from_raw_mode(st.st_mode & 0o7777))?;
    Ok(())
}

/// Owner (as root), xattrs, then mode (chown clears setuid bits, so mode comes last).
fn finish(
    sdir: BorrowedFd<'_>,
    ddir: BorrowedFd<'_>,
    name: &[u8],
    st: &rfs::Stat,
    as_root: bool,
) -> std::io::Result<()> {
    let n = OsStr::from_bytes(name);
    let ft = FileType::from_raw_mode(st.st_mode);
    if as_root {
        rfs::chownat(
            ddir,
            n,
            Some(rustix::fs::Uid::from_raw(st.st_uid)),
            Some(rustix::fs::Gid::from_raw(st.st_gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )?;
    }
    if ft == FileType::Symlink {
        return Ok(());
    }
    copy_xattrs(sdir, ddir, name)?;
    // Our own copy, not a symlink: following is harmless here.
    rfs::chmodat(
        ddir,
        n,
        Mode::from_raw_mode(st.st_mode & 0o7777),
        AtFlags::empty(),
    )?;
    Ok(())
}
