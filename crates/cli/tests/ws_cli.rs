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

#[test]
fn several_bases_each_get_their_own_layer() {
    for who in whos() {
        let env = Env::new();
        let (a, b) = (env.dir_for("a"), env.dir_for("b"));
        fs::write(a.join("in-a"), "a\n").unwrap();
        if is_root() {
            std::os::unix::fs::lchown(a.join("in-a"), Some(65534), Some(65534)).unwrap();
        }
        let dir = env.ws_root(who).join("two");
        let o = env.run(
            who,
            &[
                "run",
                "--workspace",
                "two",
                "--workspace-dir",
                dir.to_str().unwrap(),
                "--base",
                a.to_str().unwrap(),
                "--base",
                b.to_str().unwrap(),
                "--",
                "sh",
                "-c",
                &format!(
                    "rm {0}/in-a; echo new > {1}/in-b; pwd",
                    a.display(),
                    b.display()
                ),
            ],
        );
        // The first base is the working directory.
        assert_eq!(ok(&o), format!("{}\n", a.display()));
        let diff = ok(&env.ws(who, &["diff", "two"]));
        assert_eq!(
            diff,
            format!("D  {}/in-a\nA  {}/in-b\n", a.display(), b.display()),
            "{who:?}"
        );
        assert!(
            a.join("in-a").exists() && !b.join("in-b").exists(),
            "{who:?}: a base was written"
        );
        let show = ok(&env.ws(who, &["show", "two"]));
        assert!(
            show.contains("layers/0/upper") && show.contains("layers/1/upper"),
            "{show}"
        );
    }
}
