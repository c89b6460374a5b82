//! Merge rules as properties: including a source twice changes nothing, later scalars win,
//! lists keep order and append, removal takes a grant back, booleans toggle their grants, and
//! the merged policy printed by `show` loads back to the same policy. Plus a seeded fuzz smoke
//! of parse + merge.

use std::time::{Duration, Instant};

use ironpen_policy::model::BUILTINS;
use proptest::prelude::*;

mod common;
use common::load_owned;

fn f(name: &str, text: &str) -> (String, String) {
    (name.to_string(), text.to_string())
}

fn toml_list(v: &[String]) -> String {
    let q: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", q.join(", "))
}

/// A random valid-looking layer: paths from small pools (ro, rw and tmpfs pools are disjoint,
/// `remove` draws from all), a few scalars, capabilities and environment.
fn layer_text() -> impl Strategy<Value = String> {
    let ro = prop::collection::vec((0..4u8).prop_map(|i| format!("/srv/r{i}:/r{i}")), 0..3);
    let rw = prop::collection::vec((0..4u8).prop_map(|i| format!("/w{i}")), 0..3);
    let tmpfs = prop::collection::vec((0..3u8).prop_map(|i| format!("/t{i}")), 0..2);
    let remove = prop::collection::vec(
        prop_oneof![Just("/r0"), Just("/w1"), Just("/t0"), Just("/nothing")].prop_map(String::from),
        0..2,
    );
    let uid = prop::option::of(0..3u32);
    let net = prop::option::of(prop_oneof![Just("none"), Just("host")]);
    let caps = prop::collection::vec(
        prop_oneof![Just("net_bind_service"), Just("chown"), Just("kill")].prop_map(String::from),
        0..2,
    );
    let capsrm = prop::collection::vec(Just("chown".to_string()), 0..2);
    let env = prop::option::of((0..3u8, 0..3u8));
    let jit = prop::option::of(any::<bool>());
    (ro, rw, tmpfs, remove, uid, net, caps, capsrm, env, jit).prop_map(
        |(ro, rw, tmpfs, remove, uid, net, caps, capsrm, env, jit)| {
            let mut t = String::new();
            t.push_str(&format!(
                "[filesystem]\nro = {}\nrw = {}\ntmpfs = {}\nremove = {}\n",
                toml_list(&ro),
                toml_list(&rw),
                toml_list(&tmpfs),
                toml_list(&remove)
            ));
            t.push_str(&format!(
                "[capabilities]\nadd = {}\nremove = {}\n",
                toml_list(&caps),
                toml_list(&capsrm)
            ));
            if let Some(u) = uid {
                t.push_str(&format!("[identity]\nuid = {u}\n"));
            }
            if let Some(n) = net {
                t.push_str(&format!("[network]\nmode = {n:?}\n"));
            }
            if let Some((k, v)) = env {
                t.push_str(&format!("[environment.set]\nV{k} = \"{v}\"\n"));
            }
            if let Some(j) = jit {
                t.push_str(&format!("[mdwe]\nallow_jit = {j}\n"));
            }
            t
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Including the same file twice (or again through another file) is the same as once.
    #[test]
    fn same_file_twice_is_idempotent(a in layer_text(), b in layer_text()) {
        let files = [f("a.toml", &a), f("b.toml", &b)];
        let once = load_owned(&[files[0].clone(), files[1].clone(),
            f("root.toml", "include = [\"a.toml\", \"b.toml\"]\n")], "root.toml", &[]);
        let twice = load_owned(&[files[0].clone(), files[1].clone(),
            f("mid.toml", "include = [\"a.toml\"]\n"),
            f("root.toml", "include = [\"a.toml\", \"mid.toml\", \"a.toml\", \"b.toml\", \"b.toml\"]\n")],
            "root.toml", &[]);
        match (once, twice) {
            (Ok(x), Ok(y)) => prop_assert_eq!(x.layer, y.layer),
            (Err(x), Err(y)) => prop_assert_eq!(x.message, y.message),
            (x, y) => prop_assert!(false, "once {x:?} twice {y:?}"),
        }
    }

    /// Later layers' scalars win; lists keep the earlier layer's entries first.
    #[test]
    fn order_rules(a in layer_text(), b in layer_text()) {
        let files = [f("a.toml", &a), f("b.toml", &b),
            f("ab.toml", "include = [\"a.toml\", \"b.toml\"]\n")];
        let (Ok(pa), Ok(pb), Ok(pab)) = (load_owned(&files, "a.toml", &[]),
            load_owned(&files, "b.toml", &[]), load_owned(&files, "ab.toml", &[])) else {
            return Ok(());
        };
        let (la, lb, lab) = (&pa.layer, &pb.layer, &pab.layer);
        prop_assert_eq!(lab.identity.uid, lb.identity.uid.or(la.identity.uid));
        prop_assert_eq!(lab.network.mode, lb.network.mode.or(la.network.mode));
        prop_assert_eq!(lab.mdwe.allow_jit, lb.mdwe.allow_jit.or(la.mdwe.allow_jit));
        for (k, v) in &lb.environment.set {
            prop_assert_eq!(lab.environment.set.get(k), Some(v));
        }
        // a's rw grants that b does not remove, in a's order, then b's new ones, in b's order.
        let fs_remove = b.lines().find(|l| l.starts_with("remove = [")).unwrap_or("");
        let mut want: Vec<&str> = la
            .filesystem
            .rw
            .iter()
            .map(|i| i.value.as_str())
            .filter(|w| !fs_remove.contains(&format!("{w:?}")))
            .collect();
        for w in lb.filesystem.rw.iter().map(|i| i.value.as_str()) {
            if !want.contains(&w) {
                want.push(w);
            }
        }
        let rw: Vec<&str> = lab.filesystem.rw.iter().map(|i| i.value.as_str()).collect();
        prop_assert_eq!(rw, want);
    }

    /// `policy show` output is a policy that loads to the same merged policy.
    #[test]
    fn show_round_trips(a in layer_text(), b in layer_text(), net in any::<bool>()) {
        let files = [f("a.toml", &a), f("b.toml", &b),
            f("root.toml", "include = [\"@default\", \"a.toml\", \"b.toml\"]\n")];
        let Ok(p) = load_owned(&files, "root.toml", &[("network".into(), net)]) else {
            return Ok(());
        };
        let shown = p.to_toml();
        let back = load_owned(&[f("shown.toml", &shown)], "shown.toml", &[]).unwrap();
        prop_assert_eq!(&back.layer, &p.layer, "{}", shown);
        prop_assert_eq!(back.boolean("network"), Some(net));
    }
}

#[test]
fn booleans_toggle_their_grants() {
    let off = load_owned(&[], "@default", &[]).unwrap();
    assert_eq!(off.layer.network.mode, None);
    assert_eq!(off.boolean("network"), Some(false));
    let on = load_owned(&[], "@default", &[("network".into(), true)]).unwrap();
    assert_eq!(
        on.layer.network.mode,
        Some(ironpen_policy::model::NetMode::Host)
    );
    // A file's [set] is overridden by --set, the last layer.
    let files = [f("p.toml", "include = [\"@network-client\"]\n")];
    let p = load_owned(&files, "p.toml", &[]).unwrap();
    assert_eq!(p.boolean("network"), Some(true));
    let p = load_owned(&files, "p.toml", &[("network".into(), false)]).unwrap();
    assert_eq!(p.layer.network.mode, None);
    // home_read binds ${HOME}, expanded.
    let p = load_owned(&[], "@default", &[("home_read".into(), true)]).unwrap();
    assert_eq!(p.layer.filesystem.ro[0].value, "/home/alice");
}

#[test]
fn removal_is_explicit() {
    let files = [
        f("a.toml", "[capabilities]\nadd = [\"net_bind_service\", \"kill\"]\n[environment]\nset = { A = \"1\" }\nkeep = [\"B\"]\n[seccomp]\nadd_sets = [\"@aio\"]\n"),
        f("b.toml", "include = [\"a.toml\"]\n[capabilities]\nremove = [\"CAP_KILL\"]\n[environment]\nunset = [\"A\", \"B\"]\n[seccomp]\nremove_sets = [\"@aio\"]\n"),
    ];
    let p = load_owned(&files, "b.toml", &[]).unwrap();
    let caps: Vec<&str> = p
        .layer
        .capabilities
        .add
        .iter()
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(caps, ["net_bind_service"]);
    assert!(p.layer.environment.set.is_empty() && p.layer.environment.keep.is_empty());
    assert!(p.layer.seccomp.add_sets.is_empty());
    assert_eq!(p.layer.seccomp.remove_sets[0].value, "@aio");
}

#[test]
fn every_builtin_loads_and_includes_default() {
    for (name, _) in BUILTINS {
        let p = load_owned(&[], &format!("@{name}"), &[]).unwrap();
        assert_eq!(p.sources[0], "@default", "@{name}");
        assert!(p.layer.booleans.contains_key("network"), "@{name}");
    }
}

/// xorshift64*: a seeded generator so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        let n = u64::try_from(v.len()).unwrap();
        v[usize::try_from(self.next() % n).unwrap()]
    }
}

