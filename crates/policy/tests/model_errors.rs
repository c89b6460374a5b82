//! Error messages of policy loading, exact text: file:line:col, the nearest valid key, and both
//! places for conflicts, cycles and missing includes.

mod common;
use common::load_from;

fn err(files: &[(&str, &str)], root: &str) -> String {
    load_from(files, root, &[]).unwrap_err().to_string()
}

#[test]
fn unknown_key_names_position_section_and_suggestion() {
    let text = "include = [\"@default\"]\n\n[filesystem]\nro = [\"/usr/share\"]\nrw_ = [\"/x\"]\n";
    assert_eq!(
        err(&[("p.toml", text)], "p.toml"),
        "p.toml:5:1: unknown key `rw_` in [filesystem]; did you mean `rw`? \
         (valid: ro, rw, tmpfs, symlinks, masks, dev, allow_dangerous_devices, optional, \
         remove, chdir)"
    );
    assert_eq!(
        err(&[("p.toml", "[netwrok]\nmode = \"host\"\n")], "p.toml"),
        "p.toml:1:2: unknown key `netwrok`; did you mean `network`? (valid: include, description, \
         filesystem, network, identity, capabilities, seccomp, landlock, limits, environment, \
         terminal, mdwe, fitness, booleans, set)"
    );
    // Far from every key: no suggestion, still the list.
    assert_eq!(
        err(&[("p.toml", "[mdwe]\nzzzzzzzzzz = true\n")], "p.toml"),
        "p.toml:2:1: unknown key `zzzzzzzzzz` in [mdwe] (valid: allow_jit)"
    );
}

#[test]
fn wrong_types_and_values() {
    assert_eq!(
        err(&[("p.toml", "[network]\nmode = \"hots\"\n")], "p.toml"),
        "p.toml:2:8: unknown value `hots`; did you mean `host`? (valid: none, host)"
    );
    assert_eq!(
        err(&[("p.toml", "[identity]\nuid = \"root\"\n")], "p.toml"),
        "p.toml:2:7: invalid type: string \"root\", expected u32"
    );
    assert_eq!(
        err(
            &[(
                "p.toml",
                "[capabilities]\nadd = [\"sys_admin\"]\nallow_dangerous = \"yes\"\n"
            )],
            "p.toml"
        ),
        "p.toml:3:19: a dangerous grant must be spelled \"yes-i-understand\", not \"yes\""
    );
    assert_eq!(
        err(&[("p.toml", "[filesystem\nro = []\n")], "p.toml")
            .split(':')
            .take(3)
            .collect::<Vec<_>>(),
        ["p.toml", "1", "12"]
    );
}

#[test]
fn conflicting_grants_name_both_places() {
    let base = "[filesystem]\nro = [\"/srv/data:/data\"]\n";
    let top = "include = [\"base.toml\"]\n[filesystem]\nrw = [\"/srv/data:/data/\"]\n";
    assert_eq!(
        err(&[("base.toml", base), ("top.toml", top)], "top.toml"),
        "top.toml:3:7: conflicting grants: /data is read-write here and read-only at \
         base.toml:2:7; take one back with filesystem.remove"
    );
    // Taking it back first is how a later layer changes its mind.
    let fixed = "include = [\"base.toml\"]\n[filesystem]\nremove = [\"/data\"]\nrw = [\"/srv/data:/data\"]\n";
    let p = load_from(&[("base.toml", base), ("top.toml", fixed)], "top.toml", &[]).unwrap();
    assert!(p.layer.filesystem.ro.is_empty());
    assert_eq!(p.layer.filesystem.rw.len(), 1);
}

#[test]
fn paths_must_stay_in_the_jail() {
    assert_eq!(
        err(
            &[("p.toml", "[filesystem]\nrw = [\"/srv:/data/../../etc\"]\n")],
            "p.toml"
        ),
        "p.toml:2:7: filesystem: read-write destination \"/data/../../etc\": escapes the jail's \
         root (`..` is not allowed)"
    );
    assert_eq!(
        err(
            &[("p.toml", "[filesystem]\ntmpfs = [\"cache\"]\n")],
            "p.toml"
        ),
        "p.toml:2:10: filesystem: tmpfs \"cache\": must be an absolute path"
    );
    assert_eq!(
        err(
            &[(
                "p.toml",
                "[filesystem]\nmasks = [\"/usr\", \"/proc/sys\"]\n"
            )],
            "p.toml"
        ),
        "p.toml:2:18: filesystem: masked /proc/sys: cannot mount over or inside /proc (a kernel \
         file system of the jail)"
    );
    assert_eq!(
        err(
            &[("p.toml", "[filesystem]\nro = [\"${NOPE}/x\"]\n")],
            "p.toml"
        ),
        "p.toml:2:7: unknown variable `${NOPE}` (known: HOME, PWD)"
    );
}

