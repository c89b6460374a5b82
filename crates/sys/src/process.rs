//! Process creation and process-wide attributes rustix does not cover: clone3(2) with a pidfd,
//! execve(2) with prepared arguments, _exit(2), keyctl(2) session keyrings, PR_SET_MDWE.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

pub use libc::{
    CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER,
    CLONE_NEWUTS,
};

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}
const _: () = assert!(std::mem::size_of::<CloneArgs>() == 88); // CLONE_ARGS_SIZE_VER2

const CLONE_PIDFD: u64 = 0x1000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Which side of a [`clone3`] we are on.
pub enum Forked {
    /// The new process.
    Child,
    /// The caller, with the child's pid (in the caller's pid namespace) and a pidfd for it.
    Parent { pid: i32, pidfd: OwnedFd },
}

/// Number of threads of the calling process: procfs counts them in the link count of
/// /proc/self/task (2 + one per thread). One stat, no text to generate and parse: this runs
/// before every clone3, on the jail's start-up path.
pub fn thread_count() -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let links = std::fs::metadata("/proc/self/task")?.nlink();
    links.checked_sub(2).filter(|&n| n > 0).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("/proc/self/task has link count {links}"),
        )
    })
}

/// `clone3({flags | CLONE_PIDFD, exit_signal: SIGCHLD, cgroup})`: a fork that can enter new
/// namespaces (and a cgroup) atomically and returns a pidfd.
///
/// The child continues on a copy of the caller's memory, like fork(2). Refuses to run (EINVAL
/// with a message) unless the process is single-threaded: otherwise a lock held by another thread
/// at the moment of the clone would stay locked forever in the child.
pub fn clone3(namespaces: libc::c_int, cgroup: Option<BorrowedFd<'_>>) -> io::Result<Forked> {
    if thread_count()? != 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "clone3 called from a multi-threaded process",
        ));
    }
    let mut pidfd: libc::c_int = -1;
    let ns = u64::from(namespaces.unsigned_abs());
    let mut args = CloneArgs {
        flags: ns | CLONE_PIDFD,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd().unsigned_abs().into();
    }
    // SAFETY: `args` is a correctly sized clone_args with no stack (fork semantics), and `pidfd`
    // outlives the call. The process is single-threaded (checked above), so the child's copy of
    // memory holds no lock owned by a vanished thread.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    let pid = crate::check(ret)?;
    if pid == 0 {
        return Ok(Forked::Child);
    }
    // SAFETY: with CLONE_PIDFD the kernel stored a fresh pidfd that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok(Forked::Parent {
        pid: i32::try_from(pid).unwrap_or(i32::MAX),
        pidfd,
    })
}

/// Arguments for [`execve`], converted up front so the exec itself allocates nothing.
pub struct ExecArgs {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

impl ExecArgs {
    /// Fails if any string contains a NUL byte.
    pub fn new<S: AsRef<str>>(
        path: &str,
        argv: &[S],
        env: &[(String, String)],
    ) -> io::Result<Self> {
        let nul = |_| io::Error::new(io::ErrorKind::InvalidInput, "argument contains a NUL byte");
        Ok(Self {
            path: CString::new(path).map_err(nul)?,
            argv: argv
                .iter()
                .map(|a| CString::new(a.as_ref()))
                .collect::<Result<_, _>>()
                .map_err(nul)?,
            envp: env
                .iter()
                .map(|(k, v)| CString::new(format!("{k}={v}")))
                .collect::<Result<_, _>>()
                .map_err(nul)?,
        })
    }

