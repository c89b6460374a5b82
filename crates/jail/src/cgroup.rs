//! Resource limits of a jail through cgroups: memory, process count and CPU time. The jail's
//! cgroups are created only inside ironpen's own cgroup (in each hierarchy), filled with the
//! limits before the clone, joined by the jail's init before it runs anything, and removed when
//! the jail ends. cgroup v2 where our cgroup delegates the controller, else the v1 hierarchy of
//! that controller (hybrid hosts). A limit that cannot be enforced refuses the jail.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::SetupError;
use crate::features::CgroupStatus;
use crate::report::{Entry, Level};
use crate::spec::SpecError;
use ironpen_policy::model;

/// CFS period used for `cpu_percent`: 100 ms, so 1% is the kernel's minimum quota of 1 ms.
pub const CPU_PERIOD_US: u64 = 100_000;

/// How long removal waits for the jail's last processes to leave their cgroup.
const DRAIN: Duration = Duration::from_secs(3);

/// The cgroup limits of one jail (part of the plan; all `None`: no cgroup is created).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Memory of the whole jail in bytes (swap included where the kernel can limit it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// Most processes and threads at once, the jail's init included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<u64>,
    /// CPU time in percent of one CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<u32>,
    /// Where the jail's cgroups are created, relative to ironpen's own cgroup in each hierarchy
    /// (`--cgroup-parent`, a directory delegated to the caller); `None`: directly in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<PathBuf>,
}

impl Limits {
    /// No limit asked for.
    pub fn is_empty(&self) -> bool {
        self.memory.is_none() && self.pids.is_none() && self.cpu_percent.is_none()
    }

    /// Validate the user's spellings (`--memory`, `--pids`, `--cpu-percent`, `--cgroup-parent`).
    pub fn parse(
        memory: Option<&str>,
        pids: Option<&str>,
        cpu_percent: Option<&str>,
        parent: Option<&str>,
    ) -> Result<Limits, SpecError> {
        let memory = memory
            .map(|m| model::parse_memory(m).map_err(|e| SpecError::new("--memory", m, e)))
            .transpose()?;
        let pids = pids
            .map(|p| {
                let n: u64 = p.trim().parse().map_err(|_| {
                    SpecError::new("--pids", p, "expected a whole number of processes")
                })?;
                model::check_pids(n).map_err(|e| SpecError::new("--pids", p, e))
            })
            .transpose()?;
        let cpu_percent = cpu_percent
            .map(|c| {
                let n: u64 = c.trim().parse().map_err(|_| {
                    SpecError::new("--cpu-percent", c, "expected a whole number of percent")
                })?;
                model::check_cpu_percent(n, cpu_count())
                    .map_err(|e| SpecError::new("--cpu-percent", c, e))
            })
            .transpose()?;
        let limits = Limits {
            memory,
            pids,
            cpu_percent,
            parent: parent.map(check_parent).transpose()?,
        };
        if limits.parent.is_some() && limits.is_empty() {
            return Err(SpecError::new(
                "--cgroup-parent",
                parent.unwrap_or_default(),
                "given without a limit (--memory, --pids, --cpu-percent)",
            ));
        }
        Ok(limits)
    }

    /// The limits set, as `(controller, "name=value")`, in a fixed order.
    fn wanted(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(m) = self.memory {
            out.push(("memory", format!("memory={m}")));
        }
        if let Some(p) = self.pids {
            out.push(("pids", format!("pids={p}")));
        }
        if let Some(c) = self.cpu_percent {
            out.push(("cpu", format!("cpu_percent={c}")));
        }
        out
    }
}

/// CPUs this process may run on (the bound of `cpu_percent` is 100 per CPU).
pub fn cpu_count() -> u32 {
    std::thread::available_parallelism()
        .ok()
        .and_then(|n| u32::try_from(n.get()).ok())
        .unwrap_or(1)
}

