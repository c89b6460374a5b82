//! End-to-end: the jail's file system. Writes outside /tmp, HOME and writable binds fail; the
//! root is minimal; mounts, chroot escapes, file handles, /proc/sys and device nodes are denied.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn writes_outside_tmp_home_and_binds_fail() {
    each_variant("writes_outside_tmp_home_and_binds_fail", |env, v| {
        let ro = env.work_dir("ro", v);
        std::fs::write(ro.join("existing"), b"original\n").unwrap();
        let ro_s = ro.to_string_lossy().into_owned();
        let opts = ["--ro-bind", ro_s.as_str(), "/ro"];
        let inner_bin_file = format!("{}/x", env.inner_bin());
        let denied = [
            "/x",
            "/usr/x",
            "/usr/bin/x",
            "/usr/bin/true",
            "/etc/x",
            "/etc/passwd",
            "/bin/x",
            "/lib/x",
            "/proc/x",
            "/proc/1/x",
            "/sys/x",
            "/ro/x",
            "/ro/existing",
            inner_bin_file.as_str(),
        ];
        for path in denied {
            let r = env.probe_in(v, &opts, &["write", path]);
            assert_ok(&r, false, &format!("[{}] write {path}", v.name()));
        }
        assert_eq!(
            std::fs::read(ro.join("existing")).unwrap(),
            b"original\n",
            "read-only bind was modified"
        );
        assert!(!ro.join("x").exists(), "read-only bind gained a file");

        for path in ["/tmp/x", "/dev/shm/x"] {
            let r = env.probe_default(v, &["write", path]);
            assert_ok(&r, true, &format!("[{}] write {path}", v.name()));
        }
        let st = env.probe_default(v, &["status"]);
        let home = st["env"]["HOME"].as_str().expect("HOME is set").to_string();
        let r = env.probe_default(v, &["write", &format!("{home}/x")]);
        assert_ok(&r, true, &format!("[{}] write $HOME/x", v.name()));
    });
}

#[test]
fn writable_bind_files_get_the_documented_host_owner() {
    each_variant("writable_bind_files_owner", |env, v| {
        let w = env.work_dir("w", v);
        let w_s = w.to_string_lossy().into_owned();
        let r = env.probe_in(v, &["--bind", &w_s, "/w"], &["write", "/w/new"]);
        assert_ok(&r, true, &format!("[{}] write into --bind dir", v.name()));
        let meta = std::fs::metadata(w.join("new")).expect("file written through the bind");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            (meta.uid(), meta.gid()),
            v.host_ids(),
            "[{}] owner on the host of a file the jail wrote",
            v.name()
        );
    });
}

