//! Side-effect-free probes for kernel features that rustix has no call for.
//!
//! Each probe calls a syscall with arguments the kernel rejects *after* it has recognised the
//! syscall (or flag), so the errno tells "present" from "absent" (`ENOSYS` / `EINVAL` on an
//! unknown flag) without creating anything. The one exception is [`seccomp_notify_addfd`], which
//! installs a filter on a short-lived helper thread; the filter dies with that thread.

use std::io;

/// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`: the Landlock ABI version.
/// Errors: `ENOSYS` (not built), `EOPNOTSUPP` (built but disabled at boot).
pub fn landlock_abi_version() -> io::Result<u32> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_ulong = 1;
    // SAFETY: a NULL attribute pointer with size 0 is the documented way to ask for the ABI
    // version; the kernel reads no memory and returns an integer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    u32::try_from(ret).map_err(|_| io::Error::from_raw_os_error(libc::ERANGE))
}

/// `seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action)`: Ok if the kernel knows the filter return
/// `action` (e.g. `SECCOMP_RET_USER_NOTIF`), `EOPNOTSUPP` if not, `EINVAL`/`ENOSYS` on old kernels.
pub fn seccomp_action_available(action: u32) -> io::Result<()> {
    const SECCOMP_GET_ACTION_AVAIL: libc::c_uint = 2;
    let action_ref = &action;
    // SAFETY: the kernel reads 4 bytes from a valid, live u32.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_ACTION_AVAIL,
            0u32,
            std::ptr::from_ref(action_ref),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Does the kernel know these `SECCOMP_SET_MODE_FILTER` flags? Calls the syscall with a NULL
/// program: the kernel validates flags first (`EINVAL` if unknown), then faults on the program
/// copy (`EFAULT`), so nothing is installed either way.
pub fn seccomp_filter_flags_known(flags: u32) -> io::Result<bool> {
    const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
    // SAFETY: a NULL program pointer is never dereferenced by us; the kernel's copy_from_user
    // fails with EFAULT, which is the expected outcome.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags,
            std::ptr::null::<libc::c_void>(),
        )
    };
    if ret == 0 {
        // Cannot happen with a NULL program; refuse to guess.
        return Err(io::Error::from_raw_os_error(libc::EPROTO));
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::EFAULT) => Ok(true),
        Some(libc::EINVAL) => Ok(false),
        _ => Err(io::Error::last_os_error()),
    }
}

/// `PR_GET_MDWE`: the current memory-deny-write-execute flags, `EINVAL` if the kernel lacks MDWE.
pub fn prctl_get_mdwe() -> io::Result<u32> {
    const PR_GET_MDWE: libc::c_int = 66;
    // SAFETY: PR_GET_MDWE takes no pointers; unused arguments must be zero.
    let ret = unsafe {
        libc::prctl(
            PR_GET_MDWE,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    u32::try_from(ret).map_err(|_| io::Error::from_raw_os_error(libc::ERANGE))
}

/// Classify the errno of a probe that passes a too-small struct size: the kernel answers
/// `EINVAL`/`E2BIG`/`EFAULT`/`EBADF` when it has the syscall, `ENOSYS` when not (or when a
/// seccomp filter hides it, which is just as unusable for us).
fn present_from_errno(ret: libc::c_long) -> io::Result<bool> {
    if ret >= 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOSYS) => Ok(false),
        Some(libc::EINVAL | libc::E2BIG | libc::EFAULT | libc::EBADF) => Ok(true),
        _ => Err(err),
    }
}

/// Is `clone3(2)` present? `clone3(NULL, 0)` fails with `EINVAL` (size below VER0) before
/// anything is created.
pub fn clone3_present() -> io::Result<bool> {
    // SAFETY: size 0 makes the kernel reject the call before reading the (NULL) argument.
    let ret = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<libc::c_void>(), 0usize) };
    present_from_errno(ret)
}

/// Is `mount_setattr(2)` present? Size 0 is rejected with `EINVAL` before any lookup.
pub fn mount_setattr_present() -> io::Result<bool> {
    // SAFETY: NULL path and attr with size 0: the kernel fails the size check first.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            -1 as libc::c_int,
            std::ptr::null::<libc::c_char>(),
            0 as libc::c_uint,
            std::ptr::null::<libc::c_void>(),
            0usize,
        )
    };
    present_from_errno(ret)
}

/// Is `openat2(2)` present? Size 0 is rejected with `EINVAL` before the path is read.
pub fn openat2_present() -> io::Result<bool> {
    // SAFETY: NULL path and how with size 0: the kernel fails the size check first.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0usize,
        )
    };
    present_from_errno(ret)
}

/// `struct seccomp_notif_addfd` (linux/seccomp.h).
#[repr(C)]
struct SeccompNotifAddfd {
    id: u64,
    flags: u32,
    srcfd: u32,
    newfd: u32,
    newfd_flags: u32,
}
const _: () = assert!(std::mem::size_of::<SeccompNotifAddfd>() == 24);