    pub fn path(&self) -> &CStr {
        &self.path
    }
}

/// `execve(2)`. Returns only on failure.
pub fn execve(args: &ExecArgs) -> io::Error {
    let mut argv: Vec<*const libc::c_char> = args.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = args.envp.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: path, argv and envp are NUL-terminated strings / NULL-terminated arrays that live
    // until the call returns (it only returns on failure).
    unsafe { libc::execve(args.path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

/// `_exit(2)`: end the process now, without running Rust or libc exit handlers (used in forked
/// children, whose copies of buffers and handlers belong to the parent).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(code) }
}

/// `kill(-1, SIGKILL)`: kill every process this one may signal, except itself. Used by a pid
/// namespace's init to end everything else in its namespace.
pub fn kill_all_others() -> io::Result<()> {
    // SAFETY: kill(2) takes no pointers; -1 addresses every process the caller may signal.
    let ret = unsafe { libc::kill(-1, libc::SIGKILL) };
    crate::check(libc::c_long::from(ret)).map(drop)
}

/// `keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)`: give the process a new anonymous session keyring,
/// so the caller's keys are unreachable.
pub fn join_new_session_keyring() -> io::Result<i32> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: a NULL name asks for an anonymous keyring; no memory is read or written.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    crate::check(ret).map(|id| i32::try_from(id).unwrap_or(-1))
}

const PR_SET_MDWE: libc::c_int = 65;
const PR_GET_MDWE: libc::c_int = 66;
/// `PR_MDWE_REFUSE_EXEC_GAIN`: refuse mappings that are (or become) writable and executable.
pub const MDWE_REFUSE_EXEC_GAIN: libc::c_ulong = 1;

/// `prctl(PR_SET_MDWE, bits)`: memory-deny-write-execute. Inherited by children and execve; cannot
/// be unset.
pub fn set_mdwe(bits: libc::c_ulong) -> io::Result<()> {
    // SAFETY: integer-only prctl.
    let ret = unsafe {
        libc::prctl(
            PR_SET_MDWE,
            bits,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    crate::check(libc::c_long::from(ret)).map(drop)
}

/// `prctl(PR_GET_MDWE)`: the current MDWE bits (EINVAL on kernels without MDWE).
pub fn get_mdwe() -> io::Result<libc::c_ulong> {
    // SAFETY: integer-only prctl.
    let ret = unsafe {
        libc::prctl(
            PR_GET_MDWE,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    crate::check(libc::c_long::from(ret)).map(|v| v.unsigned_abs())
}

/// Give back the pages of the read-only program images (ironpen's own code and constants, and
/// those of libc, ld.so and libgcc_s) that the process has touched so far, the free memory of the
/// heap and the stack pages below the current frame; then call `block` (the process's blocking
/// wait) and return its result.
///
/// ironpen's long-lived processes (the one waiting for the jail and the jail's init) ran a lot of
/// code once during setup and then only a small loop. The pages stay in the page cache and fault
/// back in when needed; the processes just stop holding them, which is what PSS/RSS measure.
/// Code that runs after the drop faults its page back in together with the aligned 64 KiB
/// around it (the kernel's fault-around), so the drop comes last, right before `block`: a
/// sleeping process then holds little more than the pages of this function and of the wait.
///
/// Only non-writable, file-backed mappings *with no anonymous page* are dropped (code,
/// constants): `MADV_DONTNEED` cannot lose data there. RELRO segments are `r--p` too but hold
/// relocated (privately modified) pages: smaps' `Anonymous:` excludes them. Best effort: errors
/// are ignored.
#[inline(never)]
pub fn drop_image_pages_then<T>(block: impl FnOnce() -> T) -> T {
    let mut ranges = [(0usize, 0usize); 32];
    let mut count = 0;
    let mut stack: Option<(usize, usize)> = None;
    if let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") {
        let mut candidate: Option<(usize, usize)> = None;
        for line in smaps.lines() {
            if let Some(anon) = line.strip_prefix("Anonymous:") {
                // The last field block of a mapping we might drop: only if no page of it was
                // ever privately modified (a RELRO segment is r--p but relocated).
                if let (Some(range), Some("0")) = (candidate.take(), anon.split_whitespace().next())
                {
                    if count < ranges.len() {
                        ranges[count] = range;
                        count += 1;
                    }
                }
                continue;
            }
            // Mapping header: "start-end perms offset dev inode path"
            let mut f = line.split_whitespace();
            let (Some(range), Some(perms)) = (f.next(), f.next()) else {
                continue;
            };
            let Some((a, b)) = range.split_once('-') else {
                continue;
            };
            let (Ok(start), Ok(end)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            else {
                continue;
            };
            let path = f.nth(3);
            if path == Some("[stack]") {
                stack = Some((start, end));
            }
            let file_backed = path.is_some_and(|p| p.starts_with('/'));
            candidate =
                (file_backed && (perms == "r-xp" || perms == "r--p")).then_some((start, end));
        }
    }
    // SAFETY: malloc_trim only releases free memory back to the kernel.
    unsafe { libc::malloc_trim(0) };
    // The stack below this frame is dead: nothing lives below the stack pointer (but the
    // 128-byte red zone of a leaf function, and this function is not one). A page of margin;
    // the rest refaults as zero pages if ever used again.
    let here = std::ptr::addr_of!(count) as usize;
    if let Some((start, end)) = stack {
        let below = (here & !4095).saturating_sub(4096);
        if start < below && below < end {
            // SAFETY: [start, below) is the part of the main thread's stack mapping at least a
            // page below the current frame, which holds no live data; MADV_DONTNEED turns it
            // into fresh zero pages on next use.
            unsafe {
                libc::madvise(
                    start as *mut libc::c_void,
                    below - start,
                    libc::MADV_DONTNEED,
                )
            };
        }
    }
    for &(start, end) in &ranges[..count] {
        // SAFETY: [start, end) is a private, non-writable, file-backed mapping with no
        // anonymous (modified) page, per /proc/self/smaps read just above; MADV_DONTNEED only
        // drops page-table entries and the pages refault unchanged from the file.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
    block()
}

/// Make a helper process that ironpen starts beside a jail (`cmd`) begin clean, right before
/// its execve: an empty signal mask (ironpen blocks the signals it relays, and a blocked mask is
/// inherited across fork and exec, so the helper would never see TERM), and the capabilities
/// `drop_caps` (numbers) removed from its bounding set, which for a root-run helper also caps
/// what it holds after the exec (root's permitted set after execve is the bounding set).
/// Dropping needs CAP_SETPCAP: pass none when not root.
pub fn prepare_helper(cmd: &mut std::process::Command, drop_caps: &[u32]) {
    use std::os::unix::process::CommandExt;
    let caps: Vec<libc::c_ulong> = drop_caps.iter().map(|&c| libc::c_ulong::from(c)).collect();
    let empty = crate::signal::SigSet::empty();
    let hook = move || -> io::Result<()> {
        crate::signal::set_mask(&empty)?;
        for &c in &caps {
            // SAFETY: PR_CAPBSET_DROP takes a capability number and no pointers; prctl is
            // async-signal-safe, and nothing here allocates (the list was built before the fork).
            let ret = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, c, 0, 0, 0) };
            crate::check(libc::c_long::from(ret))?;
        }
        Ok(())
    };
    // SAFETY: the hook runs in the forked child before execve and only makes the
    // sigprocmask and prctl calls above on memory owned by the closure (no locks, no
    // allocation, no shared state).
    unsafe {
        cmd.pre_exec(hook);
    }
}

#[cfg(test)]
mod tests {
    use super::thread_count;

    #[test]
    fn thread_count_follows_the_threads_of_this_process() {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let before = thread_count().unwrap();
        assert!(before >= 1);
        let extra = std::thread::spawn(move || {
            started_tx.send(()).unwrap();
            let _ = stop_rx.recv();
        });
        started_rx.recv().unwrap();
        // Other tests of this binary may start or end threads meanwhile; this one is certain.
        let during = thread_count().unwrap();
        stop_tx.send(()).unwrap();
        extra.join().unwrap();
        assert!(during >= 2, "{during} threads while two certainly run");
        let text = std::fs::read_to_string("/proc/self/status").unwrap();
        let status: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap();
        let now = thread_count().unwrap();
        // Both read the same kernel counter; allow for a test thread starting in between.
        assert!(
            now.abs_diff(status) <= 2,
            "{now} vs /proc/self/status {status}"
        );
    }
}
