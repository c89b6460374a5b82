//! `ironpen init`'s generator: every combination of answers yields a policy that loads, and the
//! answers decide what it grants.

use ironpen_policy::model::init::{generate, Answers, QUESTIONS};
use ironpen_policy::model::{load, NetMode, Policy, Source, Vars};

fn load_text(text: &str) -> Policy {
    let mut loader = |name: &str, _: Option<&str>| -> Result<Source, String> {
        Ok(Source {
            name: name.into(),
            text: text.into(),
        })
    };
    let mut vars = Vars::new();
    vars.insert("PWD".into(), "/work/project".into());
    vars.insert("HOME".into(), "/home/alice".into());
    load("init.toml", &[], &mut loader, &vars).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn every_combination_loads_and_grants_what_was_asked() {
    let choices = |k: &str| QUESTIONS.iter().find(|q| q.key == k).unwrap().choices;
    for purpose in choices("purpose") {
        for network in choices("network") {
            for jit in [false, true] {
                for priority in choices("priority") {
                    for (ports, virt) in [
                        (vec![], "none"),
                        (vec![80, 8080], "host"),
                        (vec![], "guest"),
                    ] {
                        let a = Answers {
                            purpose: purpose.to_string(),
                            network: network.to_string(),
                            ports: ports.clone(),
                            writable: vec!["/srv/out".into()],
                            readable: vec!["/srv/in".into()],
                            virtualization: virt.to_string(),
                            jit,
                            priority: priority.to_string(),
                        };
                        let p = load_text(&generate(&a));
                        let l = &p.layer;
                        let host = l.network.mode == Some(NetMode::Host);
                        assert_eq!(host, *network != "no", "{a:?}");
                        // An emulated guest translates code at run time: a JIT.
                        assert_eq!(
                            l.mdwe.allow_jit == Some(true),
                            jit || virt == "guest",
                            "{a:?}"
                        );
                        // A KVM host gets /dev/kvm as a device, and nothing else does.
                        let kvm: Vec<&str> =
                            l.filesystem.dev.iter().map(|d| d.value.as_str()).collect();
                        let want: &[&str] = if virt == "host" { &["/dev/kvm"] } else { &[] };
                        assert_eq!(kvm, want, "{a:?}");
                        assert_eq!(p.boolean("kvm"), Some(virt == "host"));
                        let bind = (host && !ports.is_empty()).then(|| ports.clone());
                        assert_eq!(l.network.tcp_bind, bind, "{a:?}");
                        assert_eq!(l.filesystem.rw[l.filesystem.rw.len() - 1].value, "/srv/out");
                        assert!(l.filesystem.ro.iter().any(|r| r.value == "/srv/in"));
                        let bind_low = l
                            .capabilities
                            .add
                            .iter()
                            .any(|c| c.value == "net_bind_service");
                        assert_eq!(bind_low, !ports.is_empty() || *purpose == "server", "{a:?}");
                        // @compute's socket denial is lifted exactly when the network is wanted.
                        let sockets_denied = l
                            .seccomp
                            .remove_sets
                            .iter()
                            .any(|s| s.value == "@network-io");
                        assert_eq!(
                            sockets_denied,
                            *purpose == "compute" && *network == "no",
                            "{a:?}"
                        );
                        assert_eq!(
                            l.landlock.mode == Some(ironpen_policy::model::Protection::Required),
                            *priority == "security"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn answers_are_checked() {
    let mut a = Answers::default();
    let q = |k: &str| *QUESTIONS.iter().find(|q| q.key == k).unwrap();
    assert_eq!(
        a.answer(&q("purpose"), "sever"),
        Err("answer one of: one-off, server, compute, dev-tools".into())
    );
    assert_eq!(
        a.answer(&q("ports"), "80, http"),
        Err("\"http\" is not a TCP port (1-65535)".into())
    );
    assert_eq!(
        a.answer(&q("writable"), "data"),
        Err("writable: \"data\" must be an absolute path without `..`".into())
    );
    assert_eq!(
        a.answer(&q("writable"), "/"),
        Err("writable: \"/\" would make the whole host writable".into())
    );
    a.answer(&q("network"), "").unwrap();
    assert_eq!(a.network, "no");
    a.answer(&q("ports"), " 22 ,443,").unwrap();
    assert_eq!(a.ports, [22, 443]);
    assert_eq!(
        Answers::from_toml("a.toml", "purpose = \"server\"\nport = [80]\n")
            .unwrap_err()
            .to_string(),
        "a.toml:2:1: unknown key `port`; did you mean `ports`? (valid: purpose, network, ports, \
         writable, readable, virtualization, jit, priority)"
    );
    assert_eq!(
        Answers::from_toml("a.toml", "network = \"maybe\"\n")
            .unwrap_err()
            .to_string(),
        "a.toml: network: answer one of no, client, server, not \"maybe\""
    );
    assert_eq!(
        a.answer(&q("virtualization"), "kvm"),
        Err("answer one of: none, host, guest".into())
    );
    a.answer(&q("virtualization"), "guest").unwrap();
    assert_eq!(a.virtualization, "guest");
    let a = Answers::from_toml("a.toml", "purpose = \"compute\"\n").unwrap();
    assert_eq!((a.purpose.as_str(), a.network.as_str()), ("compute", "no"));
}
