//! Policies' device and display grants in a real jail: the `kvm` boolean binds /dev/kvm as a
//! device, `gpu`'s missing devices are skipped with a note (optional binds) while a required
//! missing device refuses to start naming the policy's line, and an X11-shaped grant (a socket
//! directory bound read-only at /tmp/.X11-unix) reaches the host's socket and nothing more.
//! As root and as uid 65534.

mod common;

use std::os::unix::fs::FileTypeExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::net::UnixListener;
use std::path::Path;

use common::*;

const GPU: &[&str] = &[
    "/dev/dri",
    "/dev/nvidiactl",
    "/dev/nvidia0",
    "/dev/nvidia-uvm",
    "/dev/nvidia-modeset",
];

fn write_policy(env: &TestEnv, name: &str, text: &str) -> String {
    let p = env.dir.join(name);
    std::fs::write(&p, text).unwrap();
    set_mode(&p, 0o644);
    p.display().to_string()
}

#[test]
fn kvm_boolean_binds_dev_kvm_as_a_device() {
    let host = match std::fs::metadata("/dev/kvm") {
        Ok(m) if m.file_type().is_char_device() => m,
        _ => {
            skip(
                "kvm_boolean_binds_dev_kvm_as_a_device",
                "no /dev/kvm on this host",
            );
            return;
        }
    };
    each_variant("kvm_boolean_binds_dev_kvm", |env, v| {
        let r = env.probe_in(
            v,
            &["--policy", "@default", "--set", "kvm=true"],
            &["stat", "/dev/kvm"],
        );
        assert_ok(
            &r,
            true,
            &format!("[{}] stat /dev/kvm with kvm=true", v.name()),
        );
        let mode = r["mode"].as_u64().unwrap();
        assert_eq!(
            mode & 0o170000,
            0o020000,
            "[{}] a character device: {r}",
            v.name()
        );
        assert_eq!(r["rdev"].as_u64(), Some(host.rdev()), "[{}] {r}", v.name());
        // The grant is the boolean's: the default jail has no /dev/kvm.
        let r = env.probe_in(v, &["--policy", "@default"], &["stat", "/dev/kvm"]);
        assert_ok(
            &r,
            false,
            &format!("[{}] stat /dev/kvm by default", v.name()),
        );
    });
}

#[test]
fn optional_devices_are_skipped_and_required_ones_refused() {
    let missing: Vec<&str> = GPU
        .iter()
        .copied()
        .filter(|p| std::fs::symlink_metadata(p).is_err())
        .collect();
    let absent = (0..100)
        .map(|i| format!("/dev/nvidia{}", 90 + i))
        .find(|p| !Path::new(p).exists())
        .expect("a free /dev/nvidiaN name");
    each_variant("optional_devices_skipped", |env, v| {
        let probe = env.probe();
        let out = env.run(
            v,
            &["--policy", "@default", "--set", "gpu=true"],
            &[&probe, "stat", "/dev/dri"],
        );
        assert_eq!(out.code, Some(0), "[{}] {}", v.name(), out.stderr);
        let note = format!(
            "ironpen: note: optional binds skipped, not on this host: {}\n",
            missing.join(", ")
        );
        assert_eq!(
            out.stderr.contains(&note),
            !missing.is_empty(),
            "[{}] {}",
            v.name(),
            out.stderr
        );
        let has_dri = !missing.contains(&"/dev/dri");
        assert_ok(
            &out.json_line(),
            has_dri,
            &format!("[{}] /dev/dri", v.name()),
        );

        // Not optional: a device the host lacks refuses to start, naming the policy's line.
        let p = write_policy(
            env,
            "dev.toml",
            &format!("include = [\"@default\"]\n[filesystem]\ndev = [\"{absent}\"]\n"),
        );
        let out = env.run(v, &["--policy", &p], &["/bin/true"]);
        assert_eq!(out.code, Some(125), "[{}] {}", v.name(), out.stderr);
        assert_eq!(
            out.stderr,
            format!(
                "ironpen: {p}:3:8: filesystem: source {absent} cannot be used: No such file or \
                 directory (os error 2)\n"
            ),
            "[{}]",
            v.name()
        );
        // The same device listed as optional: the jail starts without it.
        let p = write_policy(
            env,
            "opt.toml",
            &format!(
                "include = [\"@default\"]\n[filesystem]\ndev = [\"{absent}\"]\n\
                 optional = [\"{absent}\"]\n"
            ),
        );
        let out = env.run(v, &["--policy", &p], &[&probe, "stat", &absent]);
        assert_eq!(out.code, Some(0), "[{}] {}", v.name(), out.stderr);
        assert!(out.stderr.contains(&format!(
            "ironpen: note: optional binds skipped, not on this host: {absent}\n"
        )));
        assert_ok(&out.json_line(), false, &format!("[{}] {absent}", v.name()));
    });
}

