//! seccomp(2): filter installation, action availability, and the user-notify ioctls.
//! The program comes from `ironpen-policy` (which cannot depend on this crate): its instructions
//! have the same layout and convert through a `(code, jt, jf, k)` tuple.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}
const _: () = assert!(size_of::<SockFilter>() == 8);

impl From<(u16, u8, u8, u32)> for SockFilter {
    fn from((code, jt, jf, k): (u16, u8, u8, u32)) -> SockFilter {
        SockFilter { code, jt, jf, k }
    }
}

/// The kernel's `struct sock_fprog`.
#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}
const _: () = assert!(size_of::<SockFprog>() == 2 * size_of::<usize>());

const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
const SECCOMP_GET_ACTION_AVAIL: libc::c_uint = 2;
const SECCOMP_GET_NOTIF_SIZES: libc::c_uint = 3;

/// `SECCOMP_FILTER_FLAG_*` for [`install_filter`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FilterFlags(pub u32);

impl FilterFlags {
    pub const NONE: FilterFlags = FilterFlags(0);
    /// Apply to every thread of the process.
    pub const TSYNC: FilterFlags = FilterFlags(1);
    /// Log every non-allow action.
    pub const LOG: FilterFlags = FilterFlags(1 << 1);
    /// Do not force speculative-store-bypass mitigation on.
    pub const SPEC_ALLOW: FilterFlags = FilterFlags(1 << 2);
    /// Return a notify listener fd (for `Action::UserNotify`).
    pub const NEW_LISTENER: FilterFlags = FilterFlags(1 << 3);
    /// With TSYNC: fail with ESRCH instead of returning a thread id (needed with NEW_LISTENER).
    pub const TSYNC_ESRCH: FilterFlags = FilterFlags(1 << 4);
    /// The supervised task waits killable once the notification was received.
    pub const WAIT_KILLABLE_RECV: FilterFlags = FilterFlags(1 << 5);

    pub fn contains(self, other: FilterFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for FilterFlags {
    type Output = FilterFlags;
    fn bitor(self, rhs: FilterFlags) -> FilterFlags {
        FilterFlags(self.0 | rhs.0)
    }
}

fn seccomp_err(op: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("seccomp({op}) => {e}"))
}

/// Load a filter into the calling thread (all threads with TSYNC). The caller must have set
/// `PR_SET_NO_NEW_PRIVS` (or hold CAP_SYS_ADMIN). Returns the listener fd with NEW_LISTENER.
pub fn install_filter(prog: &[SockFilter], flags: FilterFlags) -> io::Result<Option<OwnedFd>> {
    let len = u16::try_from(prog.len())
        .ok()
        .filter(|l| (1..=4096).contains(l))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "seccomp(SET_MODE_FILTER): program has {} instructions; 1..=4096 allowed",
                    prog.len()
                ),
            )
        })?;
    let fprog = SockFprog {
        len,
        filter: prog.as_ptr(),
    };
    // SAFETY: `fprog` points at `len` initialized instructions that outlive the call; the kernel
    // copies the program before returning.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            libc::c_ulong::from(flags.0),
            &fprog as *const SockFprog,
        )
    };
    if ret < 0 {
        return Err(seccomp_err(
            &format!("SET_MODE_FILTER, flags {:#x}", flags.0),
            io::Error::last_os_error(),
        ));
    }
    if flags.contains(FilterFlags::NEW_LISTENER) {
        let fd = RawFd::try_from(ret).map_err(|_| {
            io::Error::other(format!(
                "seccomp(SET_MODE_FILTER) returned {ret}, not an fd"
            ))
        })?;
        // SAFETY: with NEW_LISTENER the kernel returns a fresh fd that nothing else owns.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
    }
    if ret > 0 {
        // TSYNC without TSYNC_ESRCH: the id of a thread that could not be synchronized.
        return Err(io::Error::other(format!(
            "seccomp(SET_MODE_FILTER, TSYNC): thread {ret} could not be synchronized"
        )));
    }
    Ok(None)
}

/// Does the kernel know this `SECCOMP_RET_*` action (e.g. USER_NOTIF, KILL_PROCESS, LOG)?
pub fn get_action_avail(action: u32) -> bool {
    // SAFETY: the kernel reads one u32 from the pointer, which is valid for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_ACTION_AVAIL,
            0 as libc::c_ulong,
            &action as *const u32,
        )
    };
    ret == 0
}

/// The kernel's `struct seccomp_data`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompData {
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}
const _: () = assert!(size_of::<SeccompData>() == 64);

/// `struct seccomp_notif`: one intercepted syscall.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompNotif {
    pub id: u64,
    pub pid: u32,
    pub flags: u32,
    pub data: SeccompData,
}
const _: () = assert!(size_of::<SeccompNotif>() == 80);

/// `struct seccomp_notif_resp`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompNotifResp {
    pub id: u64,
    pub val: i64,
    /// Negative errno to fail the syscall, 0 for success with `val`.
    pub error: i32,
    pub flags: u32,
}
const _: () = assert!(size_of::<SeccompNotifResp>() == 24);

/// Let the syscall run as the task asked (only for decisions on plain integers; DESIGN §4).
pub const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = 1;

