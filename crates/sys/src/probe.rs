//! Raw operations used by the in-jail test probe (attacks that must fail inside a jail) and by
//! the host-side test helpers (session keyrings, file handles, inherited fds).
//!
//! Every function returns the kernel's errno on failure so the probe can report it verbatim;
//! nothing here retries or interprets errors.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// A raw errno value, as the kernel returned it.
pub type Errno = i32;

fn last_errno() -> Errno {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn cstring(s: &str) -> Result<CString, Errno> {
    CString::new(s).map_err(|_| libc::EINVAL)
}

/// `ptrace(PTRACE_ATTACH, pid)`; on success the tracee is detached again right away.
pub fn ptrace_attach(pid: i32) -> Result<(), Errno> {
    // SAFETY: PTRACE_ATTACH takes no pointers; addr and data are ignored.
    let r = unsafe { libc::ptrace(libc::PTRACE_ATTACH, pid, 0usize, 0usize) };
    if r < 0 {
        return Err(last_errno());
    }
    let mut status = 0;
    // SAFETY: status is a valid, writable c_int for the duration of the call.
    unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
    // SAFETY: PTRACE_DETACH with data 0 (no signal) takes no pointers.
    unsafe { libc::ptrace(libc::PTRACE_DETACH, pid, 0usize, 0usize) };
    Ok(())
}

/// `ptrace(PTRACE_SEIZE, pid)`; on success the tracee is detached again right away.
pub fn ptrace_seize(pid: i32) -> Result<(), Errno> {
    // SAFETY: PTRACE_SEIZE with data 0 (no options) takes no pointers.
    let r = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0usize, 0usize) };
    if r < 0 {
        return Err(last_errno());
    }
    // SAFETY: PTRACE_DETACH with data 0 takes no pointers (a seized tracee need not be stopped).
    unsafe { libc::ptrace(libc::PTRACE_DETACH, pid, 0usize, 0usize) };
    Ok(())
}

