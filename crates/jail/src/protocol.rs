//! The sync socket between ironpen and its jail: one datagram per message (SOCK_SEQPACKET).

use std::io;
use std::os::fd::BorrowedFd;

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
}

const MAX: usize = 64 * 1024;

pub(crate) fn send(sock: BorrowedFd<'_>, msg: &Message) -> io::Result<()> {
    let buf = serde_json::to_vec(msg).map_err(io::Error::other)?;
    rustix::net::send(sock, &buf, rustix::net::SendFlags::NOSIGNAL)?;
    Ok(())
}

/// Receive one message; `Ok(None)` at end of stream.
pub(crate) fn recv(sock: BorrowedFd<'_>) -> io::Result<Option<Message>> {
    let mut buf = vec![0u8; MAX];
    let n = loop {
        match rustix::net::recv(sock, &mut buf, rustix::net::RecvFlags::empty()) {
            Ok((n, _)) => break n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    if n == 0 {
        return Ok(None);
    }
    serde_json::from_slice(&buf[..n])
        .map(Some)
        .map_err(io::Error::other)
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
