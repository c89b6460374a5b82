//! Syscalls made by number with exactly the register values given, for probing seccomp filters
//! from inside (a libc wrapper could normalize an argument, refuse it, or pick another syscall).
//! Test and benchmark helpers, not for the jail: each function passes only integers, NULL
//! pointers, or pointers to buffers it borrows for the call, so no register value a caller
//! chooses lets the kernel write into this process's memory or change its address space.
//!
//! Every function returns the syscall's raw result or its errno.

use std::ffi::c_long;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// A syscall's non-negative result, or the errno it failed with.
pub type Ret = Result<i64, i32>;

fn ret(r: c_long) -> Ret {
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

/// Syscalls whose every argument the kernel ignores; the filter still sees all six registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoArgs {
    Getpid,
    Getppid,
    Gettid,
}

/// `nr(regs...)` for a syscall that reads no argument.
pub fn no_args(sc: NoArgs, regs: [u64; 6]) -> Ret {
    let nr = match sc {
        NoArgs::Getpid => libc::SYS_getpid,
        NoArgs::Getppid => libc::SYS_getppid,
        NoArgs::Gettid => libc::SYS_gettid,
    };
    let [a, b, c, d, e, f] = regs;
    // SAFETY: the kernel reads none of the registers for these syscalls.
    ret(unsafe { libc::syscall(nr, a, b, c, d, e, f) })
}

/// Syscalls that touch memory only through pointer arguments, made with all six registers zero:
/// their pointers are NULL, so the kernel fails (EFAULT, EINVAL) or acts on no memory of ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Zeroed {
    /// `keyctl(KEYCTL_GET_KEYRING_ID, 0, 0)`.
    Keyctl,
    AddKey,
    /// `bpf(BPF_MAP_CREATE, NULL, 0)`.
    Bpf,
    PerfEventOpen,
    /// `userfaultfd(0)`: if allowed, returns a new fd that the caller owns (as a number).
    Userfaultfd,
    IoUringSetup,
    Mount,
    Fsopen,
    /// `clone3(NULL, 0)`: EINVAL from the kernel (size too small) before anything is created.
    Clone3,
}

/// `nr(0, 0, 0, 0, 0, 0)`.
pub fn zeroed(sc: Zeroed) -> Ret {
    let nr = match sc {
        Zeroed::Keyctl => libc::SYS_keyctl,
        Zeroed::AddKey => libc::SYS_add_key,
        Zeroed::Bpf => libc::SYS_bpf,
        Zeroed::PerfEventOpen => libc::SYS_perf_event_open,
        Zeroed::Userfaultfd => libc::SYS_userfaultfd,
        Zeroed::IoUringSetup => libc::SYS_io_uring_setup,
        Zeroed::Mount => libc::SYS_mount,
        Zeroed::Fsopen => libc::SYS_fsopen,
        Zeroed::Clone3 => libc::SYS_clone3,
    };
    // SAFETY: with every register zero these syscalls get NULL for each pointer argument and
    // touch no memory of this process (see `Zeroed`).
    ret(unsafe { libc::syscall(nr, 0, 0, 0, 0, 0, 0) })
}

/// `pipe2(fds, flags)`; the kernel writes two fds into a local array that we then own.
pub fn pipe2(flags: u64) -> Result<(OwnedFd, OwnedFd), i32> {
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: `fds` is a live, writable array of two c_ints, exactly what pipe2 writes.
    ret(unsafe { libc::syscall(libc::SYS_pipe2, fds.as_mut_ptr(), flags) })?;
    // SAFETY: on success both are fresh descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `read(fd, buf, buf.len())`.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Ret {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, borrowed mutably for the
    // call; `fd` is open for the borrow.
    ret(unsafe { libc::syscall(libc::SYS_read, fd.as_raw_fd(), buf.as_mut_ptr(), buf.len()) })
}

/// `write(fd, buf, buf.len())`.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> Ret {
    // SAFETY: the kernel reads at most `buf.len()` bytes from `buf`; `fd` is open for the borrow.
    ret(unsafe { libc::syscall(libc::SYS_write, fd.as_raw_fd(), buf.as_ptr(), buf.len()) })
}

/// `ioctl(fd, FIONREAD, &n)`: the bytes waiting to be read.
pub fn ioctl_fionread(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at `n`.
    ret(unsafe {
        libc::syscall(
            libc::SYS_ioctl,
            fd.as_raw_fd(),
            libc::FIONREAD,
            &mut n as *mut libc::c_int,
        )
    })?;
    Ok(n)
}

/// `ioctl(fd, cmd, NULL)` with the full 64-bit `cmd` register (the kernel uses its low 32 bits;
/// a filter might not).
pub fn ioctl_null(fd: BorrowedFd<'_>, cmd: u64) -> Ret {
    // SAFETY: ioctl reaches user memory only through its third argument, which is NULL; `fd` is
    // open for the borrow.
    ret(unsafe { libc::syscall(libc::SYS_ioctl, fd.as_raw_fd(), cmd, 0usize) })
}

