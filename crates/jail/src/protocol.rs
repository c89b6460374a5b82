//! The sync socket between ironpen and its jail: one datagram per message (SOCK_SEQPACKET).

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use serde::{Deserialize, Serialize};

use crate::error::SetupError;

/// Messages from the jail to ironpen.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Message {
    /// Setup failed; the jail exits.
    Error(SetupError),
    /// The program exited with this status.
    Exited(i32),
    /// The program was killed by this signal.
    Signaled(i32),
    /// What the jail enforces, sent right before execve.
    Report(crate::report::Report),
    /// The master of the jail's own pty; the fd itself rides along (SCM_RIGHTS).
    PtyMaster,
    /// The /dev/fuse of a fuse-overlayfs workspace mount (mount op `op` of the plan), mounted
    /// in the jail; the fd rides along. ironpen serves it from outside the jail.
    FuseDevice { op: usize },
}

const MAX: usize = 64 * 1024;

/// A connected pair of close-on-exec `SOCK_SEQPACKET` sockets: one datagram per message, and
/// the peer's end of stream when its process dies.
pub(crate) fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::net::socketpair(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::SEQPACKET,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )?)
}

pub(crate) fn send(sock: BorrowedFd<'_>, msg: &Message) -> io::Result<()> {
    let buf = serde_json::to_vec(msg).map_err(io::Error::other)?;
    rustix::net::send(sock, &buf, rustix::net::SendFlags::NOSIGNAL)?;
    Ok(())
}

/// `send`, passing `fd` along with the message (SCM_RIGHTS).
pub(crate) fn send_with_fd(
    sock: BorrowedFd<'_>,
    msg: &Message,
    fd: BorrowedFd<'_>,
) -> io::Result<()> {
    let buf = serde_json::to_vec(msg).map_err(io::Error::other)?;
    send_bytes(sock, &buf, Some(fd))
}

/// One datagram, with `fd` attached (SCM_RIGHTS) if given.
fn send_bytes(sock: BorrowedFd<'_>, buf: &[u8], fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage};
    let fds = fd.as_slice();
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(io::Error::other(
            "SCM_RIGHTS does not fit the control buffer",
        ));
    }
    rustix::net::sendmsg(
        sock,
        &[io::IoSlice::new(buf)],
        &mut control,
        rustix::net::SendFlags::NOSIGNAL,
    )?;
    Ok(())
}

/// Receive one message and the fd sent with it, if any (received close-on-exec; a second fd
/// is closed). `Ok(None)` at end of stream.
pub(crate) fn recv_with_fd(sock: BorrowedFd<'_>) -> io::Result<Option<(Message, Option<OwnedFd>)>> {
    // The datagram's length first (MSG_PEEK | MSG_TRUNC leaves it queued), then a buffer of
    // that size: a zeroed MAX-byte buffer costs 16 page faults, on the path that the end of
    // every jail waits on.
    let len = loop {
        match rustix::net::recv(
            sock,
            &mut [0u8; 0][..],
            rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::TRUNC,
        ) {
            Ok((_, len)) => break len,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    if len > MAX {
        return Err(io::Error::other(format!(
            "a message of {len} bytes from the jail (at most {MAX} expected)"
        )));
    }
    let mut buf = vec![0u8; len];
    let (n, fd) = recv_bytes(sock, &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    let msg = serde_json::from_slice(&buf[..n]).map_err(io::Error::other)?;
    Ok(Some((msg, fd)))
}

/// One datagram into `buf` (its length; 0 at end of stream) and the fd attached, if any.
fn recv_bytes(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let n = loop {
        match rustix::net::recvmsg(
            sock,
            &mut [io::IoSliceMut::new(buf)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        ) {
            Ok(r) => break r.bytes,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let mut fd = None;
    for m in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = m {
            for f in fds {
                fd.get_or_insert(f);
            }
        }
    }
    Ok((n, fd))
}

/// Init → program's process: "the host name is set and the network namespace is ready";
/// `netns` (the namespace to join) rides along unless the network is shared.
pub(crate) fn send_ready(sock: BorrowedFd<'_>, netns: Option<BorrowedFd<'_>>) -> io::Result<()> {
    send_bytes(sock, b"R", netns)
}

/// Program's process: wait for init's ready message. `None` if init went away (it failed and
/// reports why itself), else the network namespace it sent, if any.
pub(crate) fn wait_ready(sock: BorrowedFd<'_>) -> Option<Option<OwnedFd>> {
    let mut b = [0u8; 1];
    match recv_bytes(sock, &mut b) {
        Ok((1, fd)) if b[0] == b'R' => Some(fd),
        _ => None,
    }
}

/// Parent → child: "your id maps are written, go on".
pub(crate) fn send_go(sock: BorrowedFd<'_>) -> io::Result<()> {
    rustix::net::send(sock, b"G", rustix::net::SendFlags::NOSIGNAL)?;
    Ok(())
}

/// Child: wait for the go byte. False if the parent went away.
pub(crate) fn wait_go(sock: BorrowedFd<'_>) -> bool {
    let mut b = [0u8; 1];
    loop {
        match rustix::net::recv(sock, &mut b, rustix::net::RecvFlags::empty()) {
            Ok((1, _)) => return b[0] == b'G',
            Err(rustix::io::Errno::INTR) => continue,
            _ => return false,
        }
    }
}

/// Has the other end of the socket been closed (its process died)?
pub(crate) fn peer_gone(sock: BorrowedFd<'_>) -> bool {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(&sock, PollFlags::empty())];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
        && fds[0].revents().intersects(PollFlags::HUP | PollFlags::ERR)
}
