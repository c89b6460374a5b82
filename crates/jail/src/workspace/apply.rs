//! `ws apply`: merge a workspace's changes into the real base, only when asked. The changes are
//! read from the layer exactly as the diff reads them, and written beneath the base through
//! directory fds resolved with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` (a symlink planted in the
//! base cannot redirect a write). Files are written to a temporary name and renamed into place.
//! Privilege never travels: setuid/setgid bits are stripped, file capabilities and other xattrs
//! are not copied, device nodes are refused, ownership is the caller's. Only setuid/setgid bits can be kept,
//! with an explicit `--allow-setuid`.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, RenameFlags};

use super::diff::{self, open_beneath, Change, Entry, Kind};
use super::escape::escape_bytes;
use super::{Result, Workspace, WsError};

#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Only say what would be done.
    pub dry_run: bool,
    /// Keep setuid/setgid bits (default: stripped).
    pub allow_setuid: bool,
}

fn split(rel: &[u8]) -> (&[u8], &[u8]) {
    match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&[][..], rel),
    }
}

fn remove_entry(dir: BorrowedFd<'_>, name: &[u8]) -> std::io::Result<()> {
    let n = OsStr::from_bytes(name);
    match rfs::statat(dir, n, AtFlags::SYMLINK_NOFOLLOW) {
        Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
            let mut p =
                format!("/proc/self/fd/{}/", std::os::fd::AsRawFd::as_raw_fd(&dir)).into_bytes();
            p.extend_from_slice(name);
            // std's remove_dir_all never follows symlinks inside the tree.
            std::fs::remove_dir_all(Path::new(OsStr::from_bytes(&p)))
        }
        Ok(_) => rfs::unlinkat(dir, n, AtFlags::empty()).map_err(Into::into),
    }
}

/// Apply every change of the workspace to its bases (or, with `dry_run`, list them). `say` gets
/// one line per action, e.g. `write /base/file (setuid stripped)`.
pub fn apply(ws: &Workspace, opts: ApplyOptions, say: &mut dyn FnMut(&str)) -> Result<u64> {
    let meta = ws.meta()?;
    let mut done = 0u64;
    for layer in &meta.layers {
        let upper = ws.upper(layer);
        let mut entries: Vec<Entry> = Vec::new();
        let stats = diff::walk(&upper, &layer.base, &layer.base, layer.format(), &mut |e| {
            entries.push(e.clone())
        })?;
        if let Some(err) = stats.errors.first() {
            return Err(WsError::new(
                "apply",
                err,
                "could not be examined; nothing applied",
            ));
        }
        // Refusals first, before anything is written.
        // A jail cannot make device nodes (nodev overlay, no CAP_MKNOD on the host); one in a
        // layer was put there from outside, and is never carried into a base.
        if let Some(e) = entries.iter().find(|e| {
            matches!(e.kind, Kind::CharDev | Kind::BlockDev) && e.change != Change::Deleted
        }) {
            return Err(WsError::new(
                "apply",
                &e.path,
                "is a device node (never applied); nothing applied",
            ));
        }
        let uroot = rfs::open(
            &upper,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| WsError::io("open", &upper, e.into()))?;
        let broot = rfs::open(
            &layer.base,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| WsError::io("open", &layer.base, e.into()))?;
        for e in &entries {
            let rel = diff::relative(&e.raw_path, &layer.base);
            let mut notes: Vec<&str> = Vec::new();
            let mut mode = e.mode;
            if mode & 0o6000 != 0 && e.kind != Kind::Dir && !opts.allow_setuid {
                mode &= !0o6000;
                notes.push("setuid/setgid stripped");
            }
            if e.flags.contains(&"file-capability") {
                notes.push("file capability not copied");
            }
            let action = match (e.change, e.kind) {
                (Change::Deleted, _) => "delete",
                (Change::Metadata, _) => "chmod",
                (_, Kind::Dir) => "mkdir",
                (_, Kind::Socket) => "skip socket",
                _ => "write",
            };
            let note = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join(", "))
            };
            say(&format!(
                "{}{action} {}{note}",
                if opts.dry_run { "would " } else { "" },
                e.path
            ));
            if opts.dry_run || e.kind == Kind::Socket {
                continue;
            }
            let err = |op: &str, x: std::io::Error| WsError::new(op, &e.path, x);
            let (parent, name) = split(rel);
            let bdir = open_beneath(broot.as_fd(), parent, OFlags::PATH | OFlags::DIRECTORY)
                .map_err(|x| err("open parent in base", x.into()))?;
            let n = OsStr::from_bytes(name);
            match e.change {
                Change::Deleted => {
                    remove_entry(bdir.as_fd(), name).map_err(|x| err("delete", x))?
                }
                Change::Metadata => {
                    if e.kind != Kind::Symlink {
                        rfs::chmodat(bdir.as_fd(), n, Mode::from_raw_mode(mode), AtFlags::empty())
                            .map_err(|x| err("chmod", x.into()))?;
                    }
                }
                _ => {
                    if matches!(e.change, Change::Replaced | Change::TypeChanged) {
                        remove_entry(bdir.as_fd(), name).map_err(|x| err("replace", x))?;
                    }
                    write_one(
                        uroot.as_fd(),
                        rel,
                        bdir.as_fd(),
                        name,
                        e,
                        mode,
                        &broot,
                        &layer.base,
                    )
                    .map_err(|x| err("write", x))?;
                }
            }
            done += 1;
        }
    }
    Ok(done)
}