#[test]
fn root_is_minimal() {
    each_variant("root_is_minimal", |env, v| {
        let root = env.probe_default(v, &["ls", "/"]);
        assert_ok(&root, true, "ls /");
        let entries: Vec<&str> = root["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for want in ["usr", "bin", "lib", "sbin", "etc", "tmp", "proc", "dev"] {
            assert!(
                entries.contains(&want),
                "[{}] / lacks {want}: {entries:?}",
                v.name()
            );
        }
        for bad in [
            "sys", "var", "run", "boot", "srv", "opt", "mnt", "media", "work",
        ] {
            assert!(
                !entries.contains(&bad),
                "[{}] / has host {bad}: {entries:?}",
                v.name()
            );
        }
        let (uid, _) = v.inner_ids();
        if uid != 0 {
            assert!(
                !entries.contains(&"root"),
                "[{}] host /root visible: {entries:?}",
                v.name()
            );
            let home = env.probe_default(v, &["ls", "/home"]);
            assert_eq!(
                home["entries"].as_array().map(Vec::len),
                Some(1),
                "[{}] /home should hold only the jail user's home: {home}",
                v.name()
            );
        } else {
            let home = env.probe_default(v, &["ls", "/root"]);
            assert_eq!(
                home["entries"].as_array().map(Vec::len),
                Some(0),
                "[{}] /root should be a fresh empty home: {home}",
                v.name()
            );
        }
        for (link, target) in [
            ("/bin", "usr/bin"),
            ("/lib", "usr/lib"),
            ("/sbin", "usr/sbin"),
        ] {
            let r = env.probe_default(v, &["readlink", link]);
            assert_eq!(s(&r, "link"), target, "[{}] {link}: {r}", v.name());
        }
        let etc = env.probe_default(v, &["ls", "/etc"]);
        let etc: Vec<&str> = etc["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for want in ["passwd", "group", "ld.so.cache", "nsswitch.conf", "hosts"] {
            assert!(
                etc.contains(&want),
                "[{}] /etc lacks {want}: {etc:?}",
                v.name()
            );
        }
        for bad in [
            "shadow",
            "gshadow",
            "sudoers",
            "ssh",
            "machine-id",
            "hostname",
        ] {
            assert!(
                !etc.contains(&bad),
                "[{}] /etc exposes {bad}: {etc:?}",
                v.name()
            );
        }
        let passwd = env.probe_default(v, &["read", "/etc/passwd"]);
        let (uid, gid) = v.inner_ids();
        assert!(
            s(&passwd, "data")
                .lines()
                .any(|l| l.split(':').nth(2) == Some(&uid.to_string())
                    && l.split(':').nth(3) == Some(&gid.to_string())),
            "[{}] /etc/passwd has no entry for {uid}:{gid}: {passwd}",
            v.name()
        );
        assert!(
            !s(&passwd, "data").lines().any(|l| l.starts_with("_apt:")),
            "[{}] host passwd leaked: {passwd}",
            v.name()
        );
        let dev = env.probe_default(v, &["ls", "/dev"]);
        let dev: Vec<&str> = dev["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for want in [
            "null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm",
        ] {
            assert!(
                dev.contains(&want),
                "[{}] /dev lacks {want}: {dev:?}",
                v.name()
            );
        }
        for d in &dev {
            let bad = [
                "mem", "kmem", "port", "kmsg", "sd", "vd", "nvme", "loop", "dm-", "fuse",
            ]
            .iter()
            .any(|b| d.starts_with(b));
            assert!(!bad, "[{}] /dev exposes host device {d}: {dev:?}", v.name());
        }
        let proc_ = env.probe_default(v, &["ls", "/proc"]);
        let proc_: Vec<&str> = proc_["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for bad in ["sys", "kcore", "sysrq-trigger", "kallsyms", "keys"] {
            assert!(
                !proc_.contains(&bad),
                "[{}] /proc exposes {bad}: {proc_:?}",
                v.name()
            );
        }
    });
}

/// Every mount the jail sees under /usr (and the root) is ro,nosuid,nodev: flags re-applied to
/// each submount.
#[test]
fn usr_mounts_are_ro_nosuid_nodev() {
    each_variant("usr_mounts_are_ro_nosuid_nodev", |env, v| {
        let mi = env.probe_default(v, &["read", "/proc/self/mountinfo"]);
        assert_ok(&mi, true, "read mountinfo");
        let mut seen_usr = false;
        for line in s(&mi, "data").lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let (mp, opts) = (f[4], f[5]);
            let opts: Vec<&str> = opts.split(',').collect();
            if mp == "/usr" || mp.starts_with("/usr/") || mp == "/" {
                seen_usr |= mp == "/usr";
                assert!(opts.contains(&"ro"), "[{}] {mp} not ro: {line}", v.name());
            }
            if mp == "/usr" || mp.starts_with("/usr/") {
                for want in ["nosuid", "nodev"] {
                    assert!(
                        opts.contains(&want),
                        "[{}] {mp} lacks {want}: {line}",
                        v.name()
                    );
                }
            }
        }
        assert!(
            seen_usr,
            "[{}] no /usr mount in: {}",
            v.name(),
            s(&mi, "data")
        );
    });
}

