//! `ws export` and `ws apply`, as root and as uid 65534: export writes deletions as OCI
//! whiteouts; apply lists first and changes nothing with --dry-run, then merges the changes into
//! the base with setuid bits stripped and file capabilities left behind.

mod ws_common;

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::process::Command;

use ws_common::*;

#[test]
fn export_then_dry_run_then_apply() {
    for who in whos() {
        let env = Env::new();
        let base = env.dir_for("base");
        fs::write(base.join("keep"), "same\n").unwrap();
        fs::write(base.join("edit"), "one\n").unwrap();
        fs::write(base.join("gone"), "bye\n").unwrap();
        fs::create_dir(base.join("old")).unwrap();
        fs::write(base.join("old/inner"), "x\n").unwrap();
        if is_root() {
            for p in ["keep", "edit", "gone", "old", "old/inner"] {
                std::os::unix::fs::lchown(base.join(p), Some(65534), Some(65534)).unwrap();
            }
        }
        let script = "echo two >> edit; rm gone; rm -r old; mkdir old; echo fresh > old/new; \
                      echo '#!/bin/sh' > tool; chmod 4755 tool; ln -s /etc/shadow evil; \
                      mkdir -p a/b; echo deep > a/b/c";
        ok(&env.run_in(who, "ap", &base, &[], script));
        let before = fingerprint(&base);

        // Export: whiteouts for deletions, an opaque marker for the replaced directory.
        let tarfile = env.ws_root(who).join("changes.tar");
        ok(&env.ws(who, &["export", "ap", tarfile.to_str().unwrap()]));
        let list = Command::new("tar")
            .arg("tf")
            .arg(&tarfile)
            .output()
            .unwrap();
        let list = String::from_utf8_lossy(&list.stdout).into_owned();
        let rel = base.strip_prefix("/").unwrap().display().to_string();
        for want in [
            "edit",
            ".wh.gone",
            "old/.wh..wh..opq",
            "old/new",
            "tool",
            "evil",
            "a/b/c",
        ] {
            assert!(
                list.lines()
                    .any(|l| l.trim_end_matches('/') == format!("{rel}/{want}")),
                "{who:?}: {want} not in\n{list}"
            );
        }
        assert!(!list.contains("keep"), "{who:?}: unchanged file exported");

        // Dry run: the listing, and nothing changes.
        let dry = ok(&env.ws(who, &["apply", "--dry-run", "ap"]));
        let b = base.display();
        assert!(dry.contains(&format!("would delete {b}/gone")), "{dry}");
        assert!(
            dry.contains(&format!("would write {b}/tool (setuid/setgid stripped)")),
            "{dry}"
        );
        assert!(
            fingerprint(&base) == before,
            "{who:?}: --dry-run changed the base"
        );

        let applied = ok(&env.ws(who, &["apply", "ap"]));
        assert!(applied.contains("applied"), "{applied}");
        assert_eq!(fs::read_to_string(base.join("edit")).unwrap(), "one\ntwo\n");
        assert!(!base.join("gone").exists());
        assert!(!base.join("old/inner").exists());
        assert_eq!(fs::read_to_string(base.join("old/new")).unwrap(), "fresh\n");
        assert_eq!(fs::read_to_string(base.join("a/b/c")).unwrap(), "deep\n");
        assert_eq!(
            fs::read_link(base.join("evil")).unwrap(),
            std::path::Path::new("/etc/shadow")
        );
        let tool = fs::metadata(base.join("tool")).unwrap();
        assert_eq!(
            tool.permissions().mode() & 0o7777,
            0o755,
            "{who:?}: setuid bit applied"
        );
        // Applied entries belong to the base directory's owner, never to host root.
        assert_eq!(tool.uid(), fs::metadata(&base).unwrap().uid());
        // The jail sees the same content through the workspace.
        let seen = ok(&env.run_in(
            who,
            "ap",
            &base,
            &[],
            "cat edit old/new; test -e gone || echo no-gone",
        ));
        assert_eq!(seen, "one\ntwo\nfresh\nno-gone\n");
    }
}

/// Defense in depth: while `ws apply` writes into the base, another process keeps swapping a
/// base directory with a symlink to a directory outside the base (`renameat2(RENAME_EXCHANGE)`
/// in a loop). Apply may fail (it refuses to walk through a symlink) but never writes outside.
#[test]
fn apply_never_writes_through_a_symlink_swapped_into_the_base() {
    let env = Env::new();
    let who = Who::Caller;
    let base = env.dir_for("base");
    let outside = env.dir_for("outside");
    fs::create_dir(base.join("a")).unwrap();
    if is_root() {
        std::os::unix::fs::lchown(base.join("a"), Some(65534), Some(65534)).unwrap();
    }
    ok(&env.run_in(
        who,
        "race",
        &base,
        &[],
        "i=0; while [ $i -lt 300 ]; do echo $i > a/f$i; i=$((i+1)); done; mkdir a/sub; echo x > a/sub/x",
    ));
    std::os::unix::fs::symlink(&outside, base.join("a_link")).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let racer = {
        let (stop, base) = (stop.clone(), base.clone());
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            // Apply may legitimately replace what it saw as a symlink: then one side is missing
            // for a moment and the swap fails; keep going.
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if rustix::fs::renameat_with(
                    rustix::fs::CWD,
                    base.join("a"),
                    rustix::fs::CWD,
                    base.join("a_link"),
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .is_ok()
                {
                    swaps += 1;
                }
            }
            swaps
        })
    };
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        let o = env.ws(who, &["apply", "race"]);
        outcomes.push((
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .map(String::from),
        ));
        assert!(matches!(o.status.code(), Some(0) | Some(125)), "{o:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = racer.join().unwrap();
    assert!(swaps > 100, "the racer barely ran ({swaps} swaps)");
    let leaked: Vec<_> = fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        leaked.is_empty(),
        "apply wrote outside the base: {leaked:?} (outcomes {outcomes:?})"
    );
    println!("{swaps} swaps, apply outcomes {outcomes:?}");
}