#[test]
fn fuzz_smoke_parse_and_merge() {
    let sections = [
        "",
        "[filesystem]",
        "[network]",
        "[identity]",
        "[capabilities]",
        "[seccomp]",
        "[landlock]",
        "[limits]",
        "[limits.rlimits]",
        "[environment]",
        "[environment.set]",
        "[terminal]",
        "[mdwe]",
        "[booleans.x]",
        "[booleans.x.grants.filesystem]",
        "[set]",
        "[bogus",
    ];
    let keys = [
        "include",
        "ro",
        "rw",
        "tmpfs",
        "masks",
        "remove",
        "chdir",
        "mode",
        "uid",
        "gid",
        "add",
        "remove",
        "add_sets",
        "remove_sets",
        "allow_dangerous",
        "profile",
        "allow_exec",
        "nofile",
        "core",
        "memory",
        "set",
        "keep",
        "unset",
        "tty",
        "allow_jit",
        "default",
        "description",
        "x",
        "symlinks",
        "rw_",
        "é",
    ];
    let values = [
        "\"/a\"",
        "[\"/a\", \"/b:/c\"]",
        "[\"@default\"]",
        "[\"./f1.toml\"]",
        "[\"../x\"]",
        "true",
        "17",
        "-1",
        "\"host\"",
        "\"yes-i-understand\"",
        "[\"sys_admin\"]",
        "[\"@debug\"]",
        "{ target = \"/t\", link = \"/l\" }",
        "[{ target = \"/t\", link = \"/l\" }]",
        "\"${PWD}\"",
        "\"${X\"",
        "[1, \"a\"]",
        "\"\u{0}\"",
        "{",
        "\"unlimited\"",
        "1.5",
    ];
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let start = Instant::now();
    let (mut ok, mut bad) = (0, 0);
    let mut i = 0;
    while i < 4000 && start.elapsed() < Duration::from_millis(1500) {
        i += 1;
        let mut files = Vec::new();
        for name in ["f0.toml", "f1.toml"] {
            let mut t = String::new();
            for _ in 0..(rng.next() % 8) {
                if rng.next().is_multiple_of(3) {
                    t.push_str(rng.pick(&sections));
                    t.push('\n');
                }
                t.push_str(&format!("{} = {}\n", rng.pick(&keys), rng.pick(&values)));
            }
            files.push(f(name, &t));
        }
        let root = if rng.next().is_multiple_of(2) {
            "f0.toml"
        } else {
            "f1.toml"
        };
        match load_owned(&files, root, &[]) {
            Ok(p) => {
                ok += 1;
                // Whatever loads also prints and loads back.
                let back = load_owned(&[f("s.toml", &p.to_toml())], "s.toml", &[]).unwrap();
                assert_eq!(back.layer, p.layer);
            }
            Err(e) => {
                bad += 1;
                assert!(!e.message.is_empty());
            }
        }
    }
    assert!(
        ok > 10 && bad > 10,
        "ok {ok} bad {bad}: the generator covers both"
    );
}