/// A read-only bind of a host directory with a writable submount: the submount must be
/// read-only inside too (bind mounts do not propagate flags by themselves).
#[test]
fn ro_bind_submounts_are_read_only() {
    if !is_root() {
        skip(
            "ro_bind_submounts_are_read_only",
            "needs root to mount on the host",
        );
        return;
    }
    each_variant("ro_bind_submounts_are_read_only", |env, v| {
        let ro = env.work_dir("ro", v);
        let sub = ro.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "mode=0777", "ipt-sub"])
            .arg(&sub)
            .status()
            .expect("run mount(8)");
        assert!(st.success(), "mount tmpfs on {}", sub.display());
        struct Unmount(std::path::PathBuf);
        impl Drop for Unmount {
            fn drop(&mut self) {
                let _ = std::process::Command::new("umount").arg(&self.0).status();
            }
        }
        let guard = Unmount(sub.clone());
        let ro_s = ro.to_string_lossy().into_owned();
        let r = env.probe_in(v, &["--ro-bind", &ro_s, "/ro"], &["write", "/ro/sub/x"]);
        assert_ok(
            &r,
            false,
            &format!("[{}] write into submount of --ro-bind", v.name()),
        );
        assert!(!sub.join("x").exists());
        drop(guard);
    });
}

#[test]
fn mount_fails() {
    each_variant("mount_fails", |env, v| {
        assert_denied_all_layers(env, v, &[], &["mount"]);
    });
}

/// Even with every capability in a nested user namespace, the jail's read-only mounts are locked.
#[test]
fn nested_userns_cannot_make_mounts_writable() {
    each_variant("nested_userns_cannot_make_mounts_writable", |env, v| {
        for path in ["/usr", "/etc", "/"] {
            assert_denied_all_layers(env, v, &[], &["nested-remount", path]);
        }
    });
}

#[test]
fn chroot_escape_fails() {
    each_variant("chroot_escape_fails", |env, v| {
        assert!(
            env.marker.exists(),
            "control: the host marker exists on the host"
        );
        let marker = env.marker.to_string_lossy().into_owned();
        for variant in ["nested", "fchdir"] {
            for (layer, r) in env.probe_layers(v, &[], &["chroot-escape", &marker, variant]) {
                assert_ok(&r, false, &format!("[{layer}] chroot escape ({variant})"));
                assert_eq!(r["escaped"], Value::Bool(false), "{r}");
            }
        }
    });
}

#[test]
fn open_by_handle_at_fails() {
    each_variant("open_by_handle_at_fails", |env, v| {
        // A handle to a host file, computed on the host (the "shocker" attack passes it in).
        let h = host_probe(
            env,
            Variant::Root,
            &["handle", &env.marker.to_string_lossy()],
        );
        let hv = h.json_line();
        let mut handles = vec![];
        if hv["ok"] == Value::Bool(true) {
            handles.push(s(&hv, "handle").to_string());
        } else {
            eprintln!("note: no host handle for the marker: {hv}");
        }
        for handle in &handles {
            assert_denied_all_layers(env, v, &[], &["open-by-handle", handle, "/"]);
        }
        assert_denied_all_layers(env, v, &[], &["open-by-handle", "/etc/passwd"]);
    });
}

#[test]
fn proc_sys_not_writable() {
    each_variant("proc_sys_not_writable", |env, v| {
        let before = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
        for path in [
            "/proc/sys/kernel/core_pattern",
            "/proc/sys/kernel/hostname",
            "/proc/sys/vm/drop_caches",
            "/proc/sysrq-trigger",
        ] {
            assert_denied_all_layers(env, v, &[], &["write", path]);
        }
        let after = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
        assert_eq!(before, after, "host core_pattern changed");
    });
}

#[test]
fn mknod_fails() {
    each_variant("mknod_fails", |env, v| {
        for path in ["/tmp/null", "/dev/shm/mem"] {
            assert_denied_all_layers(env, v, &[], &["mknod", path, "1", "3"]);
        }
        assert_denied_all_layers(env, v, &[], &["mknod", "/tmp/sda", "8", "0"]);
        // Control: an ordinary FIFO is fine.
        let r = env.probe_default(v, &["mkfifo", "/tmp/fifo"]);
        assert_ok(&r, true, &format!("[{}] mkfifo /tmp/fifo", v.name()));
    });
}

#[test]
fn dev_nodes_behave() {
    each_variant("dev_nodes_behave", |env, v| {
        let r = env.probe_default(v, &["write", "/dev/null"]);
        assert_ok(&r, true, "write /dev/null");
        let r = env.probe_default(v, &["write", "/dev/full"]);
        assert_ok(&r, false, "write /dev/full");
        assert_eq!(r["errno"], Value::from(28), "ENOSPC from /dev/full: {r}");
        let r = env.probe_default(v, &["stat", "/dev/null"]);
        assert_eq!(r["rdev"], Value::from(0x103), "/dev/null is 1:3: {r}");
    });
}

