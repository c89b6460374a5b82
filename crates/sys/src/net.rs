//! Network namespaces: bring the loopback interface up inside a new one, and get a handle on
//! the current one without /proc.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A datagram socket in the current network namespace, for interface ioctls.
fn ioctl_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes only integers; the result is checked before being wrapped.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    crate::check(libc::c_long::from(raw))?;
    // SAFETY: `raw` is a fresh, valid fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// An nsfs file descriptor for the caller's current network namespace (`SIOCGSKNS` on a fresh
/// socket: works without /proc, needs CAP_NET_ADMIN over the namespace). `setns(fd,
/// CLONE_NEWNET)` with it joins the namespace; the fd is close-on-exec.
pub fn current_namespace() -> io::Result<OwnedFd> {
    const SIOCGSKNS: libc::c_ulong = 0x894C;
    let sock = ioctl_socket()?;
    // SAFETY: SIOCGSKNS takes no argument and returns a new fd (O_CLOEXEC); checked before
    // being wrapped.
    let raw = unsafe { libc::ioctl(sock.as_raw_fd(), SIOCGSKNS) };
    crate::check(libc::c_long::from(raw))?;
    // SAFETY: `raw` is a fresh, valid fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// `unshare(CLONE_NEWNET)`: move the caller into a new, empty network namespace (owned by its
/// user namespace; `lo` exists and is down).
pub fn unshare_namespace() -> io::Result<()> {
    // SAFETY: unshare(2) with a namespace flag only changes which network namespace the caller
    // belongs to; it reads and writes no memory of the process.
    let ret = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    crate::check(libc::c_long::from(ret)).map(drop)
}

/// Set `IFF_UP` on the interface `lo` of the current network namespace.
pub fn loopback_up() -> io::Result<()> {
    let sock = ioctl_socket()?;
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
