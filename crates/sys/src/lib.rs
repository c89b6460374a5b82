//! The only ironpen crate allowed to contain `unsafe`.
//!
//! Each module wraps a handful of syscalls that rustix does not offer, in typed, fd-owning form.
//! Rules: one syscall per `unsafe` block, a `// SAFETY:` comment above each, and compile-time
//! size checks on kernel structs we build by hand.

pub mod confine;
pub mod detect;
pub mod fd;
pub mod libseccomp;
pub mod mount;
pub mod net;
pub mod probe;
pub mod process;
pub mod raw;
pub mod seccomp;
pub mod signal;
pub mod tty;

use std::io;

/// Turn a raw `-1`/errno syscall result into an `io::Result`.
fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
