//! Kernel feature detection: the single source of truth for what this kernel can enforce.
//!
//! `detect()` answers everything (for `ironpen check`); the individual probes are cheap enough
//! for the run path to call on every start. No probe leaves anything behind: no mounts, no
//! namespaces, no processes (the ADDFD probe uses a helper thread that exits before it returns).

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// What ironpen can do with one kernel feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// Fully usable.
    Available,
    /// Usable with less protection than the newest kernels give; the reason says what is lost.
    Degraded(String),
    /// Not usable; the reason says why (errno, sysctl, missing filesystem, ...).
    Unavailable(String),
}

impl Status {
    /// The one-word level shown in tables and plans: full / degraded / unavailable.
    pub fn level(&self) -> &'static str {
        match self {
            Status::Available => "full",
            Status::Degraded(_) => "degraded",
            Status::Unavailable(_) => "unavailable",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Status::Available => None,
            Status::Degraded(r) | Status::Unavailable(r) => Some(r),
        }
    }

    pub fn is_usable(&self) -> bool {
        !matches!(self, Status::Unavailable(_))
    }
}

/// User namespaces and the distribution switches that restrict them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserNsStatus {
    pub status: Status,
    /// /proc/sys/user/max_user_namespaces (None: unreadable or absent).
    pub max_user_namespaces: Option<u64>,
    /// Debian's kernel.unprivileged_userns_clone (None: the kernel has no such knob).
    pub unprivileged_userns_clone: Option<u64>,
    /// Ubuntu's kernel.apparmor_restrict_unprivileged_userns (None: absent).
    pub apparmor_restrict_unprivileged_userns: Option<u64>,
    /// Whether the caller is root in the initial user namespace (the knobs above do not apply).
    pub privileged_caller: bool,
}

/// Landlock: ABI version and the resulting status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LandlockStatus {
    pub status: Status,
    pub abi: Option<u32>,
}

/// Cgroup layout of this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CgroupLayout {
    /// Pure cgroup v2 at /sys/fs/cgroup.
    Unified,
    /// v1 controller hierarchies plus a (possibly controller-less) cgroup2 mount.
    Hybrid,
    /// v1 only.
    Legacy,
    /// No cgroup filesystem mounted.
    None,
}

/// One mounted v1 controller and this process's cgroup in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct V1Controller {
    pub name: String,
    pub mount: PathBuf,
    pub path: String,
}

/// Cgroups as seen by this process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupStatus {
    pub status: Status,
    pub layout: CgroupLayout,
    /// cgroup2 mount point, if any.
    pub v2_mount: Option<PathBuf>,
    /// This process's cgroup in the v2 hierarchy ("0::PATH").
    pub v2_path: Option<String>,
    /// Controllers enabled in this process's own v2 cgroup (cgroup.controllers).
    pub v2_controllers: Vec<String>,
    /// v1 controllers mounted on this host, with this process's cgroup in each.
    pub v1_controllers: Vec<V1Controller>,
}

/// Everything ironpen needs to know about the kernel, detected once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Features {
    pub user_namespaces: UserNsStatus,
    pub seccomp_filter: Status,
    /// User-notify with ADDFD (what the broker needs).
    pub seccomp_notify: Status,
    pub landlock: LandlockStatus,
    pub overlay_userns: Status,
    pub cgroups: CgroupStatus,
    pub mdwe: Status,
    pub pidfd: Status,
    pub clone3: Status,
    pub openat2: Status,
    pub mount_setattr: Status,
    pub devpts_newinstance: Status,
    pub proc_subset_pid: Status,
}

impl Features {
    /// (name, status) pairs in a fixed order, for tables and plans.
    pub fn entries(&self) -> Vec<(&'static str, &Status)> {
        vec![
            ("user_namespaces", &self.user_namespaces.status),
            ("seccomp_filter", &self.seccomp_filter),
            ("seccomp_notify", &self.seccomp_notify),
            ("landlock", &self.landlock.status),
            ("overlay_userns", &self.overlay_userns),
            ("cgroups", &self.cgroups.status),
            ("mdwe", &self.mdwe),
            ("pidfd", &self.pidfd),
            ("clone3", &self.clone3),
            ("openat2", &self.openat2),
            ("mount_setattr", &self.mount_setattr),
            ("devpts_newinstance", &self.devpts_newinstance),
            ("proc_subset_pid", &self.proc_subset_pid),
        ]
    }
}