/// `personality(persona)` with the full 64-bit register; `0xffffffff` only queries.
pub fn personality(persona: u64) -> Ret {
    // SAFETY: personality takes one integer and touches no user memory.
    ret(unsafe { libc::syscall(libc::SYS_personality, persona) })
}

/// `CLONE_NEW*` bits: the only flags [`unshare_namespaces`] and [`fork_into_namespaces`] accept.
pub const NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;

/// `unshare(flags)`.
///
/// # Panics
/// If `flags` has bits outside [`NAMESPACE_FLAGS`] (CLONE_FILES or CLONE_VM would change what
/// this process's fds and memory mean).
pub fn unshare_namespaces(flags: u64) -> Ret {
    assert_eq!(
        flags & !NAMESPACE_FLAGS,
        0,
        "unshare_namespaces({flags:#x}): namespace flags only"
    );
    // SAFETY: unsharing namespaces changes no memory or fd of this process.
    ret(unsafe { libc::syscall(libc::SYS_unshare, flags) })
}

/// `clone(flags, NULL, NULL, NULL, NULL)`: a fork into new namespaces. If the kernel lets it
/// through, the child exits at once with status 0 and is reaped here; returns the child's pid.
///
/// # Panics
/// If `flags` has bits outside [`NAMESPACE_FLAGS`] and the exit-signal byte (no CLONE_VM,
/// CLONE_SETTLS, *_TID or CLONE_PIDFD: those would share memory or write through pointers).
pub fn fork_into_namespaces(flags: u64) -> Ret {
    assert_eq!(
        flags & !(NAMESPACE_FLAGS | 0xff),
        0,
        "fork_into_namespaces({flags:#x}): namespace flags and exit signal only"
    );
    // SAFETY: without CLONE_VM and with a NULL stack this is a fork: the child gets a copy of the
    // address space and, below, makes only the async-signal-safe exit_group syscall.
    let pid =
        ret(unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) })?;
    if pid == 0 {
        // SAFETY: in the child: exit_group takes an integer and never returns.
        unsafe { libc::syscall(libc::SYS_exit_group, 0) };
    }
    let mut status = 0;
    let pid_t = libc::pid_t::try_from(pid).map_err(|_| libc::EOVERFLOW)?;
    // SAFETY: waitpid writes one c_int into `status`; the pid is our own child.
    ret(c_long::from(unsafe {
        libc::waitpid(pid_t, &mut status, libc::__WALL)
    }))?;
    Ok(pid)
}

/// `setns(fd, nstype)` with a raw fd register (the probe passes an invalid one).
pub fn setns_raw(fd: u64, nstype: u64) -> Ret {
    // SAFETY: setns takes integers; it neither writes memory nor closes the descriptor.
    ret(unsafe { libc::syscall(libc::SYS_setns, fd, nstype) })
}

/// `ptrace(request, 0, NULL, NULL)`: pid 0 is no tracee, so every request but PTRACE_TRACEME
/// fails with ESRCH, and TRACEME only marks this process as traced by its parent.
pub fn ptrace_pid0(request: u64) -> Ret {
    // SAFETY: with pid 0 the kernel finds no tracee and never dereferences addr/data (NULL).
    ret(unsafe { libc::syscall(libc::SYS_ptrace, request, 0usize, 0usize, 0usize) })
}

/// `openat(AT_FDCWD, NULL, 0)`: the bad-pointer trick. EFAULT means the filter let it through.
pub fn openat_null_path() -> Ret {
    // SAFETY: the path pointer is NULL; the kernel fails with EFAULT before opening anything.
    ret(unsafe { libc::syscall(libc::SYS_openat, libc::AT_FDCWD, 0usize, 0usize) })
}

/// `file_setattr(dfd, NULL, NULL, 0, 0)` (syscall 469 on x86_64 and aarch64, Linux 6.17).
pub fn file_setattr_null(dfd: u64) -> Ret {
    const SYS_FILE_SETATTR: c_long = 469;
    // SAFETY: both pointers are NULL and the size is 0: the kernel rejects the call without
    // touching user memory.
    ret(unsafe { libc::syscall(SYS_FILE_SETATTR, dfd, 0usize, 0usize, 0usize, 0usize) })
}

/// The lowest number [`unassigned`] accepts: the highest assigned syscall is below 500 on both
/// x86_64 and aarch64.
pub const UNASSIGNED_FLOOR: u64 = 1000;

/// Syscall `nr`, which no kernel assigns: ENOSYS once past the filter.
///
/// # Panics
/// If `nr` is below [`UNASSIGNED_FLOOR`] or has the x32 bit (`0x40000000`) or more set.
pub fn unassigned(nr: u64) -> Ret {
    assert!(
        (UNASSIGNED_FLOOR..0x4000_0000).contains(&nr),
        "unassigned({nr}): not an unassigned number"
    );
    let nr = c_long::try_from(nr).map_err(|_| libc::EINVAL)?;
    // SAFETY: the kernel has no syscall of this number and returns ENOSYS.
    ret(unsafe { libc::syscall(nr, 0usize, 0usize, 0usize, 0usize, 0usize, 0usize) })
}