/// `kill(pid, sig)`.
pub fn kill(pid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: kill takes no pointers.
    let r = unsafe { libc::kill(pid, sig) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `unshare(flags)`.
pub fn unshare(flags: i32) -> Result<(), Errno> {
    // SAFETY: unshare takes no pointers; it only changes this thread's namespaces.
    let r = unsafe { libc::unshare(flags) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `chroot(path)`.
pub fn chroot(path: &str) -> Result<(), Errno> {
    let p = cstring(path)?;
    // SAFETY: p is a valid NUL-terminated string that outlives the call.
    let r = unsafe { libc::chroot(p.as_ptr()) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `fchdir(fd)`.
pub fn fchdir(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: fchdir takes no pointers; fd is borrowed, hence open.
    let r = unsafe { libc::fchdir(fd.as_raw_fd()) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `mount(source, target, fstype, flags, NULL)`.
pub fn mount(source: &str, target: &str, fstype: &str, flags: u64) -> Result<(), Errno> {
    let (s, t, f) = (cstring(source)?, cstring(target)?, cstring(fstype)?);
    // SAFETY: all three strings are valid and NUL-terminated; data is NULL.
    let r = unsafe {
        libc::mount(
            s.as_ptr(),
            t.as_ptr(),
            f.as_ptr(),
            flags as libc::c_ulong,
            std::ptr::null(),
        )
    };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `mknod(path, S_IFCHR | 0600, makedev(major, minor))`.
pub fn mknod_char(path: &str, major: u32, minor: u32) -> Result<(), Errno> {
    let p = cstring(path)?;
    let dev = libc::makedev(major, minor);
    // SAFETY: p is a valid NUL-terminated string.
    let r = unsafe { libc::mknod(p.as_ptr(), libc::S_IFCHR | 0o600, dev) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `mkfifo(path, 0600)`.
pub fn mkfifo(path: &str) -> Result<(), Errno> {
    let p = cstring(path)?;
    // SAFETY: p is a valid NUL-terminated string.
    let r = unsafe { libc::mkfifo(p.as_ptr(), 0o600) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `sethostname(name)`.
pub fn sethostname(name: &str) -> Result<(), Errno> {
    // SAFETY: the pointer and length describe the bytes of `name`, which outlive the call.
    let r = unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `getsid(0)`.
pub fn getsid() -> i32 {
    // SAFETY: getsid takes no pointers.
    unsafe { libc::getsid(0) }
}

/// `fcntl(fd, F_GETFD)`: Ok(flags) when fd is open.
pub fn fd_flags(fd: RawFd) -> Result<i32, Errno> {
    // SAFETY: F_GETFD only inspects the descriptor table; no pointers.
    let r = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

/// Open a directory WITHOUT `O_CLOEXEC`, so that it is inherited across exec (a deliberate
/// leak for tests that check the jail closes inherited fds).
pub fn open_dir_inheritable(path: &str) -> Result<RawFd, Errno> {
    open_inheritable(path, libc::O_RDONLY | libc::O_DIRECTORY)
}

/// `open(path, flags)` WITHOUT `O_CLOEXEC` (unless in `flags`): the fd survives exec.
pub fn open_inheritable(path: &str, flags: i32) -> Result<RawFd, Errno> {
    let p = cstring(path)?;
    // SAFETY: p is a valid NUL-terminated string; no mode is needed without O_CREAT.
    let r = unsafe { libc::open(p.as_ptr(), flags) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

/// A file handle from `name_to_handle_at`, as the kernel encoded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHandle {
    pub handle_type: i32,
    pub bytes: Vec<u8>,
    pub mount_id: i32,
}

/// Room for the largest handle the kernel hands out (MAX_HANDLE_SZ).
const MAX_HANDLE_SZ: usize = 128;
const MAX_HANDLE_SZ_U32: u32 = 128;

/// `struct file_handle` with inline storage for the handle bytes.
#[repr(C)]
struct RawFileHandle {
    handle_bytes: u32,
    handle_type: i32,
    f_handle: [u8; MAX_HANDLE_SZ],
}
const _: () = assert!(std::mem::size_of::<RawFileHandle>() == 8 + MAX_HANDLE_SZ);

/// `name_to_handle_at(AT_FDCWD, path, ..., 0)`.
pub fn name_to_handle(path: &str) -> Result<FileHandle, Errno> {
    let p = cstring(path)?;
    let mut fh = RawFileHandle {
        handle_bytes: MAX_HANDLE_SZ_U32,
        handle_type: 0,
        f_handle: [0; MAX_HANDLE_SZ],
    };
    let mut mount_id: libc::c_int = 0;
    // SAFETY: p is NUL-terminated; fh has handle_bytes bytes of storage after its header;
    // mount_id is a valid c_int. The kernel writes at most handle_bytes bytes.
    let r = unsafe {
        libc::syscall(
            libc::SYS_name_to_handle_at,
            libc::AT_FDCWD,
            p.as_ptr(),
            &mut fh as *mut RawFileHandle,
            &mut mount_id as *mut libc::c_int,
            0,
        )
    };
    if r < 0 {
        return Err(last_errno());
    }
    let n = (fh.handle_bytes as usize).min(MAX_HANDLE_SZ);
    Ok(FileHandle {
        handle_type: fh.handle_type,
        bytes: fh.f_handle[..n].to_vec(),
        mount_id,
    })
}

/// `open_by_handle_at(mount_fd, handle, O_RDONLY)`.
pub fn open_by_handle(mount_fd: BorrowedFd<'_>, handle: &FileHandle) -> Result<OwnedFd, Errno> {
    if handle.bytes.len() > MAX_HANDLE_SZ {
        return Err(libc::EINVAL);
    }
    let mut fh = RawFileHandle {
        handle_bytes: u32::try_from(handle.bytes.len()).map_err(|_| libc::EINVAL)?,
        handle_type: handle.handle_type,
        f_handle: [0; MAX_HANDLE_SZ],
    };
    fh.f_handle[..handle.bytes.len()].copy_from_slice(&handle.bytes);
    // SAFETY: fh is a valid file_handle with handle_bytes bytes of payload; mount_fd is open.
    let r = unsafe {
        libc::syscall(
            libc::SYS_open_by_handle_at,
            mount_fd.as_raw_fd(),
            &mut fh as *mut RawFileHandle,
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if r < 0 {
        return Err(last_errno());
    }
    let fd = RawFd::try_from(r).map_err(|_| libc::EBADF)?;
    // SAFETY: the kernel just returned this fd to us; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Special keyring id: the calling thread's session keyring.
pub const KEY_SPEC_SESSION_KEYRING: i32 = -3;
const KEYCTL_GET_KEYRING_ID: i32 = 0;
const KEYCTL_JOIN_SESSION_KEYRING: i32 = 1;
const KEYCTL_DESCRIBE: i32 = 6;
const KEYCTL_READ: i32 = 11;
const KEYCTL_SETPERM: i32 = 5;
const KEYCTL_SEARCH: i32 = 10;

/// Key serials are 32-bit; the syscall returns them in a long.
fn serial(v: i64) -> Result<i32, Errno> {
    i32::try_from(v).map_err(|_| libc::ERANGE)
}

fn keyctl_ret(r: libc::c_long) -> Result<i64, Errno> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

/// `keyctl(KEYCTL_GET_KEYRING_ID, id, create)`: the serial of a (special) keyring.
pub fn keyring_id(id: i32, create: bool) -> Result<i32, Errno> {
    // SAFETY: KEYCTL_GET_KEYRING_ID takes only integers.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_GET_KEYRING_ID,
            id,
            libc::c_int::from(create),
        )
    };
    keyctl_ret(r).and_then(serial)
}

/// `keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)`: a new anonymous session keyring.
pub fn join_new_session_keyring() -> Result<i32, Errno> {
    // SAFETY: a NULL name asks for a new anonymous keyring; no other pointers.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    keyctl_ret(r).and_then(serial)
}

/// `add_key("user", desc, payload, keyring)`.
pub fn add_user_key(desc: &str, payload: &[u8], keyring: i32) -> Result<i32, Errno> {
    let ty = cstring("user")?;
    let d = cstring(desc)?;
    // SAFETY: ty and d are NUL-terminated; payload pointer/length describe a live slice.
    let r = unsafe {
        libc::syscall(
            libc::SYS_add_key,
            ty.as_ptr(),
            d.as_ptr(),
            payload.as_ptr(),
            payload.len(),
            keyring,
        )
    };
    keyctl_ret(r).and_then(serial)
}

/// `keyctl(KEYCTL_SETPERM, key, perm)`.
pub fn key_setperm(key: i32, perm: u32) -> Result<(), Errno> {
    // SAFETY: KEYCTL_SETPERM takes only integers.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, key, perm) };
    keyctl_ret(r).map(|_| ())
}

fn keyctl_string(op: i32, key: i32) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: buf is a writable buffer of buf.len() bytes; the kernel writes at most that many.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, op, key, buf.as_mut_ptr(), buf.len()) };
    let n = usize::try_from(keyctl_ret(r)?).map_err(|_| libc::ERANGE)?;
    buf.truncate(n.min(4096));
    Ok(buf)
}

/// `keyctl(KEYCTL_DESCRIBE, key)`: "type;uid;gid;perm;description".
pub fn key_describe(key: i32) -> Result<String, Errno> {
    let mut b = keyctl_string(KEYCTL_DESCRIBE, key)?;
    while b.last() == Some(&0) {
        b.pop();
    }
    Ok(String::from_utf8_lossy(&b).into_owned())
}

/// `keyctl(KEYCTL_READ, key)`: the payload.
pub fn key_read(key: i32) -> Result<Vec<u8>, Errno> {
    keyctl_string(KEYCTL_READ, key)
}

/// `keyctl(KEYCTL_SEARCH, keyring, "user", desc, 0)`: the serial of a key reachable from keyring.
pub fn key_search(keyring: i32, desc: &str) -> Result<i32, Errno> {
    let ty = cstring("user")?;
    let d = cstring(desc)?;
    // SAFETY: ty and d are NUL-terminated strings that outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_SEARCH,
            keyring,
            ty.as_ptr(),
            d.as_ptr(),
            0,
        )
    };
    keyctl_ret(r).and_then(serial)
}

/// `ioctl(fd, TIOCSTI, &ch)`: push one byte into a terminal's input queue.
pub fn tiocsti(fd: BorrowedFd<'_>, ch: u8) -> Result<(), Errno> {
    // SAFETY: TIOCSTI reads one byte from the pointer, which points to a live u8.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSTI, &ch as *const u8) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// A raw `syscall(nr, args...)` returning the result or the errno. Used with deliberately bad
/// pointers (e.g. 1) to tell "reached the kernel" (EFAULT) from "blocked" (EPERM/ENOSYS)
/// without letting the call do anything.
pub fn raw_syscall(nr: i64, args: [u64; 6]) -> Result<i64, Errno> {
    // SAFETY: callers pass only integers or pointers the kernel validates (bad pointers fail
    // with EFAULT, they are never dereferenced in user space).
    let r = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

/// A set of signals blocked by [`block_signals`], to wait for with [`wait_signals`].
pub struct BlockedSignals(libc::sigset_t);

/// Block `signals` in this (single-threaded) process so they stay pending until waited for.
pub fn block_signals(signals: &[i32]) -> Result<BlockedSignals, Errno> {
    // SAFETY: sigset_t is plain data; an all-zero value is valid storage for sigemptyset.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: set points to a live sigset_t.
    unsafe { libc::sigemptyset(&mut set) };
    for &s in signals {
        // SAFETY: set points to a live sigset_t; an invalid signal number only yields EINVAL.
        if unsafe { libc::sigaddset(&mut set, s) } < 0 {
            return Err(last_errno());
        }
    }
    // SAFETY: set is initialised; the old mask is not needed (NULL).
    let r = unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r < 0 {
        return Err(last_errno());
    }
    Ok(BlockedSignals(set))
}

/// Wait up to `timeout_ms` for one of the blocked signals: Ok(signal), Err(EAGAIN) on timeout.
pub fn wait_signals(set: &BlockedSignals, timeout_ms: u64) -> Result<i32, Errno> {
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout_ms / 1000).map_err(|_| libc::EINVAL)?,
        tv_nsec: libc::c_long::try_from((timeout_ms % 1000) * 1_000_000)
            .map_err(|_| libc::EINVAL)?,
    };
    // SAFETY: the set and ts are live and initialised; siginfo is not requested (NULL).
    let r = unsafe { libc::sigtimedwait(&set.0, std::ptr::null_mut(), &ts) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}
