//! The overlay driver of a workspace (kernel overlayfs or fuse-overlayfs), and the parent side
//! of the fuse-overlayfs driver: the daemons ironpen runs, outside the jail, to serve the
//! `/dev/fuse` connections the jail mounted. See docs/workspaces.md ("Drivers").

use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Ctx, SetupError};
use crate::features::Status;
use crate::spec::{Identity, JailSpec, MountOp, OverlayDriver};

use super::{Layer, WsError};

/// Environment variable naming the fuse-overlayfs binary (default: looked up in `PATH`).
pub const BINARY_ENV: &str = "IRONPEN_FUSE_OVERLAYFS";

/// The driver the user asked for (`--overlay-driver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriverChoice {
    /// The kernel's overlay when it can be mounted in a user namespace, else fuse-overlayfs if
    /// installed, else an error. A layer already written by fuse-overlayfs stays with it.
    #[default]
    Auto,
    Kernel,
    Fuse,
}

impl std::str::FromStr for DriverChoice {
    type Err = WsError;
    fn from_str(s: &str) -> Result<Self, WsError> {
        match s {
            "auto" => Ok(Self::Auto),
            "kernel" => Ok(Self::Kernel),
            "fuse" => Ok(Self::Fuse),
            _ => Err(WsError::new(
                "--overlay-driver",
                s,
                "expected auto, kernel or fuse",
            )),
        }
    }
}