/// `_IOW('!', 3, struct seccomp_notif_addfd)`.
const SECCOMP_IOCTL_NOTIF_ADDFD: libc::c_ulong = 0x4018_2103;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;
const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

/// Does seccomp user-notify support `SECCOMP_IOCTL_NOTIF_ADDFD` (Linux 5.9)?
///
/// There is no flag to ask, so a helper thread sets no_new_privs on itself, installs a filter
/// that notifies only on `getppid` (which it never calls) with a new listener, and sends an
/// ADDFD for a notification id that does not exist: `ENOENT` means the ioctl is known, `EINVAL`
/// means it is not. no_new_privs and the filter are per-thread and end with the thread; the
/// listener fd is closed before it exits. The calling thread is untouched.
///
/// `join` returns once the thread has released its memory, slightly before the kernel removes
/// it from the thread group; this function also waits until `/proc/self/task/TID` is gone, so a
/// caller may `unshare(CLONE_NEWUSER)` (which needs a single-threaded process) right after.
pub fn seccomp_notify_addfd() -> io::Result<bool> {
    let (result, tid) = std::thread::Builder::new()
        .name("ironpen-addfd-probe".into())
        .spawn(|| (addfd_probe_on_this_thread(), current_tid()))
        .map_err(|e| io::Error::new(e.kind(), format!("spawn probe thread: {e}")))?
        .join()
        .map_err(|_| io::Error::other("ADDFD probe thread panicked"))?;
    let task = std::path::PathBuf::from(format!("/proc/self/task/{tid}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
    while task.exists() {
        if std::time::Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "ADDFD probe thread {tid} still listed in /proc/self/task after 200 ms"
            )));
        }
        std::thread::yield_now();
    }
    result
}

fn current_tid() -> libc::pid_t {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::gettid() }
}

fn addfd_probe_on_this_thread() -> io::Result<bool> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only and affects this thread only.
    let ret = unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let nr =
        u32::try_from(libc::SYS_getppid).map_err(|_| io::Error::from_raw_os_error(libc::ERANGE))?;
    let insns = [
        // A = seccomp_data.nr
        libc::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 0,
        },
        // if A == getppid: next, else skip one
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: nr,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_USER_NOTIF,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_ALLOW,
        },
    ];
    let prog = libc::sock_fprog {
        len: 4,
        filter: insns.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points to 4 valid instructions that outlive the call; the filter is
    // installed on this helper thread only (no TSYNC).
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            1 as libc::c_uint,
            SECCOMP_FILTER_FLAG_NEW_LISTENER,
            std::ptr::from_ref(&prog),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = libc::c_int::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::ERANGE))?;
    let addfd = SeccompNotifAddfd {
        id: 0,
        flags: 0,
        srcfd: fd.unsigned_abs(),
        newfd: 0,
        newfd_flags: 0,
    };
    // SAFETY: `addfd` is a valid, live struct of the size encoded in the ioctl number.
    let ret = unsafe { libc::ioctl(fd, SECCOMP_IOCTL_NOTIF_ADDFD, std::ptr::from_ref(&addfd)) };
    let errno = io::Error::last_os_error();
    // SAFETY: `fd` is the listener we own; nothing else refers to it.
    unsafe { libc::close(fd) };
    if ret >= 0 {
        return Err(io::Error::other("ADDFD with id 0 unexpectedly succeeded"));
    }
    match errno.raw_os_error() {
        Some(libc::ENOENT) => Ok(true),
        Some(libc::EINVAL | libc::ENOTTY) => Ok(false),
        _ => Err(errno),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_answer_on_this_kernel() {
        // This machine (Linux 6.x) has all of these; an error here means a probe is wrong.
        assert!(clone3_present().unwrap());
        assert!(mount_setattr_present().unwrap());
        assert!(openat2_present().unwrap());
        assert!(landlock_abi_version().unwrap() >= 1);
        seccomp_action_available(SECCOMP_RET_USER_NOTIF).unwrap();
        assert!(seccomp_filter_flags_known(1 << 3).unwrap());
        assert!(!seccomp_filter_flags_known(1 << 30).unwrap());
        assert!(seccomp_notify_addfd().unwrap());
        // The helper thread is gone from the thread group, not just joined.
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let comm =
                std::fs::read_to_string(task.unwrap().path().join("comm")).unwrap_or_default();
            assert_ne!(comm.trim(), "ironpen-addfd-p", "probe thread still listed");
        }
        // The probe thread's filter must not have leaked onto this thread.
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        assert!(status.contains("Seccomp:\t0"), "{status}");
        assert!(status.contains("NoNewPrivs:\t0"), "{status}");
    }
}