/// Detect everything (a few hundred microseconds; the ADDFD probe spawns one thread).
pub fn detect() -> Features {
    let kernel = kernel_version();
    Features {
        user_namespaces: userns(),
        seccomp_filter: seccomp_filter(),
        seccomp_notify: seccomp_notify_status(),
        landlock: landlock(),
        overlay_userns: overlay_userxattr_at(Path::new("/proc"), kernel),
        cgroups: cgroups_at(Path::new("/proc/self"), Path::new("/")),
        mdwe: mdwe_status(),
        pidfd: pidfd(),
        clone3: syscall_status("clone3", ironpen_sys::detect::clone3_present()),
        openat2: syscall_status("openat2", ironpen_sys::detect::openat2_present()),
        mount_setattr: syscall_status(
            "mount_setattr",
            ironpen_sys::detect::mount_setattr_present(),
        ),
        devpts_newinstance: devpts_newinstance_at(Path::new("/proc"), kernel),
        proc_subset_pid: proc_subset_pid_for(kernel),
    }
}

fn errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => format!("{} ({e})", rustix::io::Errno::from_raw_os_error(n)),
        None => e.to_string(),
    }
}

fn syscall_status(name: &str, r: std::io::Result<bool>) -> Status {
    match r {
        Ok(true) => Status::Available,
        Ok(false) => Status::Unavailable(format!("{name}(2) => ENOSYS")),
        Err(e) => Status::Unavailable(format!("{name}(2) probe => {}", errno_text(&e))),
    }
}

/// Landlock ABI version, `None` when Landlock is not built or disabled at boot. Cheap (one
/// syscall).
pub fn landlock_abi() -> Option<u32> {
    ironpen_sys::detect::landlock_abi_version().ok()
}

/// Landlock with what each missing ABI level costs.
pub fn landlock() -> LandlockStatus {
    match ironpen_sys::detect::landlock_abi_version() {
        Ok(abi) => LandlockStatus {
            status: landlock_status_for(abi),
            abi: Some(abi),
        },
        Err(e) => LandlockStatus {
            status: Status::Unavailable(format!(
                "landlock_create_ruleset(VERSION) => {} (not built, or not in lsm= at boot)",
                errno_text(&e)
            )),
            abi: None,
        },
    }
}

/// What ironpen loses at each Landlock ABI level below the one it is written for.
pub fn landlock_status_for(abi: u32) -> Status {
    let mut lost = Vec::new();
    if abi < 2 {
        lost.push("rename/link across directories (ABI 2)");
    }
    if abi < 3 {
        lost.push("truncate control (ABI 3)");
    }
    if abi < 4 {
        lost.push("TCP bind/connect rules (ABI 4)");
    }
    if abi < 5 {
        lost.push("device ioctl control (ABI 5)");
    }
    if abi < 6 {
        lost.push("abstract unix socket and signal scoping (ABI 6)");
    }
    if lost.is_empty() {
        Status::Available
    } else {
        Status::Degraded(format!("Landlock ABI {abi}: no {}", lost.join(", no ")))
    }
}

/// Seccomp filter mode (`SECCOMP_SET_MODE_FILTER` known). Cheap.
pub fn seccomp_filter() -> Status {
    match ironpen_sys::detect::seccomp_filter_flags_known(0) {
        Ok(true) => Status::Available,
        Ok(false) => Status::Unavailable("seccomp(SET_MODE_FILTER) => EINVAL".into()),
        Err(e) => Status::Unavailable(format!("seccomp(SET_MODE_FILTER) => {}", errno_text(&e))),
    }
}

