//! File-descriptor table operations: close_range(2).

use std::io;

/// Flags for [`close_range`].
pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// `close_range(first, last, flags)`: close (or mark close-on-exec) every fd in `first..=last`.
pub fn close_range(first: u32, last: u32, flags: u32) -> io::Result<()> {
    // SAFETY: close_range only manipulates this process's fd table; callers pass ranges that do
    // not contain fds still owned by Rust objects they intend to use (documented contract).
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) };
    crate::check(ret).map(drop)
}

/// Close every fd >= 3 except those listed in `keep` (which must be sorted ascending).
///
/// Used right after the jail's clone, before any of our own fds are opened, so no Rust object
/// owns an fd in the closed ranges.
pub fn close_all_except(keep: &[i32]) -> io::Result<()> {
    let mut next: u32 = 3;
    for &fd in keep {
        let Ok(fd) = u32::try_from(fd) else { continue };
        if fd < next {
            continue;
        }
        if fd > next {
            close_range(next, fd - 1, 0)?;
        }
        next = fd + 1;
    }
    close_range(next, u32::MAX, 0)
}

/// Clear `FD_CLOEXEC` on `fd` so it survives execve (for fds passed into the jail).
pub fn clear_cloexec(fd: i32) -> io::Result<()> {
    // SAFETY: F_SETFD on an integer fd has no memory effects; an invalid fd yields EBADF.
    let ret = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    crate::check(libc::c_long::from(ret)).map(drop)
}

/// Is `fd` an open file descriptor of this process?
pub fn is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD only queries the fd table.
    let ret = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    ret >= 0
}
