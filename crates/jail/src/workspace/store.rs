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