/// Seccomp user-notify is known (`SECCOMP_RET_USER_NOTIF` available and NEW_LISTENER flag
/// accepted). Cheap (two syscalls); does not check ADDFD, see [`seccomp_notify_status`].
pub fn seccomp_notify() -> bool {
    const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
    const NEW_LISTENER: u32 = 1 << 3;
    ironpen_sys::detect::seccomp_action_available(SECCOMP_RET_USER_NOTIF).is_ok()
        && matches!(
            ironpen_sys::detect::seccomp_filter_flags_known(NEW_LISTENER),
            Ok(true)
        )
}

/// User-notify including ADDFD (the broker injects fds; without ADDFD it cannot answer opens
/// safely). Spawns one short-lived thread: about 100 µs.
pub fn seccomp_notify_status() -> Status {
    if !seccomp_notify() {
        return Status::Unavailable(
            "seccomp user-notify unknown to this kernel (SECCOMP_RET_USER_NOTIF / NEW_LISTENER, Linux 5.0)".into(),
        );
    }
    match ironpen_sys::detect::seccomp_notify_addfd() {
        Ok(true) => Status::Available,
        Ok(false) => Status::Degraded(
            "no SECCOMP_IOCTL_NOTIF_ADDFD (Linux 5.9): the broker can only deny, not open on the jail's behalf".into(),
        ),
        Err(e) => Status::Unavailable(format!("ADDFD probe => {}", errno_text(&e))),
    }
}

/// Memory-deny-write-execute (`PR_GET_MDWE` answers). Cheap (one prctl).
pub fn mdwe() -> bool {
    ironpen_sys::detect::prctl_get_mdwe().is_ok()
}

fn mdwe_status() -> Status {
    match ironpen_sys::detect::prctl_get_mdwe() {
        Ok(_) => Status::Available,
        Err(e) => Status::Unavailable(format!(
            "prctl(PR_GET_MDWE) => {} (needs Linux 6.3)",
            errno_text(&e)
        )),
    }
}

/// pidfd_open works on ourselves. Cheap (open + close).
pub fn pidfd() -> Status {
    match rustix::process::pidfd_open(
        rustix::process::getpid(),
        rustix::process::PidfdFlags::empty(),
    ) {
        Ok(_fd) => Status::Available,
        Err(e) => Status::Unavailable(format!("pidfd_open(self) => {e}")),
    }
}

/// Is `clone3` present? Cheap.
pub fn clone3() -> bool {
    matches!(ironpen_sys::detect::clone3_present(), Ok(true))
}

/// Is `openat2` present? Cheap.
pub fn openat2() -> bool {
    matches!(ironpen_sys::detect::openat2_present(), Ok(true))
}

/// Is `mount_setattr` present? Cheap.
pub fn mount_setattr() -> bool {
    matches!(ironpen_sys::detect::mount_setattr_present(), Ok(true))
}

fn read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// User namespaces for this caller. Cheap (a few small /proc reads).
pub fn userns() -> UserNsStatus {
    let procfs = Path::new("/proc");
    userns_at(procfs, privileged_in_initial_userns(procfs))
}

/// CAP_SYS_ADMIN in the initial user namespace: the distribution knobs do not restrict such a
/// caller. Root inside a container (mapped uid 0) does not count.
pub fn privileged_in_initial_userns(procfs: &Path) -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    let Ok(status) = fs::read_to_string(procfs.join("self/status")) else {
        return false;
    };
    let cap_admin = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0);
    let initial_ns = fs::read_to_string(procfs.join("self/uid_map"))
        .map(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
        .unwrap_or(false);
    cap_admin && initial_ns
}