/// `struct seccomp_notif_addfd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompNotifAddfd {
    pub id: u64,
    pub flags: u32,
    pub srcfd: u32,
    pub newfd: u32,
    pub newfd_flags: u32,
}
const _: () = assert!(size_of::<SeccompNotifAddfd>() == 24);

/// Use `newfd` as the target fd number.
pub const SECCOMP_ADDFD_FLAG_SETFD: u32 = 1;
/// Add the fd and answer the notification with it, atomically.
pub const SECCOMP_ADDFD_FLAG_SEND: u32 = 2;

/// `struct seccomp_notif_sizes`: what the running kernel's structs measure.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotifSizes {
    pub seccomp_notif: u16,
    pub seccomp_notif_resp: u16,
    pub seccomp_data: u16,
}
const _: () = assert!(size_of::<NotifSizes>() == 6);

#[allow(clippy::cast_possible_truncation)] // ioctl sizes are 14-bit fields; ours are < 100 bytes
const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((b'!' as u32) << 8) | nr
}
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;
pub const SECCOMP_IOCTL_NOTIF_RECV: u32 = ioc(IOC_READ | IOC_WRITE, 0, size_of::<SeccompNotif>());
pub const SECCOMP_IOCTL_NOTIF_SEND: u32 =
    ioc(IOC_READ | IOC_WRITE, 1, size_of::<SeccompNotifResp>());
pub const SECCOMP_IOCTL_NOTIF_ID_VALID: u32 = ioc(IOC_WRITE, 2, size_of::<u64>());
pub const SECCOMP_IOCTL_NOTIF_ADDFD: u32 = ioc(IOC_WRITE, 3, size_of::<SeccompNotifAddfd>());
const _: () =
    assert!(SECCOMP_IOCTL_NOTIF_RECV == 0xc050_2100 && SECCOMP_IOCTL_NOTIF_ADDFD == 0x4018_2103);

/// The kernel's notify struct sizes; the broker refuses to run if they exceed ours.
pub fn notif_sizes() -> io::Result<NotifSizes> {
    let mut sizes = NotifSizes::default();
    // SAFETY: the kernel writes a `struct seccomp_notif_sizes` (6 bytes) into `sizes`.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_NOTIF_SIZES,
            0 as libc::c_ulong,
            &mut sizes as *mut NotifSizes,
        )
    };
    if ret < 0 {
        return Err(seccomp_err("GET_NOTIF_SIZES", io::Error::last_os_error()));
    }
    Ok(sizes)
}

fn check_sizes() -> io::Result<()> {
    let s = notif_sizes()?;
    if usize::from(s.seccomp_notif) > size_of::<SeccompNotif>()
        || usize::from(s.seccomp_notif_resp) > size_of::<SeccompNotifResp>()
    {
        return Err(io::Error::other(format!(
            "kernel seccomp notify structs are larger than ours: {s:?}"
        )));
    }
    Ok(())
}

/// Receive one notification (blocks unless the fd is non-blocking).
pub fn notif_recv(listener: BorrowedFd<'_>) -> io::Result<SeccompNotif> {
    check_sizes()?;
    let mut n = SeccompNotif::default(); // the kernel insists on a zeroed buffer
                                         // SAFETY: RECV writes one `struct seccomp_notif`, whose size the kernel confirmed above.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            SECCOMP_IOCTL_NOTIF_RECV as _,
            &mut n as *mut SeccompNotif,
        )
    };
    if ret < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("ioctl(seccomp listener, NOTIF_RECV) => {e}"),
        ));
    }
    Ok(n)
}

/// Answer a notification.
pub fn notif_send(listener: BorrowedFd<'_>, resp: &SeccompNotifResp) -> io::Result<()> {
    // SAFETY: SEND reads one `struct seccomp_notif_resp` from a valid reference.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            SECCOMP_IOCTL_NOTIF_SEND as _,
            resp as *const SeccompNotifResp,
        )
    };
    if ret < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("ioctl(seccomp listener, NOTIF_SEND, id {}) => {e}", resp.id),
        ));
    }
    Ok(())
}

/// Is the notification still pending (the task alive and still in the syscall)? Check after
/// every read of the task's memory.
pub fn notif_id_valid(listener: BorrowedFd<'_>, id: u64) -> io::Result<bool> {
    // SAFETY: ID_VALID reads one u64 from a valid reference.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            SECCOMP_IOCTL_NOTIF_ID_VALID as _,
            &id as *const u64,
        )
    };
    if ret == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENOENT) {
        return Ok(false);
    }
    Err(io::Error::new(
        e.kind(),
        format!("ioctl(seccomp listener, NOTIF_ID_VALID, id {id}) => {e}"),
    ))
}

/// Install `addfd.srcfd` into the notifying task; returns the fd number it got there.
pub fn notif_addfd(listener: BorrowedFd<'_>, addfd: &SeccompNotifAddfd) -> io::Result<RawFd> {
    // SAFETY: ADDFD reads one `struct seccomp_notif_addfd` from a valid reference.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            SECCOMP_IOCTL_NOTIF_ADDFD as _,
            addfd as *const SeccompNotifAddfd,
        )
    };
    if ret < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!(
                "ioctl(seccomp listener, NOTIF_ADDFD, id {}, fd {}) => {e}",
                addfd.id, addfd.srcfd
            ),
        ));
    }
    Ok(ret)
}
