//! End-to-end: the network. The default jail has its own network namespace with loopback up
//! and nothing else; a listener on the host's loopback is unreachable from inside.

mod common;

use std::net::TcpListener;

use common::*;

#[test]
fn loopback_is_up_inside() {
    each_variant("loopback_is_up_inside", |env, v| {
        let r = env.probe_default(v, &["loopback"]);
        assert_ok(&r, true, &format!("[{}] loopback inside", v.name()));
    });
}

#[test]
fn host_loopback_listener_is_unreachable() {
    each_variant("host_loopback_listener_unreachable", |env, v| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind host listener");
        let target = listener.local_addr().expect("local addr").to_string();
        let r = env.probe_default(v, &["connect", &target]);
        assert_ok(
            &r,
            false,
            &format!("[{}] connect to host {target}", v.name()),
        );
        // Control: with the host network shared, the same connection works, so the probe and
        // the listener are fine and the default jail is what blocks it.
        let r = env.probe_in(v, &["--share-net"], &["connect", &target]);
        assert_ok(
            &r,
            true,
            &format!("[{}] --share-net connect to host {target}", v.name()),
        );
        drop(listener);
    });
}

#[test]
fn only_loopback_interface() {
    each_variant("only_loopback_interface", |env, v| {
        let r = env.probe_default(v, &["read", "/proc/self/net/dev"]);
        assert_ok(&r, true, "read /proc/self/net/dev");
        let ifaces: Vec<&str> = s(&r, "data")
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(str::trim)
            .collect();
        assert_eq!(ifaces, vec!["lo"], "[{}] interfaces inside: {r}", v.name());
    });
}

/// Landlock ABI of the running kernel (0 without Landlock), asked through the probe.
fn landlock_abi(env: &TestEnv) -> i64 {
    // landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
    let out = host_probe(env, Variant::Root, &["syscall", "444", "0", "0", "1"]);
    let r = out.json_line();
    r["ret"].as_i64().unwrap_or(0)
}

/// Abstract unix sockets (the X11/D-Bus kind) live in the network namespace, so a host one is
/// unreachable from a default jail. With `--share-net` the network namespace is the host's, and
/// Landlock's abstract-socket scoping (ABI 6+) still keeps the jail out; only with Landlock off
/// as well does the connection work (the control: the probe and the listener are fine).
#[test]
fn host_abstract_unix_socket_is_unreachable() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener};
    each_variant("host_abstract_unix_socket_unreachable", |env, v| {
        let name = format!("{}-abstract", env.id);
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("abstract name");
        let listener = UnixListener::bind_addr(&addr).expect("bind abstract socket");
        let target = format!("@{name}");
        let r = env.probe_default(v, &["connect-unix", &target]);
        assert_ok(
            &r,
            false,
            &format!("[{}] connect to host {target}", v.name()),
        );
        if landlock_abi(env) >= 6 {
            let r = env.probe_in(v, &["--share-net"], &["connect-unix", &target]);
            assert_ok(
                &r,
                false,
                &format!(
                    "[{}] --share-net (Landlock scope) connect to {target}",
                    v.name()
                ),
            );
        } else {
            skip(
                "host_abstract_unix_socket_unreachable (--share-net part)",
                "Landlock ABI < 6: no abstract unix socket scoping",
            );
        }
        let r = env.probe_in(
            v,
            &["--share-net", "--landlock", "off"],
            &["connect-unix", &target],
        );
        assert_ok(
            &r,
            true,
            &format!(
                "[{}] control: --share-net --landlock off connect to {target}",
                v.name()
            ),
        );
        drop(listener);
    });
}

/// A unix socket on the host file system (outside the jail's view) cannot be reached by path.
#[test]
fn host_path_unix_socket_is_unreachable() {
    use std::os::unix::net::UnixListener;
    each_variant("host_path_unix_socket_unreachable", |env, v| {
        let path = env.dir.join("host.sock");
        let listener = UnixListener::bind(&path).expect("bind unix socket");
        set_mode(&path, 0o777);
        let r = env.probe_default(v, &["connect-unix", &path.to_string_lossy()]);
        assert_ok(
            &r,
            false,
            &format!("[{}] connect to host {}", v.name(), path.display()),
        );
        drop(listener);
    });
}

/// The jail's init creates the network namespace after forking the program's process (the two
/// set up in parallel), and the program joins it before it drops its capabilities. Seen from
/// the host: both are in one network namespace, and it is not the host's.
#[test]
fn init_and_program_share_the_jails_network_namespace() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    if !is_root() {
        skip(
            "init_and_program_share_the_jails_network_namespace",
            "reading a non-dumpable process's /proc/PID/ns needs root",
        );
        return;
    }
    each_variant("init_and_program_netns", |env, v| {
        let mut c = env.ironpen_cmd(v, &[], &["sleep", "30"]);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        let guard = ChildGuard(c.spawn().expect("spawn ironpen"));
        let child_of = |pid: u32| -> Option<u32> {
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        };
        let netns = |pid: u32| std::fs::read_link(format!("/proc/{pid}/ns/net")).ok();
        // ironpen -> init -> the program's process, once it runs `sleep`.
        let deadline = Instant::now() + Duration::from_secs(10);
        let (init, program) = loop {
            let found = child_of(guard.pid()).and_then(|i| child_of(i).map(|p| (i, p)));
            if let Some((i, p)) = found {
                let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
                if comm.trim() == "sleep" {
                    break (i, p);
                }
            }
            assert!(Instant::now() < deadline, "[{}] no jailed sleep", v.name());
            std::thread::sleep(Duration::from_millis(10));
        };
        let (host, init_ns, program_ns) = (netns(std::process::id()), netns(init), netns(program));
        assert!(init_ns.is_some(), "[{}] init's netns unreadable", v.name());
        assert_eq!(init_ns, program_ns, "[{}] init vs program", v.name());
        assert_ne!(
            host,
            program_ns,
            "[{}] program in the host's netns",
            v.name()
        );
        drop(guard);
        env.assert_clean();
    });
}

/// The jail's own host name resolves, to loopback (127.0.1.1), with a private network and with
/// the host's: `hostname -i`, Python's `gethostbyname(gethostname())` and Java's
/// `getLocalHost` fail without it.
#[test]
fn own_hostname_resolves() {
    each_variant("own_hostname_resolves", |env, v| {
        let cases: [&[&str]; 3] = [
            &[],
            &["--hostname", "build-7"],
            &["--share-net", "--hostname", "build-7"],
        ];
        for opts in cases {
            let out = env.run(v, opts, &["/bin/sh", "-c", "getent hosts \"$(hostname)\""]);
            assert_eq!(
                out.code,
                Some(0),
                "[{}] {opts:?}: getent hosts $(hostname): {}{}",
                v.name(),
                out.stdout,
                out.stderr
            );
            let want = format!("127.0.1.1 {}", opts.last().copied().unwrap_or("ironpen"));
            let got = out.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(got, want, "[{}] {opts:?}", v.name());
        }
    });
}