/// [`userns`] with a configurable procfs root (for tests with fake trees).
pub fn userns_at(procfs: &Path, privileged_caller: bool) -> UserNsStatus {
    let max = read_u64(&procfs.join("sys/user/max_user_namespaces"));
    let debian = read_u64(&procfs.join("sys/kernel/unprivileged_userns_clone"));
    let apparmor = read_u64(&procfs.join("sys/kernel/apparmor_restrict_unprivileged_userns"));
    let has_ns = procfs.join("self/ns/user").exists()
        || procfs.join("sys/user/max_user_namespaces").exists();
    let status = if !has_ns {
        Status::Unavailable("kernel built without CONFIG_USER_NS (no /proc/self/ns/user)".into())
    } else if max == Some(0) {
        Status::Unavailable("user.max_user_namespaces = 0".into())
    } else if max.is_none() {
        Status::Degraded("user.max_user_namespaces unreadable; creation may fail".into())
    } else if privileged_caller {
        Status::Available
    } else if debian == Some(0) {
        Status::Unavailable("kernel.unprivileged_userns_clone = 0 (Debian): unprivileged callers cannot create user namespaces".into())
    } else if apparmor == Some(1) {
        Status::Degraded(
            "kernel.apparmor_restrict_unprivileged_userns = 1 (Ubuntu): a new user namespace gets no capabilities unless an AppArmor profile allows it".into(),
        )
    } else {
        Status::Available
    };
    UserNsStatus {
        status,
        max_user_namespaces: max,
        unprivileged_userns_clone: debian,
        apparmor_restrict_unprivileged_userns: apparmor,
        privileged_caller,
    }
}

/// A parsed `uname -r` prefix (major, minor) used only for features the kernel cannot be asked
/// about without mounting something.
pub fn kernel_version() -> Option<(u32, u32)> {
    parse_major_minor(rustix::system::uname().release().to_str().ok()?)
}

