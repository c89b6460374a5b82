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