#[test]
fn x11_socket_directory_bound_read_only() {
    each_variant("x11_socket_directory", |env, v| {
        // A stand-in for the host's /tmp/.X11-unix: the x11 boolean binds that directory at the
        // same place; this binds a private one there, the same mount over the jail's own /tmp.
        let x11 = env.dir.join("x11");
        std::fs::create_dir(&x11).unwrap();
        set_mode(&x11, 0o755);
        let sock = x11.join("X0");
        let _listener = UnixListener::bind(&sock).expect("bind the display socket");
        set_mode(&sock, 0o777);
        let p = write_policy(
            env,
            "x11.toml",
            &format!(
                "include = [\"@default\"]\n[filesystem]\nro = [\"{}:/tmp/.X11-unix\"]\n",
                x11.display()
            ),
        );
        let r = env.probe_in(v, &["--policy", &p], &["connect-unix", "/tmp/.X11-unix/X0"]);
        assert_ok(&r, true, &format!("[{}] connect to the display", v.name()));
        let r = env.probe_in(v, &["--policy", &p], &["write", "/tmp/.X11-unix/X1"]);
        assert_ok(
            &r,
            false,
            &format!("[{}] write into the socket dir", v.name()),
        );
        assert_eq!(r["errno"].as_i64(), Some(30), "[{}] EROFS: {r}", v.name());
        // The rest of /tmp stays the jail's own, writable.
        let r = env.probe_in(v, &["--policy", &p], &["write", "/tmp/scratch"]);
        assert_ok(&r, true, &format!("[{}] write /tmp/scratch", v.name()));
        // The boolean itself: the cookie from ${HOME}/.Xauthority is read-only at the place
        // XAUTHORITY names (the jail's home is not the caller's).
        let home = env.dir.join("home");
        std::fs::create_dir(&home).unwrap();
        set_mode(&home, 0o755);
        std::fs::write(home.join(".Xauthority"), "cookie\n").unwrap();
        set_mode(&home.join(".Xauthority"), 0o644);
        let mut cmd = env.ironpen_cmd(
            v,
            &["--policy", "@default", "--set", "x11=true"],
            &[
                "sh",
                "-c",
                "echo DISPLAY=$DISPLAY; cat \"$XAUTHORITY\"; echo x >> \"$XAUTHORITY\" || echo RO",
            ],
        );
        cmd.env("HOME", &home).env("DISPLAY", ":7");
        let out = run_cmd(cmd, RUN_TIMEOUT);
        assert_eq!(out.code, Some(0), "[{}] {}", v.name(), out.stderr);
        assert_eq!(
            out.stdout,
            "DISPLAY=:7\ncookie\nRO\n",
            "[{}] {}",
            v.name(),
            out.stderr
        );
        if !Path::new("/tmp/.X11-unix").exists() {
            assert!(
                out.stderr.contains(
                    "ironpen: note: optional binds skipped, not on this host: /tmp/.X11-unix\n"
                ),
                "[{}] {}",
                v.name(),
                out.stderr
            );
        }
        // Without the grant there is no display.
        let r = env.probe_in(
            v,
            &["--policy", "@default"],
            &["connect-unix", "/tmp/.X11-unix/X0"],
        );
        assert_ok(&r, false, &format!("[{}] default jail", v.name()));
    });
}

/// Removes a device node the test created under /dev, even on panic.
struct NodeGuard(String);

impl Drop for NodeGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A `dev` grant really gives device access (nosuid only), where an `rw` bind of the same node
/// is nodev: a private null device (1:3, mode 0666) under /dev, written through each.
#[test]
fn dev_grant_opens_the_device_where_rw_is_nodev() {
    if !is_root() {
        skip(
            "dev_grant_opens_the_device",
            "needs root to create a device node",
        );
        return;
    }
    each_variant("dev_grant_opens_the_device", |env, v| {
        let node = format!("/dev/{}-null", env.id);
        let status = std::process::Command::new("mknod")
            .args(["-m", "666", &node, "c", "1", "3"])
            .status()
            .expect("run mknod");
        assert!(status.success(), "mknod {node}");
        let _guard = NodeGuard(node.clone());
        let p = write_policy(
            env,
            "null.toml",
            &format!(
                "include = [\"@default\"]\n[filesystem]\ndev = [\"{node}:/dev/mine\"]\n\
                 allow_dangerous_devices = \"yes-i-understand\"\nrw = [\"{node}:/srv/plain\"]\n"
            ),
        );
        let r = env.probe_in(v, &["--policy", &p], &["write", "/dev/mine"]);
        assert_ok(
            &r,
            true,
            &format!("[{}] write through the dev grant", v.name()),
        );
        let r = env.probe_in(v, &["--policy", &p], &["write", "/srv/plain"]);
        assert_ok(
            &r,
            false,
            &format!("[{}] write through the rw bind", v.name()),
        );
        assert_eq!(
            r["errno"].as_i64(),
            Some(13),
            "[{}] EACCES (nodev): {r}",
            v.name()
        );
    });
}