/// Syscalls that can change the calling process even with every argument zero (end it, fork it,
/// replace or unmap its memory, block it forever, close its stdin): [`zero_args`] never makes them.
const UNSAFE_WITH_ZEROS: &[c_long] = &[
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_rt_sigreturn,
    libc::SYS_clone,
    libc::SYS_clone3,
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_mmap,
    libc::SYS_mprotect,
    libc::SYS_madvise,
    libc::SYS_brk,
    libc::SYS_shmdt,
    libc::SYS_close,
    libc::SYS_close_range,
    libc::SYS_rt_sigsuspend,
    libc::SYS_ppoll,
    libc::SYS_pselect6,
    libc::SYS_epoll_pwait,
    libc::SYS_wait4,
    libc::SYS_waitid,
    libc::SYS_prctl,
    libc::SYS_seccomp,
    libc::SYS_set_tid_address,
    libc::SYS_set_robust_list,
    libc::SYS_rseq,
    libc::SYS_sched_yield,
    libc::SYS_setsid,
    libc::SYS_setpgid,
    libc::SYS_kill,
    libc::SYS_tkill,
    libc::SYS_tgkill,
    libc::SYS_futex,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigaction,
    libc::SYS_sigaltstack,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_io_uring_enter,
    libc::SYS_userfaultfd,
    libc::SYS_personality,
    libc::SYS_setuid,
    libc::SYS_setgid,
    libc::SYS_setresuid,
    libc::SYS_setresgid,
    libc::SYS_setgroups,
    libc::SYS_setfsuid,
    libc::SYS_setfsgid,
    libc::SYS_capset,
    libc::SYS_chdir,
    libc::SYS_fchdir,
    libc::SYS_chroot,
    libc::SYS_umask,
    libc::SYS_dup2,
    libc::SYS_dup3,
    libc::SYS_mlockall,
    libc::SYS_munlockall,
    libc::SYS_sync,
    libc::SYS_vhangup,
    libc::SYS_setrlimit,
    libc::SYS_prlimit64,
    libc::SYS_timer_delete,
    libc::SYS_keyctl,
    libc::SYS_landlock_restrict_self,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_fork,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_vfork,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_pause,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_arch_prctl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_select,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_poll,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_epoll_wait,
];

/// Syscall `nr` with all six arguments zero (NULL pointers): for checking which numbers a filter
/// refuses. Numbers in a fixed list of calls that could alter this process even with zeros are
/// not made (`None`).
pub fn zero_args(nr: u32) -> Option<Ret> {
    let nr = c_long::from(nr);
    if UNSAFE_WITH_ZEROS.contains(&nr) {
        return None;
    }
    // SAFETY: every argument is 0: pointers are NULL (the kernel fails with EFAULT rather than
    // write through them) and the calls that could change this process with such arguments
    // (exit, fork, memory mapping, signal state, ids, fds, blocking waits) are excluded above.
    Some(ret(unsafe {
        libc::syscall(nr, 0usize, 0usize, 0usize, 0usize, 0usize, 0usize)
    }))
}

/// x32 `getpid` (`__X32_SYSCALL_BIT | 39`): ENOSYS or a pid unless the filter blocks x32.
#[cfg(target_arch = "x86_64")]
pub fn x32_getpid() -> Ret {
    // SAFETY: getpid reads no argument, in the x32 ABI as in x86_64.
    ret(unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn pipe_round_trip() {
        let (r, w) = pipe2(libc::O_CLOEXEC as u64).expect("pipe2");
        assert_eq!(write(w.as_fd(), b"xy"), Ok(2));
        assert_eq!(ioctl_fionread(r.as_fd()), Ok(2));
        let mut buf = [0u8; 4];
        assert_eq!(read(r.as_fd(), &mut buf), Ok(2));
        assert_eq!(&buf[..2], b"xy");
    }

    #[test]
    fn null_pointers_fault_and_integers_pass() {
        assert_eq!(openat_null_path(), Err(libc::EFAULT));
        assert_eq!(
            no_args(NoArgs::Getpid, [u64::MAX; 6]),
            Ok(i64::from(std::process::id()))
        );
        assert_eq!(zeroed(Zeroed::Clone3), Err(libc::EINVAL));
        assert_eq!(zeroed(Zeroed::Mount), Err(libc::EFAULT));
        assert_eq!(setns_raw(u64::MAX, 0), Err(libc::EBADF));
        assert_eq!(unassigned(1000), Err(libc::ENOSYS));
        let p = personality(0xffff_ffff).expect("query");
        assert_eq!(personality(0xffff_ffff), Ok(p), "a query changes nothing");
    }

    #[test]
    #[should_panic(expected = "namespace flags only")]
    fn unshare_refuses_non_namespace_flags() {
        let _ = unshare_namespaces(libc::CLONE_FILES as u64);
    }

    #[test]
    #[should_panic(expected = "exit signal only")]
    fn fork_refuses_clone_vm() {
        let _ = fork_into_namespaces(libc::CLONE_VM as u64);
    }
}