/// The fuse-overlayfs binary: `$IRONPEN_FUSE_OVERLAYFS` when set (it must exist), else the
/// first `fuse-overlayfs` in `PATH`. Err says where it was looked for.
pub fn find_binary() -> Result<PathBuf, String> {
    let usable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if let Some(p) = std::env::var_os(BINARY_ENV) {
        let p = PathBuf::from(p);
        return if p.is_absolute() && usable(&p) {
            Ok(p)
        } else {
            Err(format!(
                "{BINARY_ENV}={} is not an absolute path to an executable file",
                p.display()
            ))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join("fuse-overlayfs"))
        .find(|p| usable(p))
        .ok_or_else(|| {
            format!(
                "fuse-overlayfs is not installed (not found in PATH={}; or set {BINARY_ENV})",
                path.to_string_lossy()
            )
        })
}

/// fuse-overlayfs takes its layers in a comma- and colon-separated option string.
fn check_option_path(p: &Path) -> Result<(), WsError> {
    let b = p.as_os_str().as_encoded_bytes();
    if b.iter().any(|c| b",:\\\n".contains(c)) {
        return Err(WsError::new(
            "--overlay-driver fuse",
            p.display().to_string(),
            "fuse-overlayfs cannot take a layer path containing ',', ':', '\\' or a newline",
        ));
    }
    Ok(())
}

/// Decide the driver of `layer` (whose layer directory is `dir`): what the user asked for,
/// what the kernel can do (`kernel`: overlay in a user namespace) and whether fuse-overlayfs
/// is installed. Never a driver that would write the base.
pub fn choose(
    choice: DriverChoice,
    layer: &Layer,
    dir: &Path,
    kernel: &Status,
) -> Result<OverlayDriver, WsError> {
    let base = layer.base.display().to_string();
    let fuse = || -> Result<OverlayDriver, WsError> {
        let binary = find_binary().map_err(|why| {
            WsError::new(
                "overlay driver",
                &base,
                format!("{why}; ironpen never falls back to writing the base"),
            )
        })?;
        check_option_path(&layer.base)?;
        check_option_path(dir)?;
        Ok(OverlayDriver::FuseOverlayfs { binary })
    };
    match choice {
        DriverChoice::Fuse => fuse(),
        DriverChoice::Kernel if layer.fuse => Err(WsError::new(
            "--overlay-driver kernel",
            &base,
            "this layer was written by fuse-overlayfs, whose whiteouts the kernel's overlay \
             does not understand (use --overlay-driver fuse or auto)",
        )),
        DriverChoice::Kernel => Ok(OverlayDriver::Kernel),
        DriverChoice::Auto if layer.fuse => fuse(),
        DriverChoice::Auto => match kernel {
            Status::Available => Ok(OverlayDriver::Kernel),
            Status::Unavailable(why) | Status::Degraded(why) => fuse().map_err(|e| {
                WsError::new(
                    "overlay driver",
                    &base,
                    format!("the kernel cannot mount it ({why}) and {}", e.reason),
                )
            }),
        },
    }
}

/// The running fuse-overlayfs daemons of one jail. Dropping it ends them (TERM, then KILL
/// after a grace period) and reaps them.
#[derive(Debug)]
pub(crate) struct Daemons {
    mounts: Vec<MountOp>,
    ids: Identity,
    running: Vec<(usize, Child, std::fs::File)>,
}

impl Daemons {
    pub(crate) fn new(spec: &JailSpec) -> Self {
        Self {
            mounts: spec.mounts.clone(),
            ids: spec.ids.clone(),
            running: Vec::new(),
        }
    }

    /// Serve the fuse connection `dev` that the jail mounted for mount op `op`: fuse-overlayfs
    /// with the mount point `/dev/fd/0` (libfuse's convention for "already mounted, here is the
    /// /dev/fuse fd"), the layers by their host paths, and the jail's ids mapped to the ids the
    /// upper layer belongs to. It runs as ironpen's caller, in ironpen's namespaces.
    pub(crate) fn start(&mut self, op: usize, dev: Option<OwnedFd>) -> Result<(), SetupError> {
        let bad = |why: &str| SetupError::other("fuse-overlayfs", format!("mount op {op}"), why);
        let dev = dev.ok_or_else(|| bad("the jail sent no /dev/fuse descriptor"))?;
        let Some(MountOp::Overlay {
            lower,
            upper,
            work,
            driver: OverlayDriver::FuseOverlayfs { binary },
            origin,
            ..
        }) = self.mounts.get(op)
        else {
            return Err(bad("not a fuse-overlayfs mount of the plan"));
        };
        if self.running.iter().any(|(o, _, _)| *o == op) {
            return Err(bad("started twice"));
        }
        let ids = &self.ids;
        // fuse-overlayfs's mappings read "ID-ON-DISK:ID-IN-THE-MOUNT:COUNT".
        let opts = format!(
            "lowerdir={},upperdir={},workdir={},uidmapping={}:{}:1,gidmapping={}:{}:1",
            lower.display(),
            upper.display(),
            work.display(),
            ids.host_uid,
            ids.uid,
            ids.host_gid,
            ids.gid,
        );
        // Its messages are kept in an anonymous file and shown when it has ended (a pipe could
        // fill up and stall the daemon, and with it the jail).
        let log =
            rustix::fs::memfd_create("fuse-overlayfs-stderr", rustix::fs::MemfdFlags::CLOEXEC)
                .map(std::fs::File::from)
                .ctx("memfd_create", || {
                    format!("stderr of fuse-overlayfs ({origin})")
                })?;
        let log_w = log
            .try_clone()
            .map_err(|e| SetupError::os("dup", "fuse-overlayfs stderr", e))?;
        let mut cmd = Command::new(binary);
        let drop = if rustix::process::geteuid().is_root() {
            caps_to_drop()
        } else {
            Vec::new()
        };
        ironpen_sys::process::prepare_helper(&mut cmd, &drop);
        let child = cmd
            .arg("-f")
            .arg("-o")
            .arg(opts)
            .arg("/dev/fd/0")
            .stdin(Stdio::from(dev))
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_w))
            .env_clear()
            .current_dir("/")
            // Its own process group: the terminal's ^C / ^Z are for the jailed program (ironpen
            // forwards them), not for the daemon under its file system.
            .process_group(0)
            .spawn()
            .map_err(|e| SetupError::os("spawn", format!("{} ({origin})", binary.display()), e))?;
        self.running.push((op, child, log));
        Ok(())
    }

    /// End the daemons. The jail is gone by now, so its fuse connections are normally aborted
    /// already and the daemons exit by themselves; TERM, then KILL, bound the wait.
    pub(crate) fn stop(&mut self) {
        for (_, c, _) in &self.running {
            if let Some(pid) = i32::try_from(c.id())
                .ok()
                .and_then(rustix::process::Pid::from_raw)
            {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        for (op, c, log) in &mut self.running {
            let mut status = None;
            loop {
                match c.try_wait() {
                    Ok(Some(st)) => {
                        status = Some(st);
                        break;
                    }
                    Err(_) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Ok(None) => {
                        let _ = c.kill();
                        status = c.wait().ok();
                        break;
                    }
                }
            }
            let origin = self
                .mounts
                .get(*op)
                .map(MountOp::origin)
                .unwrap_or_default();
            show_log(&origin, status, log);
        }
        self.running.clear();
    }
}

/// What a root-run daemon keeps: what a file server needs to store the jail's files under the
/// jail's host ids (owners, modes, reading the base). Everything else goes; above all
/// CAP_SETFCAP: the kernel hands a FUSE server in the jail's namespace a capability set in the
/// jail as a plain (v2, host-wide) `security.capability`, which a root daemon would store as such
/// on the host. Without CAP_SETFCAP that write fails (EPERM), as it does for a rootless daemon.
/// And CAP_SYS_ADMIN: no `trusted.*` xattrs (fuse-overlayfs then marks opaque directories with
/// `user.fuseoverlayfs.opaque`), no mounts.
const DAEMON_KEEPS: [u32; 9] = [
    0,  // CAP_CHOWN: files get the jail's host ids
    1,  // CAP_DAC_OVERRIDE
    2,  // CAP_DAC_READ_SEARCH: copy-up reads what the kernel let the jail read
    3,  // CAP_FOWNER: chmod/utimes/xattrs on the jail's files
    4,  // CAP_FSETID: modes survive the chown
    6,  // CAP_SETGID
    7,  // CAP_SETUID
    24, // CAP_SYS_RESOURCE: raising its descriptor limit
    27, // CAP_MKNOD: whiteouts
];

fn caps_to_drop() -> Vec<u32> {
    (0..=u32::from(crate::caps::last_cap()))
        .filter(|c| !DAEMON_KEEPS.contains(c))
        .collect()
}

/// What a daemon wrote to stderr (at most 16 KiB, without libfuse's harmless notice about mount
/// options it does not know), so that its own diagnostics are not lost.
fn show_log(origin: &str, status: Option<std::process::ExitStatus>, log: &mut std::fs::File) {
    use std::io::{Read, Seek};
    let mut text = String::new();
    if log.rewind().is_ok() {
        let _ = log.take(16 * 1024).read_to_string(&mut text);
    }
    for line in text.lines() {
        if !line.trim().is_empty() && !line.starts_with("unknown argument ignored") {
            eprintln!("ironpen: fuse-overlayfs ({origin}): {line}");
        }
    }
    // Ended by our TERM, or by itself when the jail's mount went away: both are normal.
    if let Some(st) = status.filter(|s| !s.success() && s.code().is_some()) {
        eprintln!("ironpen: fuse-overlayfs ({origin}) ended with {st}");
    }
}

impl Drop for Daemons {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(fuse: bool) -> Layer {
        Layer {
            base: "/srv/base".into(),
            id: "0".into(),
            fuse,
        }
    }

    #[test]
    fn kernel_driver_refuses_a_fuse_layer_and_auto_keeps_it() {
        let ok = Status::Available;
        let d = Path::new("/ws/layers/0");
        assert_eq!(
            choose(DriverChoice::Auto, &layer(false), d, &ok).unwrap(),
            OverlayDriver::Kernel
        );
        let e = choose(DriverChoice::Kernel, &layer(true), d, &ok).unwrap_err();
        assert!(e.reason.contains("fuse-overlayfs"), "{e}");
    }

    #[test]
    fn fuse_refuses_paths_it_cannot_quote() {
        assert!(check_option_path(Path::new("/a,b")).is_err());
        assert!(check_option_path(Path::new("/a:b")).is_err());
        assert!(check_option_path(Path::new("/a/b c")).is_ok());
    }

    #[test]
    fn choices_parse() {
        assert_eq!("fuse".parse::<DriverChoice>().unwrap(), DriverChoice::Fuse);
        assert!("overlay".parse::<DriverChoice>().is_err());
    }
}

/// The diff of an upper layer in fuse-overlayfs's own format (what it writes when it may not
/// create 0:0 character devices or set `trusted.*` xattrs), built by hand.
#[cfg(test)]
mod format_tests {
    use super::super::diff::{walk, Format};
    use std::fs;

    fn changes(upper: &std::path::Path, base: &std::path::Path, f: Format) -> Vec<String> {
        let mut out = Vec::new();
        walk(upper, base, std::path::Path::new(""), f, &mut |e| {
            let line = e.line();
            let (letter, path) = line.split_once("  ").unwrap();
            out.push(format!("{letter} {path}"));
        })
        .unwrap();
        out.sort();
        out
    }

    /// A scratch directory removed on drop (also when the test fails).
    struct Scratch(std::path::PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn dot_wh_files_are_deletions_only_in_fuse_layers() {
        let t =
            Scratch(std::env::temp_dir().join(format!("ironpen-fuse-fmt-{}", std::process::id())));
        let (base, upper) = (t.0.join("base"), t.0.join("upper"));
        for d in [&base, &upper] {
            fs::create_dir_all(d.join("sub")).unwrap();
        }
        fs::write(base.join("gone"), "x").unwrap();
        fs::write(base.join("back"), "x").unwrap();
        fs::write(base.join("sub/old"), "x").unwrap();
        // Deleted; deleted then created again (the file wins); a whiteout of a name the base
        // lacks (nothing to report); a replaced directory.
        fs::write(upper.join(".wh.gone"), "").unwrap();
        fs::write(upper.join(".wh.back"), "").unwrap();
        fs::write(upper.join("back"), "y").unwrap();
        fs::write(upper.join(".wh.never"), "").unwrap();
        fs::write(upper.join("sub/.wh..wh..opq"), "").unwrap();
        fs::write(upper.join("sub/new"), "n").unwrap();
        // fuse-overlayfs lets the jail make a symlink (not a file) named `.wh.*`: an entry.
        std::os::unix::fs::symlink("/etc/shadow", upper.join(".wh.link")).unwrap();
        fs::write(base.join("link"), "x").unwrap();
        assert_eq!(
            changes(&upper, &base, Format::FuseOverlayfs),
            [
                "A .wh.link -> /etc/shadow",
                "A sub/new",
                "D gone",
                "M back",
                "R sub/"
            ]
        );
        // The kernel's overlay shows such names as plain files: so must its diff.
        let k = changes(&upper, &base, Format::Kernel);
        assert!(k.contains(&"A .wh.gone".to_string()), "{k:?}");
        assert!(!k.iter().any(|l| l.starts_with('D')), "{k:?}");
        assert!(k.contains(&"A sub/.wh..wh..opq".to_string()), "{k:?}");
    }
}