/// `--cgroup-parent`: a relative path of plain names (it is joined to our own cgroup, so it
/// can only point inside it).
fn check_parent(p: &str) -> Result<PathBuf, SpecError> {
    let path = Path::new(p);
    if p.is_empty() || path.is_absolute() {
        return Err(SpecError::new(
            "--cgroup-parent",
            p,
            "must be a relative path inside ironpen's own cgroup (see docs/limits.md)",
        ));
    }
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) if !n.to_string_lossy().starts_with("cgroup.") => out.push(n),
            _ => {
                return Err(SpecError::new(
                    "--cgroup-parent",
                    p,
                    "must be plain directory names below ironpen's own cgroup (no '..', '.')",
                ))
            }
        }
    }
    Ok(out)
}

/// Which cgroup version enforces a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    V1,
    V2,
}

/// One directory of the jail's cgroup: one for v2, one per v1 hierarchy used.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dir {
    version: Version,
    path: PathBuf,
    /// Controllers limited through this directory, with the `name=value` of their limit.
    limits: Vec<(&'static str, String)>,
}

impl Dir {
    fn what(&self) -> String {
        let l: Vec<&str> = self.limits.iter().map(|(_, s)| s.as_str()).collect();
        l.join(" ")
    }
}

/// Where each limit goes, given this process's cgroups: v2 when the controller is enabled for
/// the children of the parent directory (`cgroup.subtree_control`), else its v1 hierarchy.
/// `subtree` reads a directory's `cgroup.subtree_control`. `name` is the new cgroup's name.
fn place(
    limits: &Limits,
    cg: &CgroupStatus,
    name: &str,
    subtree: &dyn Fn(&Path) -> Vec<String>,
) -> Result<Vec<Dir>, SetupError> {
    let parent = limits.parent.clone().unwrap_or_default();
    let v2_parent = match (&cg.v2_mount, &cg.v2_path) {
        (Some(m), Some(p)) => Some(m.join(p.trim_start_matches('/')).join(&parent)),
        _ => None,
    };
    let v2_delegated = v2_parent.as_deref().map(subtree).unwrap_or_default();
    let mut dirs: Vec<Dir> = Vec::new();
    for (ctrl, what) in limits.wanted() {
        let (version, path) =
            if let (true, Some(p)) = (v2_delegated.iter().any(|c| c == ctrl), &v2_parent) {
                (Version::V2, p.join(name))
            } else if let Some(v1) = cg.v1_controllers.iter().find(|c| c.name == ctrl) {
                let own = v1.mount.join(v1.path.trim_start_matches('/'));
                (Version::V1, own.join(&parent).join(name))
            } else {
                let v2 = match &v2_parent {
                    Some(p) => format!("not enabled in {}/cgroup.subtree_control", p.display()),
                    None => "no cgroup v2 mount".into(),
                };
                return Err(SetupError::other(
                    "cgroup",
                    what,
                    format!("no {ctrl} controller to enforce it ({v2}; no v1 {ctrl} hierarchy)"),
                ));
            };
        match dirs.iter_mut().find(|d| d.path == path) {
            Some(d) => d.limits.push((ctrl, what)),
            None => dirs.push(Dir {
                version,
                path,
                limits: vec![(ctrl, what)],
            }),
        }
    }
    Ok(dirs)
}

/// The files (and values) that carry each limit. Optional files are written when present.
fn files(limits: &Limits, ctrl: &str, v: Version) -> Vec<(&'static str, String, bool)> {
    match (ctrl, v) {
        ("memory", Version::V2) => {
            let m = limits.memory.unwrap_or_default().to_string();
            vec![
                ("memory.max", m, true),
                ("memory.swap.max", "0".into(), false),
            ]
        }
        ("memory", Version::V1) => {
            let m = limits.memory.unwrap_or_default().to_string();
            vec![
                ("memory.limit_in_bytes", m.clone(), true),
                // memory + swap; equal to the memory limit: no swap.
                ("memory.memsw.limit_in_bytes", m, false),
            ]
        }
        ("pids", _) => vec![(
            "pids.max",
            limits.pids.unwrap_or_default().to_string(),
            true,
        )],
        ("cpu", Version::V2) => vec![(
            "cpu.max",
            format!("{} {CPU_PERIOD_US}", quota(limits)),
            true,
        )],
        ("cpu", Version::V1) => vec![
            ("cpu.cfs_period_us", CPU_PERIOD_US.to_string(), true),
            ("cpu.cfs_quota_us", quota(limits).to_string(), true),
        ],
        _ => Vec::new(),
    }
}