#[test]
fn capabilities_and_sets_are_checked() {
    assert_eq!(
        err(
            &[("p.toml", "[capabilities]\nadd = [\"net_bind_servce\"]\n")],
            "p.toml"
        ),
        "p.toml:2:8: unknown capability `net_bind_servce`; did you mean `net_bind_service`? \
         (see capabilities(7))"
    );
    assert_eq!(
        err(
            &[("p.toml", "[capabilities]\nadd = [\"CAP_SYS_ADMIN\"]\n")],
            "p.toml"
        ),
        "p.toml:2:8: capability `sys_admin` is dangerous (it weakens the jail itself); grant it \
         with allow_dangerous = \"yes-i-understand\" in [capabilities]"
    );
    assert!(load_from(
        &[(
            "p.toml",
            "[capabilities]\nadd = [\"sys_admin\"]\nallow_dangerous = \"yes-i-understand\"\n"
        )],
        "p.toml",
        &[]
    )
    .is_ok());
    assert_eq!(
        err(
            &[("p.toml", "[seccomp]\nadd_sets = [\"@netwrk-io\"]\n")],
            "p.toml"
        ),
        "p.toml:2:13: unknown syscall set `@netwrk-io`; did you mean `@network-io`?"
    );
    assert_eq!(
        err(
            &[("p.toml", "[seccomp]\nadd_sets = [\"@mount\"]\n")],
            "p.toml"
        ),
        "p.toml:2:13: syscall set `@mount` is dangerous; allow it with allow_dangerous = \
         \"yes-i-understand\" in [seccomp]"
    );
    assert_eq!(
        err(&[("p.toml", "[limits.rlimits]\nnofiles = 10\n")], "p.toml"),
        "p.toml:2:11: unknown resource limit `nofiles`; did you mean `nofile`? (limits.rlimits)"
    );
}

#[test]
fn includes_missing_cyclic_and_unknown() {
    assert_eq!(
        err(
            &[("a.toml", "include = [\"@default\", \"./base.toml\"]\n")],
            "a.toml"
        ),
        "a.toml:1:24: cannot include ./base.toml: No such file or directory (os error 2)"
    );
    let a = "include = [\"b.toml\"]\n";
    let b = "description = \"b\"\ninclude = [\"a.toml\"]\n";
    assert_eq!(
        err(&[("a.toml", a), ("b.toml", b)], "a.toml"),
        "b.toml:2:12: include cycle: a.toml -> b.toml (included at a.toml:1:12) -> a.toml again"
    );
    let c = "include = [\"c.toml\"]\n";
    assert_eq!(
        err(&[("c.toml", c)], "c.toml"),
        "c.toml:1:12: include cycle: c.toml -> c.toml again"
    );
    assert_eq!(
        err(&[("a.toml", "include = [\"@defualt\"]\n")], "a.toml"),
        "a.toml:1:12: unknown built-in profile `@defualt`; did you mean `@default`? (built-in: \
         @default, @strict, @compute, @network-client, @server, @dev-tools)"
    );
    assert_eq!(
        err(&[], "missing.toml"),
        "missing.toml: cannot read policy missing.toml: No such file or directory (os error 2)"
    );
}

#[test]
fn unknown_boolean_in_set() {
    let e = load_from(&[], "@default", &[("netwrk", true)]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--set: unknown boolean `netwrk`; did you mean `network`? (declared: gpu, home_read, \
         jit, kvm, network, ptrace_children, x11)"
    );
    assert_eq!(
        err(&[("p.toml", "[set]\nnetwork = true\n")], "p.toml"),
        "p.toml:2:11: unknown boolean `network`; (declared: none)"
    );
}
