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