fn parse_major_minor(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

fn filesystem_registered(procfs: &Path, name: &str) -> Option<bool> {
    let text = fs::read_to_string(procfs.join("filesystems")).ok()?;
    Some(
        text.lines()
            .any(|l| l.split_whitespace().last() == Some(name)),
    )
}

fn module_available(name: &str) -> bool {
    let release = rustix::system::uname();
    let Ok(release) = release.release().to_str() else {
        return false;
    };
    let dir = Path::new("/lib/modules").join(release);
    fs::read_to_string(dir.join("modules.dep"))
        .map(|deps| deps.lines().any(|l| l.contains(&format!("/{name}.ko"))))
        .unwrap_or(false)
}

/// Overlay mounts inside a user namespace with `userxattr` (Linux 5.11). Inferred from the
/// kernel version and the filesystem being registered (or loadable): testing it for real needs
/// a user namespace and a mount, which a probe must not leave behind. Cheap.
pub fn overlay_userxattr() -> Status {
    overlay_userxattr_at(Path::new("/proc"), kernel_version())
}

pub fn overlay_userxattr_at(procfs: &Path, kernel: Option<(u32, u32)>) -> Status {
    let registered = filesystem_registered(procfs, "overlay");
    if registered != Some(true) && !module_available("overlay") {
        return Status::Unavailable(
            "overlay filesystem neither registered nor available as a module".into(),
        );
    }
    match kernel {
        Some(v) if v >= (5, 11) => Status::Available,
        Some((a, b)) => Status::Unavailable(format!(
            "kernel {a}.{b} < 5.11: overlay cannot be mounted in a user namespace (copy-on-write workspaces need root)"
        )),
        None => Status::Degraded("kernel version unparsable; overlay in user namespaces assumed unavailable".into()),
    }
}

/// devpts `newinstance` semantics: since Linux 4.7 every devpts mount is a private instance.
pub fn devpts_newinstance_at(procfs: &Path, kernel: Option<(u32, u32)>) -> Status {
    if filesystem_registered(procfs, "devpts") == Some(false) {
        return Status::Unavailable("devpts not registered in /proc/filesystems".into());
    }
    match kernel {
        Some(v) if v >= (4, 7) => Status::Available,
        Some((a, b)) => Status::Degraded(format!(
            "kernel {a}.{b} < 4.7: devpts needs an explicit newinstance option"
        )),
        None => Status::Degraded("kernel version unparsable".into()),
    }
}

/// procfs `subset=pid` (Linux 5.8): a jail's /proc without /proc/sys, /proc/kcore, ...
pub fn proc_subset_pid_for(kernel: Option<(u32, u32)>) -> Status {
    match kernel {
        Some(v) if v >= (5, 8) => Status::Available,
        Some((a, b)) => Status::Degraded(format!(
            "kernel {a}.{b} < 5.8: no proc subset=pid; ironpen masks /proc/sys and friends with bind mounts instead"
        )),
        None => Status::Degraded("kernel version unparsable".into()),
    }
}

/// Cgroups for this process. Cheap (two /proc reads and one sysfs read).
pub fn cgroups() -> CgroupStatus {
    cgroups_at(Path::new("/proc/self"), Path::new("/"))
}

/// [`cgroups`] reading `<proc_self>/cgroup` and `<proc_self>/mountinfo`; `root` prefixes the
/// mount points found there (tests point both at fake trees).
pub fn cgroups_at(proc_self: &Path, root: &Path) -> CgroupStatus {
    let membership = fs::read_to_string(proc_self.join("cgroup")).unwrap_or_default();
    let mountinfo = fs::read_to_string(proc_self.join("mountinfo")).unwrap_or_default();

    let mut v2_mount = None;
    let mut v1_mounts: Vec<(Vec<String>, PathBuf)> = Vec::new();
    for line in mountinfo.lines() {
        // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        let rfields: Vec<&str> = right.split(' ').collect();
        let (Some(mp), Some(fstype)) = (fields.get(4), rfields.first()) else {
            continue;
        };
        match *fstype {
            "cgroup2" if v2_mount.is_none() => {
                v2_mount = Some(PathBuf::from(unescape_mountinfo(mp)));
            }
            "cgroup" => {
                let opts = rfields.get(2).copied().unwrap_or("");
                let ctrls: Vec<String> = opts
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains('='))
                    .map(str::to_owned)
                    .collect();
                v1_mounts.push((ctrls, PathBuf::from(unescape_mountinfo(mp))));
            }
            _ => {}
        }
    }

    let mut v2_path = None;
    let mut v1_controllers = Vec::new();
    for line in membership.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if id == "0" && ctrls.is_empty() {
            v2_path = Some(path.to_owned());
            continue;
        }
        for ctrl in ctrls
            .split(',')
            .filter(|c| !c.is_empty() && !c.starts_with("name="))
        {
            if let Some((_, mp)) = v1_mounts
                .iter()
                .find(|(cs, _)| cs.iter().any(|c| c == ctrl))
            {
                v1_controllers.push(V1Controller {
                    name: ctrl.to_owned(),
                    mount: mp.clone(),
                    path: path.to_owned(),
                });
            }
        }
    }

    let v2_controllers = match (&v2_mount, &v2_path) {
        (Some(mp), Some(p)) => {
            let dir = root
                .join(mp.strip_prefix("/").unwrap_or(mp))
                .join(p.trim_start_matches('/'));
            fs::read_to_string(dir.join("cgroup.controllers"))
                .map(|s| s.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };

    let layout = match (
        v2_mount.is_some(),
        v1_mounts.iter().any(|(c, _)| !c.is_empty()),
    ) {
        (true, false) => CgroupLayout::Unified,
        (true, true) => CgroupLayout::Hybrid,
        (false, true) => CgroupLayout::Legacy,
        (false, false) => CgroupLayout::None,
    };
    let has_v1 = |n: &str| v1_controllers.iter().any(|c| c.name == n);
    let has_v2 = |n: &str| v2_controllers.iter().any(|c| c == n);
    let status = match layout {
        CgroupLayout::Unified if has_v2("memory") && has_v2("pids") => Status::Available,
        CgroupLayout::Unified => Status::Degraded(format!(
            "cgroup v2 without memory/pids delegated to this cgroup (controllers: {})",
            if v2_controllers.is_empty() {
                "none".to_owned()
            } else {
                v2_controllers.join(" ")
            }
        )),
        CgroupLayout::Hybrid | CgroupLayout::Legacy => {
            let missing: Vec<&str> = ["memory", "pids", "cpu"]
                .into_iter()
                .filter(|c| !has_v1(c) && !has_v2(c))
                .collect();
            if missing.is_empty() {
                Status::Degraded("cgroup v1 controllers (hybrid host): memory/pids/cpu limits only, no v2 features such as memory.high or cgroup namespaces rooted at the jail".into())
            } else {
                Status::Degraded(format!("cgroup v1 without {}", missing.join(", ")))
            }
        }
        CgroupLayout::None => Status::Unavailable("no cgroup filesystem mounted".into()),
    };
    CgroupStatus {
        status,
        layout,
        v2_mount,
        v2_path,
        v2_controllers,
        v1_controllers,
    }
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape_mountinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(char::from(v));
            i += 4;
        } else {
            out.push(char::from(b[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, content: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }

    #[test]
    fn detect_on_this_machine_matches_known_facts() {
        // The machine the suite runs on: Linux 6.x, Landlock >= 1, user-notify with ADDFD.
        let f = detect();
        assert!(f.landlock.abi.is_some());
        assert_eq!(f.seccomp_notify, Status::Available);
        assert_eq!(f.seccomp_filter, Status::Available);
        assert_eq!(f.clone3, Status::Available);
        assert_eq!(f.openat2, Status::Available);
        assert_eq!(f.mount_setattr, Status::Available);
        assert_eq!(f.pidfd, Status::Available);
        assert!(mdwe());
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["clone3"]["status"], "available");
    }

    /// The run path calls these on every start: each must stay well under a millisecond.
    /// `cargo test -p ironpen-jail cheap_probes -- --nocapture` prints the medians.
    #[test]
    fn cheap_probes_are_cheap() {
        fn median_us(f: &dyn Fn()) -> f64 {
            let mut t: Vec<f64> = (0..101)
                .map(|_| {
                    let start = std::time::Instant::now();
                    f();
                    start.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            t.sort_by(f64::total_cmp);
            t[50]
        }
        let probes: [(&str, &dyn Fn()); 11] = [
            ("landlock_abi", &|| {
                std::hint::black_box(landlock_abi());
            }),
            ("seccomp_filter", &|| {
                std::hint::black_box(seccomp_filter());
            }),
            ("seccomp_notify", &|| {
                std::hint::black_box(seccomp_notify());
            }),
            ("mdwe", &|| {
                std::hint::black_box(mdwe());
            }),
            ("clone3", &|| {
                std::hint::black_box(clone3());
            }),
            ("openat2", &|| {
                std::hint::black_box(openat2());
            }),
            ("mount_setattr", &|| {
                std::hint::black_box(mount_setattr());
            }),
            ("pidfd", &|| {
                std::hint::black_box(pidfd());
            }),
            ("userns", &|| {
                std::hint::black_box(userns());
            }),
            ("overlay_userxattr", &|| {
                std::hint::black_box(overlay_userxattr());
            }),
            ("cgroups", &|| {
                std::hint::black_box(cgroups());
            }),
        ];
        for (name, f) in probes {
            let us = median_us(f);
            println!("{name:<20} {us:>8.1} us");
            assert!(us < 1000.0, "{name} took {us} us");
        }
        println!(
            "{:<20} {:>8.1} us",
            "seccomp_notify_status",
            median_us(&|| {
                std::hint::black_box(seccomp_notify_status());
            })
        );
        println!(
            "{:<20} {:>8.1} us",
            "detect (all)",
            median_us(&|| {
                std::hint::black_box(detect());
            })
        );
    }

    #[test]
    fn landlock_levels() {
        assert_eq!(landlock_status_for(7), Status::Available);
        assert_eq!(landlock_status_for(6), Status::Available);
        let s = landlock_status_for(3);
        assert!(s.reason().unwrap().contains("TCP"), "{s:?}");
        assert!(!s.reason().unwrap().contains("truncate"), "{s:?}");
    }

    #[test]
    fn userns_knobs() {
        let t = tempfile_dir();
        write(&t, "sys/user/max_user_namespaces", "0\n");
        assert!(matches!(userns_at(&t, true).status, Status::Unavailable(_)));
        write(&t, "sys/user/max_user_namespaces", "1000\n");
        write(&t, "sys/kernel/unprivileged_userns_clone", "0\n");
        let s = userns_at(&t, false);
        assert!(s
            .status
            .reason()
            .unwrap()
            .contains("unprivileged_userns_clone"));
        assert_eq!(userns_at(&t, true).status, Status::Available);
        write(&t, "sys/kernel/unprivileged_userns_clone", "1\n");
        write(
            &t,
            "sys/kernel/apparmor_restrict_unprivileged_userns",
            "1\n",
        );
        let s = userns_at(&t, false);
        assert!(matches!(s.status, Status::Degraded(_)));
        assert_eq!(s.apparmor_restrict_unprivileged_userns, Some(1));
        let _ = fs::remove_dir_all(&t);
    }

    #[test]
    fn privileged_means_cap_sys_admin_in_the_initial_namespace() {
        let t = tempfile_dir();
        write(&t, "self/status", "Name:\tx\nCapEff:\t000001ffffffffff\n");
        write(&t, "self/uid_map", "         0          0 4294967295\n");
        assert!(privileged_in_initial_userns(&t));
        // Root in a container: uid 0 mapped from a host range.
        write(&t, "self/uid_map", "         0     100000      65536\n");
        assert!(!privileged_in_initial_userns(&t));
        write(&t, "self/uid_map", "         0          0 4294967295\n");
        write(&t, "self/status", "Name:\tx\nCapEff:\t0000000000000000\n");
        assert!(!privileged_in_initial_userns(&t));
        let _ = fs::remove_dir_all(&t);
    }

    #[test]
    fn hybrid_cgroups_like_this_host() {
        let t = tempfile_dir();
        write(
            &t,
            "self/cgroup",
            "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n",
        );
        write(
            &t,
            "self/mountinfo",
            "30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n\
             31 30 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n\
             32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
             33 30 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n\
             34 30 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n\
             35 30 0:31 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
        );
        write(&t, "sys/fs/cgroup/unified/cgroup.controllers", "\n");
        let c = cgroups_at(&t.join("self"), &t);
        assert_eq!(c.layout, CgroupLayout::Hybrid);
        assert_eq!(
            c.v2_mount.as_deref(),
            Some(Path::new("/sys/fs/cgroup/unified"))
        );
        assert!(c.v2_controllers.is_empty());
        let mem = c
            .v1_controllers
            .iter()
            .find(|c| c.name == "memory")
            .unwrap();
        assert_eq!(mem.path, "/process_api/abc");
        assert_eq!(mem.mount, Path::new("/sys/fs/cgroup/memory"));
        assert!(matches!(c.status, Status::Degraded(_)));
        let _ = fs::remove_dir_all(&t);
    }

    #[test]
    fn unified_cgroups_reads_own_controllers() {
        let t = tempfile_dir();
        write(&t, "self/cgroup", "0::/user.slice/me\n");
        write(
            &t,
            "self/mountinfo",
            "35 30 0:31 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
        );
        write(
            &t,
            "sys/fs/cgroup/user.slice/me/cgroup.controllers",
            "cpu memory pids\n",
        );
        let c = cgroups_at(&t.join("self"), &t);
        assert_eq!(c.layout, CgroupLayout::Unified);
        assert_eq!(c.v2_controllers, ["cpu", "memory", "pids"]);
        assert_eq!(c.status, Status::Available);
        let _ = fs::remove_dir_all(&t);
    }

    #[test]
    fn version_gated_features() {
        assert_eq!(parse_major_minor("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(parse_major_minor("garbage"), None);
        assert_eq!(proc_subset_pid_for(Some((5, 8))), Status::Available);
        assert!(matches!(
            proc_subset_pid_for(Some((5, 4))),
            Status::Degraded(_)
        ));
    }

    #[test]
    fn mountinfo_unescape() {
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
    }

    fn tempfile_dir() -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "ironpen-features-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        p
    }
}
