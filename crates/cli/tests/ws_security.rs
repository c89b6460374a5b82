//! Workspaces against overlay privilege bugs, as root and as uid 65534: whatever the jail does in
//! its workspace (delete everything, set setuid bits and file capabilities on copied-up and new
//! files), the base is byte-for-byte unchanged, the layer on the host holds nothing that grants
//! privilege (no setuid-root file, no capability valid outside the jail's own user namespace),
//! and a later jail on the same workspace gains nothing from them either.

mod ws_common;

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use ws_common::*;

/// A base with a file, a directory and a copy of `cat` (owned by the jail's host uid, so a
/// root-started jail may chmod it), plus, as root, a setuid-root file owned by host root.
fn make_base(env: &Env) -> std::path::PathBuf {
    let base = env.dir_for("base");
    fs::write(base.join("f"), "orig\n").unwrap();
    fs::create_dir(base.join("d")).unwrap();
    fs::write(base.join("d/g"), "inner\n").unwrap();
    fs::copy("/usr/bin/cat", base.join("cat")).unwrap();
    fs::set_permissions(base.join("cat"), fs::Permissions::from_mode(0o755)).unwrap();
    if is_root() {
        for p in ["f", "d", "d/g", "cat"] {
            std::os::unix::fs::lchown(base.join(p), Some(65534), Some(65534)).unwrap();
        }
        fs::copy("/usr/bin/cat", base.join("suidroot")).unwrap();
        fs::set_permissions(base.join("suidroot"), fs::Permissions::from_mode(0o4755)).unwrap();
    }
    base
}

fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    match rustix::fs::lgetxattr(p, name, &mut buf[..]) {
        Ok(n) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

#[test]
fn privileges_set_in_a_workspace_grant_nothing_and_the_base_is_never_modified() {
    privileges_grant_nothing(Driver::Kernel);
}

/// The same on the fuse-overlayfs driver, whose daemon (as root, for a root caller) writes the
/// layer: it must not store what the kernel would have namespaced.
#[test]
fn on_the_fuse_driver_privileges_set_in_a_workspace_grant_nothing_either() {
    privileges_grant_nothing(Driver::Fuse);
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Driver {
    Kernel,
    Fuse,
}

/// Is this upper entry fuse-overlayfs bookkeeping (a 0:0 whiteout device, an empty `.wh.*`
/// file), which its root daemon creates as root? Such entries carry no permission bits that
/// matter and no content.
fn fuse_marker(p: &Path, md: &fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    (md.file_type().is_char_device() && md.rdev() == 0)
        || (md.is_file()
            && md.len() == 0
            && p.file_name()
                .is_some_and(|n| n.as_encoded_bytes().starts_with(b".wh.")))
}

fn privileges_grant_nothing(driver: Driver) {
    for who in whos() {
        if driver == Driver::Fuse && !dev_fuse_usable(who) {
            eprintln!("NOTE {who:?}: /dev/fuse is not accessible; fuse driver not exercised (ws_fuse.rs checks the refusal)");
            continue;
        }
        let driver_args: &[&str] = match driver {
            Driver::Kernel => &["--overlay-driver", "kernel"],
            Driver::Fuse => &["--overlay-driver", "fuse"],
        };
        let env = Env::new();
        let base = make_base(&env);
        let before = fingerprint(&base);
        let script = "set +e; chmod u+s cat; cp cat cat2; chmod 4755 cat2; \
                      setcap cap_setuid,cap_net_raw+ep cat2 2>/dev/null; \
                      chmod u+s suidroot 2>/dev/null; echo x >> suidroot 2>/dev/null; \
                      touch -a suidroot 2>/dev/null; chown 1:1 cat 2>/dev/null; \
                      rm -rf d f; ls -A; true";
        let out = ok(&env.run_in(
            who,
            "w",
            &base,
            &[
                driver_args,
                &[
                    "--cap-add",
                    "setfcap",
                    "--cap-add",
                    "fowner",
                    "--cap-add",
                    "chown",
                    "--cap-add",
                    "dac_override",
                ],
            ]
            .concat(),
            script,
        ));
        let listing: Vec<&str> = out.lines().collect();
        assert!(
            !listing.contains(&"f") && !listing.contains(&"d"),
            "{who:?}: {out}"
        );
        assert_eq!(
            fingerprint(&base),
            before,
            "{who:?}: the run modified the base"
        );

        // The diff sees the deletions as whiteouts.
        let diff = ok(&env.ws(who, &["diff", "w"]));
        let deleted = format!("D  {}/f", base.display());
        assert!(diff.lines().any(|l| l == deleted), "{who:?}: {diff}");

        // The layer as the host sees it.
        let upper = env.ws_root(who).join("w/layers/0/upper");
        let jail_host_uid = 65534;
        let mut saw_cap = false;
        let mut saw_suid = false;
        for ent in fs::read_dir(&upper).unwrap() {
            let p = ent.unwrap().path();
            let md = fs::symlink_metadata(&p).unwrap();
            if md.mode() & 0o6000 != 0 && md.is_file() {
                saw_suid = true;
                assert_eq!(
                    md.uid(),
                    jail_host_uid,
                    "{who:?}: setuid file {p:?} owned by {}",
                    md.uid()
                );
            }
            if !(driver == Driver::Fuse && fuse_marker(&p, &md)) {
                assert_ne!(md.uid(), 0, "{who:?}: {p:?} owned by host root");
            }
            if let Some(cap) = xattr(&p, "security.capability") {
                saw_cap = true;
                // VFS_CAP_REVISION_3 (24 bytes) with the namespace root's host uid: never a
                // v2 capability, never one valid for host root.
                assert_eq!(
                    cap.len(),
                    24,
                    "{who:?}: {p:?} has a non-namespaced capability"
                );
                let rootid = u32::from_le_bytes(cap[20..24].try_into().unwrap());
                assert_eq!(rootid, jail_host_uid, "{who:?}: {p:?} capability rootid");
            }
        }
        assert!(
            saw_suid,
            "{who:?}: the jail could not even set a setuid bit (test is void)"
        );
        if who == Who::Caller && is_root() && driver == Driver::Kernel {
            assert!(
                saw_cap,
                "root-started jail with setfcap should have set a namespaced cap"
            );
        }

        // A later jail on the same workspace: the setuid and cap-carrying copies run without
        // any privilege (nosuid overlay, no_new_privs).
        let out = ok(&env.run_in(
            who,
            "w",
            &base,
            driver_args,
            "./cat2 /proc/self/status | grep -E '^(Uid|CapPrm|CapEff)'; ./cat /proc/self/status | grep -E '^(Uid|CapEff)'",
        ));
        for l in out.lines() {
            if l.starts_with("Cap") {
                assert!(l.ends_with("0000000000000000"), "{who:?}: {l}");
            } else {
                let ids: Vec<&str> = l.split_whitespace().skip(1).collect();
                assert!(
                    ids.iter().all(|i| *i == ids[0]),
                    "{who:?}: setuid took effect: {l}"
                );
            }
        }
        assert_eq!(out.lines().count(), 5, "{who:?}: {out}");
        assert_eq!(
            fingerprint(&base),
            before,
            "{who:?}: the second run modified the base"
        );
    }
}

#[test]
fn a_busy_workspace_names_its_holder_and_the_run_fails_clearly_without_overlapping_layers() {
    let env = Env::new();
    let base = env.dir_for("base");
    let who = Who::Caller;
    let wsdir = env.ws_root(who).join("busy");
    let mut holder = env
        .command(
            who,
            &[
                "run",
                "--workspace",
                "busy",
                "--workspace-dir",
                wsdir.to_str().unwrap(),
                "--base",
                base.to_str().unwrap(),
                "--",
                "sleep",
                "3",
            ],
        )
        .spawn()
        .unwrap();
    let lock = wsdir.join("lock");
    let t0 = std::time::Instant::now();
    while fs::read_to_string(&lock)
        .map(|s| s.trim().is_empty())
        .unwrap_or(true)
    {
        assert!(t0.elapsed().as_secs() < 10);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = env.run_in(who, "busy", &base, &[], "true");
    assert_eq!(second.status.code(), Some(125));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!("in use by pid {}", holder.id())),
        "{err}"
    );
    let diff = env.ws(who, &["diff", "busy"]);
    assert!(String::from_utf8_lossy(&diff.stderr).contains("in use by pid"));
    // --wait waits for the holder instead.
    let waited = env.ws(who, &["--wait", "diff", "busy"]);
    ok(&waited);
    assert!(holder.wait().unwrap().success());

    // The workspace inside its own base would make the overlay's layers overlap.
    let inner = base.join("ws");
    let o = env.run(
        who,
        &[
            "run",
            "--workspace",
            "x",
            "--workspace-dir",
            inner.to_str().unwrap(),
            "--base",
            base.to_str().unwrap(),
            "--",
            "true",
        ],
    );
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).contains("overlaps the workspace directory"));
}