fn quota(limits: &Limits) -> u64 {
    u64::from(limits.cpu_percent.unwrap_or(100)) * CPU_PERIOD_US / 100
}

/// The jail's cgroups, created with their limits written. Joined by the jail's init with
/// [`JailCgroup::enter`]; removed (waiting briefly for the last processes to leave) on drop.
#[derive(Debug)]
pub struct JailCgroup {
    dirs: Vec<Dir>,
    /// Directories created so far (removed in reverse order).
    created: Vec<PathBuf>,
    entries: Vec<Entry>,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl JailCgroup {
    /// Create the jail's cgroups for `limits` (nothing when no limit is set). Fails, leaving
    /// nothing behind, when any limit cannot be enforced (under `strict` also when one is only
    /// partly enforced); the error names the limit, the cgroup path and the errno.
    pub fn create(limits: &Limits, strict: bool) -> Result<Option<JailCgroup>, SetupError> {
        let cg = Self::create_any(limits)?;
        if let (true, Some(c)) = (strict, &cg) {
            if let Some(e) = c.entries.iter().find(|e| e.level != Level::Full) {
                return Err(SetupError::other(
                    "--strict",
                    &e.feature,
                    format!("only {}: {}", e.level, e.detail),
                ));
            }
        }
        Ok(cg)
    }

    fn create_any(limits: &Limits) -> Result<Option<JailCgroup>, SetupError> {
        if limits.is_empty() {
            return Ok(None);
        }
        let cg = crate::features::cgroups();
        let subtree = |p: &Path| -> Vec<String> {
            std::fs::read_to_string(p.join("cgroup.subtree_control"))
                .map(|s| s.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let pid = std::process::id();
        // A name left over by a crashed run with a recycled pid is skipped.
        for _ in 0..64 {
            let name = format!("ironpen-{pid}-{}", SEQ.fetch_add(1, Ordering::Relaxed));
            let dirs = place(limits, &cg, &name, &subtree)?;
            match Self::create_in(limits, dirs) {
                Err((e, true)) if e.errno == Some(rustix::io::Errno::EXIST.raw_os_error()) => {
                    continue
                }
                Err((e, _)) => return Err(e),
                Ok(cg) => return Ok(Some(cg)),
            }
        }
        Err(SetupError::other(
            "cgroup",
            format!("ironpen-{pid}-*"),
            "no free cgroup name",
        ))
    }

    /// Create `dirs` and write the limits. On error: everything created is removed; the bool
    /// says whether the error was the first mkdir (a name collision can be retried).
    fn create_in(limits: &Limits, dirs: Vec<Dir>) -> Result<JailCgroup, (SetupError, bool)> {
        let mut cg = JailCgroup {
            dirs,
            created: Vec::new(),
            entries: Vec::new(),
        };
        let dirs = cg.dirs.clone();
        for d in &dirs {
            if let Err(e) = std::fs::create_dir(&d.path) {
                let first = cg.created.is_empty();
                let denied = matches!(e.kind(), std::io::ErrorKind::PermissionDenied);
                let mut err = SetupError::os(
                    "cgroup",
                    format!("{} (mkdir {})", d.what(), d.path.display()),
                    e,
                );
                if denied {
                    err.message.push_str(
                        "; without root, limits need a cgroup delegated to you \
                         (--cgroup-parent, docs/limits.md)",
                    );
                }
                return Err((err, first));
            }
            cg.created.push(d.path.clone());
            for (ctrl, what) in &d.limits {
                let mut detail = Vec::new();
                let mut level = Level::Full;
                for (file, value, required) in files(limits, ctrl, d.version) {
                    let path = d.path.join(file);
                    if !required && !path.exists() {
                        if ctrl == &"memory" && host_has_swap() {
                            level = Level::Partial;
                            detail.push(format!("swap not limited (no {file})"));
                        }
                        continue;
                    }
                    if let Err(e) = std::fs::write(&path, value.as_bytes()) {
                        let err = SetupError::os(
                            "cgroup",
                            format!("{what} (write {value:?} to {})", path.display()),
                            e,
                        );
                        return Err((err, false));
                    }
                    detail.push(format!("{file}={value}"));
                }
                let v = match d.version {
                    Version::V1 => "v1",
                    Version::V2 => "v2",
                };
                cg.entries.push(Entry::new(
                    ctrl,
                    level,
                    format!(
                        "{what}: cgroup {v} {} ({})",
                        d.path.display(),
                        detail.join(", ")
                    ),
                ));
            }
        }
        Ok(cg)
    }

    /// Move the jail's init (and so everything it starts) into the cgroups. Called right after
    /// the clone, before the init is told to go on.
    pub fn enter(&self, pid: i32) -> Result<(), SetupError> {
        for d in &self.dirs {
            let procs = d.path.join("cgroup.procs");
            std::fs::write(&procs, pid.to_string().as_bytes()).map_err(|e| {
                SetupError::os(
                    "cgroup",
                    format!("{} (move jail init {pid} to {})", d.what(), procs.display()),
                    e,
                )
            })?;
        }
        Ok(())
    }

    /// What is enforced and how, for the enforcement report.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The cgroup directories (for tests and diagnostics).
    pub fn paths(&self) -> Vec<&Path> {
        self.dirs.iter().map(|d| d.path.as_path()).collect()
    }

    /// Remove the cgroups, waiting up to a few seconds for exiting processes to leave them.
    pub fn remove(mut self) -> Result<(), SetupError> {
        self.remove_dirs()
    }

    fn remove_dirs(&mut self) -> Result<(), SetupError> {
        let deadline = Instant::now() + DRAIN;
        let mut result = Ok(());
        while let Some(dir) = self.created.pop() {
            loop {
                match std::fs::remove_dir(&dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    // EBUSY: tasks still draining out of it.
                    Err(e)
                        if e.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error())
                            && Instant::now() < deadline =>
                    {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => {
                        result = Err(SetupError::os(
                            "cgroup",
                            format!("rmdir {}", dir.display()),
                            e,
                        ));
                        break;
                    }
                }
            }
        }
        result
    }
}

impl Drop for JailCgroup {
    fn drop(&mut self) {
        if let Err(e) = self.remove_dirs() {
            eprintln!("ironpen: warning: {e}");
        }
    }
}

/// Is any swap space active (then a memory limit without its swap counterpart is partial)?
fn host_has_swap() -> bool {
    std::fs::read_to_string("/proc/swaps").is_ok_and(|s| s.lines().count() > 1)
}

/// The report with the cgroup limits' entries appended.
pub fn with_entries(
    report: &crate::report::Report,
    cg: Option<&JailCgroup>,
) -> crate::report::Report {
    let mut r = report.clone();
    if let Some(cg) = cg {
        r.entries.extend(cg.entries().iter().cloned());
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{CgroupLayout, Status, V1Controller};

    fn hybrid() -> CgroupStatus {
        let v1 = |name: &str, path: &str| V1Controller {
            name: name.into(),
            mount: PathBuf::from(format!("/sys/fs/cgroup/{name}")),
            path: path.into(),
        };
        CgroupStatus {
            status: Status::Available,
            layout: CgroupLayout::Hybrid,
            v2_mount: Some(PathBuf::from("/sys/fs/cgroup/unified")),
            v2_path: Some("/".into()),
            v2_controllers: vec!["hugetlb".into()],
            v1_controllers: vec![
                v1("memory", "/process_api/abc"),
                v1("pids", "/"),
                v1("cpu", "/"),
            ],
        }
    }

    fn all() -> Limits {
        Limits {
            memory: Some(64 << 20),
            pids: Some(16),
            cpu_percent: Some(50),
            parent: None,
        }
    }

    #[test]
    fn hybrid_host_uses_v1_inside_own_cgroups() {
        let dirs = place(&all(), &hybrid(), "ironpen-1-0", &|_| Vec::new()).unwrap();
        let paths: Vec<&Path> = dirs.iter().map(|d| d.path.as_path()).collect();
        assert_eq!(
            paths,
            [
                Path::new("/sys/fs/cgroup/memory/process_api/abc/ironpen-1-0"),
                Path::new("/sys/fs/cgroup/pids/ironpen-1-0"),
                Path::new("/sys/fs/cgroup/cpu/ironpen-1-0"),
            ]
        );
        assert!(dirs.iter().all(|d| d.version == Version::V1));
    }

    #[test]
    fn delegated_v2_controllers_win_and_share_one_directory() {
        let mut cg = hybrid();
        cg.v2_path = Some("/user/me".into());
        let mut l = all();
        l.parent = Some(PathBuf::from("deleg"));
        let dirs = place(&l, &cg, "j", &|p| {
            assert_eq!(p, Path::new("/sys/fs/cgroup/unified/user/me/deleg"));
            vec!["memory".into(), "pids".into()]
        })
        .unwrap();
        assert_eq!(dirs.len(), 2);
        assert_eq!(dirs[0].version, Version::V2);
        assert_eq!(
            dirs[0].path,
            Path::new("/sys/fs/cgroup/unified/user/me/deleg/j")
        );
        assert_eq!(dirs[0].what(), "memory=67108864 pids=16");
        assert_eq!(dirs[1].path, Path::new("/sys/fs/cgroup/cpu/deleg/j"));
    }

    #[test]
    fn a_missing_controller_is_an_error_naming_the_limit() {
        let mut cg = hybrid();
        cg.v1_controllers.retain(|c| c.name != "cpu");
        let e = place(&all(), &cg, "j", &|_| Vec::new()).unwrap_err();
        assert_eq!(e.object, "cpu_percent=50");
        assert!(e.message.contains("no cpu controller"), "{e}");
    }

    #[test]
    fn files_carry_each_limit() {
        let l = all();
        assert_eq!(
            files(&l, "cpu", Version::V2),
            [("cpu.max", "50000 100000".to_string(), true)]
        );
        assert_eq!(files(&l, "cpu", Version::V1)[1].1, "50000");
        assert_eq!(
            files(&l, "memory", Version::V1)[1].0,
            "memory.memsw.limit_in_bytes"
        );
        assert_eq!(
            files(&l, "pids", Version::V2),
            [("pids.max", "16".to_string(), true)]
        );
    }

    #[test]
    fn user_spellings_are_validated() {
        let ok = Limits::parse(Some("64M"), Some("10"), Some("1"), Some("a/b")).unwrap();
        assert_eq!(ok.memory, Some(64 << 20));
        assert_eq!(ok.parent, Some(PathBuf::from("a/b")));
        let err = |m, p, c, g| Limits::parse(m, p, c, g).unwrap_err();
        assert_eq!(err(Some("12Q"), None, None, None).arg, "--memory");
        assert_eq!(err(None, Some("0"), None, None).arg, "--pids");
        assert_eq!(err(None, Some("x"), None, None).arg, "--pids");
        assert_eq!(err(None, None, Some("0"), None).arg, "--cpu-percent");
        let too_much = (100 * cpu_count() + 1).to_string();
        assert_eq!(err(None, None, Some(&too_much), None).arg, "--cpu-percent");
        for bad in ["/abs", "../up", "a/../b", "cgroup.procs", ""] {
            assert_eq!(
                err(Some("64M"), None, None, Some(bad)).arg,
                "--cgroup-parent",
                "{bad}"
            );
        }
        assert_eq!(err(None, None, None, Some("a")).arg, "--cgroup-parent");
    }

    #[test]
    fn create_writes_limits_and_removal_cleans_up() {
        // A plain directory stands in for a cgroup hierarchy.
        let root = std::env::temp_dir().join(format!("ironpen-cgroup-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let dirs = vec![Dir {
            version: Version::V1,
            path: root.join("j"),
            limits: vec![("pids", "pids=7".into()), ("cpu", "cpu_percent=50".into())],
        }];
        let cg = JailCgroup::create_in(&all(), dirs)
            .map_err(|e| e.0)
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("j/pids.max")).unwrap(),
            "16"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("j/cpu.cfs_quota_us")).unwrap(),
            "50000"
        );
        assert_eq!(cg.entries().len(), 2);
        assert!(cg.entries()[0].detail.contains("cgroup v1"));
        // A plain directory with files is not removable by rmdir: the error says so.
        let e = cg.remove().unwrap_err();
        assert!(e.object.starts_with("rmdir "), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