#[test]
fn tmpfs_symlink_and_chdir_options() {
    each_variant("tmpfs_symlink_and_chdir_options", |env, v| {
        let opts = [
            "--tmpfs",
            "/scratch",
            "--symlink",
            "/tmp",
            "/lnk",
            "--chdir",
            "/scratch",
        ];
        let st = env.probe_in(v, &opts, &["status"]);
        assert_eq!(s(&st, "cwd"), "/scratch", "[{}] {st}", v.name());
        let r = env.probe_in(v, &opts, &["readlink", "/lnk"]);
        assert_eq!(s(&r, "link"), "/tmp", "[{}] {r}", v.name());
        let r = env.probe_in(v, &opts, &["write", "/scratch/x"]);
        assert_ok(&r, true, &format!("[{}] write /scratch/x", v.name()));
    });
}

#[test]
fn dev_bind_keeps_device_nodes_usable() {
    each_variant("dev_bind_keeps_device_nodes_usable", |env, v| {
        // Not under /tmp: O_CREAT on another user's device node in a sticky directory is
        // refused by the kernel (may_create_in_sticky), whatever the mount flags.
        let r = env.probe_in(
            v,
            &["--dev-bind", "/dev/null", "/devnull"],
            &["write", "/devnull"],
        );
        assert_ok(
            &r,
            true,
            &format!("[{}] write to a --dev-bind of /dev/null", v.name()),
        );
        // The same node through a plain --bind is nodev: opening it fails.
        let r = env.probe_in(
            v,
            &["--bind", "/dev/null", "/devnull"],
            &["write", "/devnull"],
        );
        assert_ok(
            &r,
            false,
            &format!("[{}] write to a nodev --bind of /dev/null", v.name()),
        );
    });
}

/// /tmp and HOME are private to each run: nothing persists from one jail to the next, and the
/// host's /tmp (where this test's marker lives) is not visible.
#[test]
fn tmp_and_home_are_fresh_and_private() {
    each_variant("tmp_and_home_are_fresh_and_private", |env, v| {
        let st = env.probe_default(v, &["status"]);
        let home = st["env"]["HOME"].as_str().expect("HOME is set").to_string();
        for dir in ["/tmp", home.as_str()] {
            let file = format!("{dir}/persist");
            assert_ok(
                &env.probe_default(v, &["write", &file]),
                true,
                &format!("write {file}"),
            );
            let r = env.probe_default(v, &["stat", &file]);
            assert_ok(
                &r,
                false,
                &format!("[{}] {file} survived into the next jail", v.name()),
            );
        }
        let r = env.probe_default(v, &["stat", &env.marker.to_string_lossy()]);
        assert_ok(&r, false, &format!("[{}] host /tmp visible", v.name()));
        let r = env.probe_default(v, &["ls", "/tmp"]);
        assert_eq!(
            r["entries"],
            serde_json::json!([]),
            "[{}] a fresh jail's /tmp is empty",
            v.name()
        );
    });
}

/// pivot_root happened and the old root is detached: none of the host's other mount points
/// (/sys, /run, /work, ...) exists in the jail's mount table.
#[test]
fn old_root_is_detached() {
    each_variant("old_root_is_detached", |env, v| {
        let shared = ["/usr", "/dev", "/proc", "/tmp", "/etc", "/home", "/root"];
        let is_shared = |mp: &str| {
            mp == "/"
                || shared
                    .iter()
                    .any(|p| mp == *p || mp.starts_with(&format!("{p}/")))
        };
        let host: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .expect("host mountinfo")
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .filter(|mp| !is_shared(mp))
            .collect();
        let mi = env.probe_default(v, &["read", "/proc/self/mountinfo"]);
        let inner: Vec<&str> = s(&mi, "data")
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .collect();
        let inner_bin = env.inner_bin();
        for mp in &inner {
            assert!(
                !host.iter().any(|h| h == mp),
                "[{}] host mount point {mp} present in the jail: {inner:?}",
                v.name()
            );
            assert!(
                is_shared(mp) || *mp == inner_bin,
                "[{}] unexpected mount point {mp} in the default jail: {inner:?}",
                v.name()
            );
        }
    });
}
