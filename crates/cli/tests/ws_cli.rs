//! `ironpen run --workspace` and `ironpen ws` input errors: one line naming the argument, the
//! value and the reason, exit 125, and nothing run. And the basics: runs continue where the last
//! one stopped, `ws list/show/rm`.

mod ws_common;

use std::fs;

use ws_common::*;

fn err(o: &std::process::Output) -> String {
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_workspace_input_is_named() {
    let env = Env::new();
    let who = Who::Caller;
    let base = env.dir_for("base");
    let root = env.ws_root(who);
    let run = |name: &str, base: &str| {
        let dir = root.join("x");
        env.run(
            who,
            &[
                "run",
                "--workspace",
                name,
                "--workspace-dir",
                dir.to_str().unwrap(),
                "--base",
                base,
                "--",
                "true",
            ],
        )
    };
    assert!(err(&run("../up", base.to_str().unwrap())).contains("workspace ../up: name must be"));
    assert!(err(&run(".hidden", base.to_str().unwrap())).contains("name must be"));
    assert!(err(&run("ok", "/proc")).contains("cannot be /, /proc, /sys or /dev"));
    assert!(err(&run("ok", "/")).contains("cannot be /"));
    assert!(err(&run("ok", "/definitely/not/here")).contains("--base \"/definitely/not/here\""));
    let file = env.path().join("ironpen");
    assert!(err(&run("ok", file.to_str().unwrap())).contains("not a directory"));
    // --base without --workspace is a usage error.
    let o = env.run(who, &["run", "--base", "/tmp", "--", "true"]);
    assert!(err(&o).contains("--workspace"));
    // ws commands on a workspace that does not exist.
    let o = env.ws(who, &["diff", "nope"]);
    assert!(err(&o).contains("no such workspace"));
    let o = env.ws(who, &["rollback", "nope"]);
    assert!(err(&o).contains("no such workspace"));
}

#[test]
fn runs_continue_and_ws_list_show_rm() {
    for who in whos() {
        let env = Env::new();
        let base = env.dir_for("base");
        ok(&env.run_in(who, "cont", &base, &[], "echo 1 > counter"));
        ok(&env.run_in(
            who,
            "cont",
            &base,
            &[],
            "echo $(( $(cat counter) + 1 )) > counter",
        ));
        let out = ok(&env.run_in(who, "cont", &base, &[], "pwd; cat counter"));
        assert_eq!(out, format!("{}\n2\n", base.display()), "{who:?}");
        assert!(
            !base.join("counter").exists(),
            "{who:?}: the base was written"
        );
        let list = ok(&env.ws(who, &["list"]));
        assert!(list.starts_with("cont\t1 base(s)\t"), "{list}");
        let show = ok(&env.ws(who, &["show", "cont"]));
        assert!(
            show.contains(&format!("base {} -> layer", base.display())),
            "{show}"
        );
        ok(&env.ws(who, &["rm", "cont"]));
        assert!(!env.ws_root(who).join("cont").exists());
        assert_eq!(ok(&env.ws(who, &["list"])), "");
        assert!(fs::read_dir(&base).unwrap().next().is_none(), "{who:?}");
    }
}
