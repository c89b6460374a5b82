//! A policy file drives a real jail: a probe inside confirms each grant and each denial (rw path
//! writable, ro path not, a masked directory empty, environment and rlimit applied, network
//! private unless the boolean turns it on, @compute's socket denial), and that command-line
//! flags are the last layer. As root and as uid 65534 (binaries copied to a 0755 directory).

#[path = "common/bin.rs"]
mod bin;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    /// ironpen in a 0755 directory; host dirs `rw` (writable by anyone: the jail's host uid is
    /// 65534) and `ro` with a file and a `secret` subdirectory; the policy file.
    fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("ironpen-policy-e2e-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let mode =
            |p: &Path, m| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        mode(d, 0o755);
        let bin = d.join("ironpen");
        std::fs::copy(bin::ironpen(), &bin).unwrap();
        mode(&bin, 0o755);
        std::fs::create_dir_all(d.join("ro/secret")).unwrap();
        std::fs::write(d.join("ro/visible"), "seen\n").unwrap();
        std::fs::write(d.join("ro/secret/key"), "hidden\n").unwrap();
        for p in ["ro", "ro/secret"] {
            mode(&d.join(p), 0o755);
        }
        mode(&d.join("ro/visible"), 0o644);
        mode(&d.join("ro/secret/key"), 0o644);
        std::fs::create_dir(d.join("rw")).unwrap();
        mode(&d.join("rw"), 0o777);
        let policy = format!(
            "include = [\"@default\"]\n\
             [filesystem]\nrw = [\"{d}/rw:/data\"]\nro = [\"{d}/ro:/in\"]\nmasks = [\"/in/secret\"]\n\
             [environment]\nset = {{ GREETING = \"from-policy\" }}\n\
             [limits.rlimits]\nnofile = 64\n",
            d = d.display()
        );
        std::fs::write(d.join("p.toml"), policy).unwrap();
        mode(&d.join("p.toml"), 0o644);
        Fixture { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str], as_nobody: bool) -> Output {
        let mut cmd = Command::new(self.path().join("ironpen"));
        cmd.args(args)
            .current_dir(self.path())
            .env("HOME", "/nonexistent");
        if as_nobody {
            cmd.uid(65534).gid(65534);
        }
        cmd.output().expect("spawn ironpen")
    }
}

const PROBE: &str = "echo x > /data/out && echo RW=ok; \
    (echo y > /in/new) 2>/dev/null && echo RO=writable || echo RO=denied; \
    cat /in/visible; echo MASKED=$(ls -A /in/secret | wc -l); \
    echo ENV=$GREETING; echo NOFILE=$(ulimit -n); \
    echo IFACES=$(grep -c : /proc/self/net/dev)";

fn probe(f: &Fixture, extra: &[&str], as_nobody: bool) -> String {
    let mut args = vec!["run", "--policy", "p.toml"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sh", "-c", PROBE]);
    let o = f.run(&args, as_nobody);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{args:?} as_nobody={as_nobody}: {:?}\n{out}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn check_grants_and_denials(as_nobody: bool) {
    let f = Fixture::new();
    let out = probe(&f, &[], as_nobody);
    assert_eq!(
        out, "RW=ok\nRO=denied\nseen\nMASKED=0\nENV=from-policy\nNOFILE=64\nIFACES=1\n",
        "as_nobody={as_nobody}"
    );
    // The write through the rw grant reached the host; nothing appeared under ro.
    assert_eq!(
        std::fs::read_to_string(f.path().join("rw/out")).unwrap(),
        "x\n"
    );
    assert!(!f.path().join("ro/new").exists());
    // Without the mask the secret is visible: the mask (not permissions) hid it.
    let unmasked = std::fs::read_to_string(f.path().join("p.toml"))
        .unwrap()
        .replace("masks = [\"/in/secret\"]\n", "");
    std::fs::write(f.path().join("p.toml"), unmasked).unwrap();
    // Command-line flags are the last layer: --setenv overrides the policy, --share-net adds.
    let out = probe(
        &f,
        &["--setenv", "GREETING=from-cli", "--rlimit", "nofile=32"],
        as_nobody,
    );
    assert!(out.contains("MASKED=1\nENV=from-cli\nNOFILE=32\n"), "{out}");
    let host_ifaces = std::fs::read_to_string("/proc/net/dev")
        .unwrap()
        .matches(':')
        .count();
    if host_ifaces > 1 {
        let out = probe(&f, &["--set", "network=true"], as_nobody);
        assert!(out.ends_with(&format!("IFACES={host_ifaces}\n")), "{out}");
    }
}

#[test]
fn policy_drives_the_jail_as_root() {
    if !rustix::process::getuid().is_root() {
        eprintln!("SKIP: needs root (the uid 65534 variant runs from root too)");
        return;
    }
    check_grants_and_denials(false);
}

#[test]
fn policy_drives_the_jail_as_nobody() {
    if !rustix::process::getuid().is_root() {
        eprintln!("SKIP: needs root to become uid 65534");
        return;
    }
    check_grants_and_denials(true);
}

#[test]
fn compute_profile_denies_sockets() {
    let python = PathBuf::from("/usr/bin/python3");
    if !python.exists() {
        eprintln!("SKIP: /usr/bin/python3 missing");
        return;
    }
    let f = Fixture::new();
    let code = "import socket\ntry:\n    socket.socket()\n    print('socket ok')\nexcept PermissionError as e:\n    print('socket', e.errno)";
    let run = |p: &str| {
        let o = f.run(
            &["run", "-p", p, "--", "/usr/bin/python3", "-c", code],
            false,
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(run("@default"), "socket ok\n");
    assert_eq!(run("@compute"), "socket 1\n");
}

/// `network.tcp_bind` reaches Landlock: the listed port binds, another does not (EACCES), and
/// `--allow-bind` on the command line adds a port.
#[test]
fn tcp_bind_ports_from_the_policy() {
    if !Path::new("/usr/bin/python3").exists() {
        eprintln!("SKIP: /usr/bin/python3 missing");
        return;
    }
    let f = Fixture::new();
    std::fs::write(
        f.path().join("ports.toml"),
        "include = [\"@default\"]\n[network]\ntcp_bind = [8080]\n",
    )
    .unwrap();
    let code = "import socket\nfor p in (8080, 8081):\n    s = socket.socket()\n    try:\n        s.bind(('127.0.0.1', p))\n        print(p, 'ok')\n    except OSError as e:\n        print(p, e.errno)";
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "-p", "ports.toml"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "/usr/bin/python3", "-c", code]);
        let o = f.run(&args, false);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(run(&[]), "8080 ok\n8081 13\n");
    assert_eq!(run(&["--allow-bind", "8081"]), "8080 ok\n8081 ok\n");
}