#[allow(clippy::too_many_arguments)]
fn write_one(
    uroot: BorrowedFd<'_>,
    rel: &[u8],
    bdir: BorrowedFd<'_>,
    name: &[u8],
    e: &Entry,
    mode: u32,
    broot: &OwnedFd,
    base: &Path,
) -> std::io::Result<()> {
    let n = OsStr::from_bytes(name);
    let tmp_name = format!(".ironpen-apply-{}", std::process::id());
    let tmp = OsStr::new(&tmp_name);
    let _ = rfs::unlinkat(bdir, tmp, AtFlags::empty());
    match e.kind {
        Kind::Dir => {
            match rfs::mkdirat(bdir, n, Mode::from_raw_mode(mode)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(x) => return Err(x.into()),
            }
            // Only a real directory, never through a symlink.
            let d = rfs::openat(
                bdir,
                n,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            give_parent_owner(bdir, n)?;
            rfs::fchmod(&d, Mode::from_raw_mode(mode))?;
            return Ok(());
        }
        Kind::File => {
            if let Some(first) = &e.raw_hardlink_of {
                let frel = diff::relative(first, base);
                rfs::linkat(broot, OsStr::from_bytes(frel), bdir, tmp, AtFlags::empty())?;
            } else {
                let src = open_beneath(
                    uroot,
                    rel,
                    OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
                )?;
                let st = rfs::fstat(&src)?;
                if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                    return Err(std::io::Error::other("changed type while applied"));
                }
                let dst = rfs::openat(
                    bdir,
                    tmp,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )?;
                let mut r = std::fs::File::from(src);
                let mut w = std::fs::File::from(dst);
                std::io::copy(&mut r, &mut w)?;
                rfs::fchmod(&w, Mode::from_raw_mode(mode))?;
            }
        }
        Kind::Symlink => {
            let t = e.raw_target.clone().unwrap_or_default();
            rfs::symlinkat(OsStr::from_bytes(&t), bdir, tmp)?;
        }
        Kind::Fifo => rfs::mknodat(bdir, tmp, FileType::Fifo, Mode::from_raw_mode(mode), 0)?,
        Kind::CharDev | Kind::BlockDev => {
            return Err(std::io::Error::other(format!(
                "device node {} is never applied",
                escape_bytes(name)
            )))
        }
        _ => return Ok(()),
    }
    give_parent_owner(bdir, tmp)?;
    if e.kind == Kind::File && mode & 0o6000 != 0 {
        // chown cleared the bits that --allow-setuid keeps.
        rfs::chmodat(bdir, tmp, Mode::from_raw_mode(mode), AtFlags::empty())?;
    }
    rfs::renameat_with(bdir, tmp, bdir, n, RenameFlags::empty()).map_err(Into::into)
}

/// As root, applied entries belong to the owner of the directory they land in (so they look like
/// the rest of the base, and a jail whose ids map to that owner can change them again), never to
/// the jail's host ids. Other callers own what they write.
fn give_parent_owner(dir: BorrowedFd<'_>, name: &OsStr) -> std::io::Result<()> {
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let st = rfs::fstat(dir)?;
    rfs::chownat(
        dir,
        name,
        Some(rfs::Uid::from_raw(st.st_uid)),
        Some(rfs::Gid::from_raw(st.st_gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}
