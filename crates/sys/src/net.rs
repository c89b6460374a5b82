//! Network interface flags: bring the loopback interface up inside a new network namespace.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Set `IFF_UP` on the interface `lo` of the current network namespace.
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: socket(2) takes only integers; the result is checked before being wrapped.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    crate::check(libc::c_long::from(raw))?;
    // SAFETY: `raw` is a fresh, valid fd that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = libc::c_char::from_ne_bytes([*src]);
    }
    // SAFETY: `req` is a valid ifreq naming "lo"; SIOCGIFFLAGS writes only ifr_flags inside it.
    let ret = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) };
    crate::check(libc::c_long::from(ret))?;
    // SAFETY: reading the union member SIOCGIFFLAGS just initialised.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    // IFF_UP is 1: it fits in the 16-bit ifr_flags.
    req.ifr_ifru.ifru_flags = flags | 1;
    // SAFETY: as above; SIOCSIFFLAGS only reads `req`.
    let ret = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) };
    crate::check(libc::c_long::from(ret)).map(drop)
}
