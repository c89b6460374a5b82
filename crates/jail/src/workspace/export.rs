//! `ws export`: the changes of a workspace as a tar in the OCI image-layer convention, so any
//! layer-aware tool can replay them: added and modified entries as themselves (paths relative to
//! `/`, e.g. `home/me/project/file`), a deleted entry `dir/name` as an empty file
//! `dir/.wh.name`, a directory replaced as a whole as the directory plus `dir/.wh..wh..opq`.
//! Content is streamed from the layer (opened like the diff opens it: never following a symlink,
//! never opening anything but a regular file).

use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, FileType, Mode, OFlags};

use super::diff::{self, open_beneath, Change, Entry, Kind};
use super::{Result, Workspace, WsError};

/// What an export wrote.
#[derive(Debug, Default, Clone)]
pub struct ExportStats {
    pub entries: u64,
    pub whiteouts: u64,
    pub bytes: u64,
}

fn tar_path(raw: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(raw.strip_prefix(b"/").unwrap_or(raw)))
}

fn with_name(raw: &[u8], prefix: &[u8]) -> PathBuf {
    let cut = raw
        .iter()
        .rposition(|&b| b == b'/')
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut p = raw[..cut].to_vec();
    p.extend_from_slice(prefix);
    p.extend_from_slice(&raw[cut..]);
    tar_path(&p)
}

/// Write the workspace's changes to `out` as a tar. Regular files larger than `max_file` bytes
/// are refused (tar has no portable holes: a 1 TiB sparse file would be 1 TiB of zeros).
pub fn export(ws: &Workspace, out: impl Write, max_file: u64) -> Result<ExportStats> {
    let meta = ws.meta()?;
    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Complete);
    let mut stats = ExportStats::default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    for layer in &meta.layers {
        let upper = ws.upper(layer);
        let uroot = rfs::open(
            &upper,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| WsError::io("open", &upper, e.into()))?;
        let mut failure: Option<WsError> = None;
        let mut write = |e: &Entry| -> Result<()> {
            let io = |err: std::io::Error| WsError::new("export", &e.path, err);
            let mut h = tar::Header::new_gnu();
            h.set_mtime(now);
            h.set_uid(u64::from(e.uid));
            h.set_gid(u64::from(e.gid));
            h.set_mode(e.mode);
            if e.change == Change::Deleted {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(0);
                tar.append_data(&mut h, with_name(&e.raw_path, b".wh."), std::io::empty())
                    .map_err(io)?;
                stats.whiteouts += 1;
                return Ok(());
            }
            let path = tar_path(&e.raw_path);
            if let Some(first) = &e.raw_hardlink_of {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                tar.append_link(&mut h, &path, tar_path(first))
                    .map_err(io)?;
                stats.entries += 1;
                return Ok(());
            }
            match e.kind {
                Kind::Dir => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    tar.append_data(&mut h, &path, std::io::empty())
                        .map_err(io)?;
                    if e.change == Change::Replaced {
                        let mut o = tar::Header::new_gnu();
                        o.set_mtime(now);
                        o.set_mode(0o644);
                        o.set_size(0);
                        let mut opq = e.raw_path.clone();
                        opq.extend_from_slice(b"/.wh..wh..opq");
                        tar.append_data(&mut o, tar_path(&opq), std::io::empty())
                            .map_err(io)?;
                        stats.whiteouts += 1;
                    }
                }
                Kind::File => {
                    if e.size > max_file {
                        return Err(WsError::new(
                            "export",
                            &e.path,
                            format!("{} bytes, more than --max-file-size {max_file}", e.size),
                        ));
                    }
                    let rel = diff::relative(&e.raw_path, &layer.base);
                    let fd = open_beneath(
                        uroot.as_fd(),
                        rel,
                        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
                    )
                    .map_err(|err| io(err.into()))?;
                    let st = rfs::fstat(&fd).map_err(|err| io(err.into()))?;
                    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                        return Err(io(std::io::Error::other("changed type while exported")));
                    }
                    let size = u64::try_from(st.st_size).unwrap_or(0);
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(size);
                    let reader = std::io::Read::take(std::fs::File::from(fd), size);
                    tar.append_data(&mut h, &path, reader).map_err(io)?;
                    stats.bytes += size;
                }
                Kind::Symlink => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    let t = e.raw_target.clone().unwrap_or_default();
                    tar.append_link(&mut h, &path, Path::new(OsStr::from_bytes(&t)))
                        .map_err(io)?;
                }
                Kind::Fifo => {
                    h.set_entry_type(tar::EntryType::Fifo);
                    h.set_size(0);
                    tar.append_data(&mut h, &path, std::io::empty())
                        .map_err(io)?;
                }
                // Sockets are not files anyone can replay; device nodes cannot be made in a jail.
                _ => return Ok(()),
            }
            stats.entries += 1;
            Ok(())
        };
        diff::walk(&upper, &layer.base, &layer.base, layer.format(), &mut |e| {
            if failure.is_none() {
                if let Err(err) = write(e) {
                    failure = Some(err);
                }
            }
        })?;
        if let Some(f) = failure {
            return Err(f);
        }
    }
    tar.finish().map_err(|e| WsError::new("export", "tar", e))?;
    Ok(stats)
}
