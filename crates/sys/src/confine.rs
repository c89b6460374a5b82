//! Process attributes used by the confinement layers that rustix does not cover: personality(2)
//! (for the PaX-style `r` mark, which runs a binary without address-space randomisation), and
//! owning a duplicate of an inherited descriptor by number (for Landlock rules on it).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// `fcntl(fd, F_DUPFD_CLOEXEC, 3)`: an owned duplicate of descriptor `fd` (same open file).
pub fn dup_fd(fd: i32) -> io::Result<OwnedFd> {
    // SAFETY: integer-only fcntl; on success the kernel returns a new descriptor nobody owns.
    let ret = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    crate::check(libc::c_long::from(ret))?;
    // SAFETY: `ret` is a freshly allocated descriptor, owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(ret) })
}

/// `ADDR_NO_RANDOMIZE`: no address-space layout randomisation for the next execve and after.
pub const ADDR_NO_RANDOMIZE: u32 = 0x0004_0000;

/// Query the persona without changing it (`personality(0xffffffff)`).
const PERSONALITY_QUERY: libc::c_ulong = 0xffff_ffff;

/// `personality(0xffffffff)`: the calling process's current persona flags.
pub fn get_personality() -> io::Result<u32> {
    // SAFETY: integer-only syscall; the query value changes nothing.
    let ret = unsafe { libc::personality(PERSONALITY_QUERY) };
    crate::check(libc::c_long::from(ret)).map(|v| u32::try_from(v).unwrap_or(0))
}

/// `personality(current | flags)`: add persona flags (inherited across fork and execve).
pub fn add_personality(flags: u32) -> io::Result<()> {
    let current = get_personality()?;
    // SAFETY: integer-only syscall.
    let ret = unsafe { libc::personality(libc::c_ulong::from(current | flags)) };
    crate::check(libc::c_long::from(ret)).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_side_effect_free() {
        let a = get_personality().unwrap();
        let b = get_personality().unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn dup_of_a_closed_descriptor_fails() {
        use std::os::fd::AsRawFd as _;
        assert!(dup_fd(987_654).is_err());
        let d = dup_fd(0).or_else(|_| dup_fd(1)).unwrap();
        assert!(d.as_raw_fd() >= 3);
    }
}
