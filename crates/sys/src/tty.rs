//! Pseudo-terminal ioctls that the rest of the workspace needs and rustix keeps behind a feature we
//! do not enable: unlock a master (TIOCSPTLCK) and open its slave from the master itself
//! (TIOCGPTPEER, Linux ≥ 4.13), which needs no path lookup in /dev/pts — nothing in the file
//! system can swap in another terminal between the two steps.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `ioctl(master, TIOCSPTLCK, &0)`: allow the slave to be opened (`unlockpt(3)`).
pub fn unlockpt(master: BorrowedFd<'_>) -> io::Result<()> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from the pointer, which refers to a local that outlives the
    // call; an fd that is not a pty master yields ENOTTY.
    let ret = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) };
    crate::check(libc::c_long::from(ret)).map(drop)
}

/// `ioctl(master, TIOCGPTPEER, O_RDWR|O_NOCTTY|O_CLOEXEC)`: open the slave of `master`. Not
/// becoming the controlling terminal here is deliberate: the caller decides (TIOCSCTTY).
pub fn open_peer(master: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes its flags by value and returns a new fd; no memory is passed.
    let ret = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    let fd = crate::check(libc::c_long::from(ret))?;
    let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn peer_of_a_fresh_master_is_a_terminal() {
        use std::io::{IsTerminal, Read, Write};
        use std::os::unix::fs::OpenOptionsExt;
        let mut master = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open("/dev/ptmx")
            .expect("open /dev/ptmx");
        // Locked: the peer cannot be opened yet.
        assert_eq!(
            open_peer(master.as_fd()).unwrap_err().raw_os_error(),
            Some(libc::EIO)
        );
        unlockpt(master.as_fd()).unwrap();
        let mut slave = std::fs::File::from(open_peer(master.as_fd()).unwrap());
        assert!(slave.is_terminal());
        // Bytes written to the slave come out of the master (the line discipline adds CR).
        slave.write_all(b"hi\n").unwrap();
        let mut buf = [0u8; 16];
        let n = master.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hi\r\n");
    }

    #[test]
    fn a_regular_fd_is_not_a_master() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(
            unlockpt(f.as_fd()).unwrap_err().raw_os_error(),
            Some(libc::ENOTTY)
        );
    }
}
