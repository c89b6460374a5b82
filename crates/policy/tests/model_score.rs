//! Exposure score: the default profile scores low, host network plus sys_admin high, and every
//! single change moves the score the right way.

use ironpen_policy::model::{load, Policy, Source, Vars};
use ironpen_policy::score::score;

fn policy(extra: &str) -> Policy {
    let text = format!("include = [\"@default\"]\n{extra}");
    let mut loader = |name: &str, _: Option<&str>| -> Result<Source, String> {
        Ok(Source {
            name: name.to_string(),
            text: text.clone(),
        })
    };
    let mut vars = Vars::new();
    vars.insert("HOME".into(), "/home/alice".into());
    load("p.toml", &[], &mut loader, &vars).unwrap()
}

fn exposure(extra: &str) -> f64 {
    score(&policy(extra)).exposure
}

#[test]
fn default_is_low_and_host_network_with_sys_admin_is_high() {
    let d = score(&policy(""));
    assert!(d.exposure < 1.0, "{d}");
    assert_eq!(d.rating, "locked down");
    let high = exposure(
        "[network]\nmode = \"host\"\n[capabilities]\nadd = [\"sys_admin\"]\nallow_dangerous = \"yes-i-understand\"\n",
    );
    assert!(high > 6.0, "{high}");
    // Every line is reported, and the off ones are exactly what was changed.
    let s = score(&policy("[network]\nmode = \"host\"\n"));
    let off: Vec<&str> = s.checks.iter().filter(|c| !c.on).map(|c| c.name).collect();
    assert_eq!(
        off,
        [
            "private-network",
            "tcp-ports-restricted",
            "landlock-required",
            "non-root-inside",
            "resource-limits"
        ]
    );
}

#[test]
fn each_single_change_moves_the_score_the_right_way() {
    let base = exposure("");
    let worse = [
        "[network]\nmode = \"host\"\n",
        "[capabilities]\nadd = [\"net_bind_service\"]\n",
        "[capabilities]\nadd = [\"sys_ptrace\"]\nallow_dangerous = \"yes-i-understand\"\n",
        "[seccomp]\nprofile = \"none\"\n",
        "[seccomp]\nadd_sets = [\"@debug\"]\nallow_dangerous = \"yes-i-understand\"\n",
        "[landlock]\nmode = \"off\"\n",
        "[mdwe]\nallow_jit = true\n",
        "[filesystem]\nrw = [\"/srv/data:/data\"]\n",
        "[filesystem]\nro = [\"/home/alice\"]\n",
        "[environment]\nkeep = [\"AWS_SECRET_ACCESS_KEY\"]\n",
    ];
    for w in worse {
        assert!(exposure(w) > base, "{w} should raise {base}");
    }
    let better = [
        "[landlock]\nmode = \"required\"\n",
        "[identity]\nuid = 1000\n",
        "[limits.rlimits]\ncore = 0\n",
    ];
    for b in better {
        assert!(exposure(b) < base, "{b} should lower {base}");
    }
    // On the host network, limiting TCP ports lowers the exposure.
    let host = exposure("[network]\nmode = \"host\"\n");
    let limited = exposure("[network]\nmode = \"host\"\ntcp_connect = [443]\ntcp_bind = []\n");
    assert!(limited < host, "{limited} {host}");
    // sys_admin is worse than a harmless capability, and adding the host network on top of it
    // is worse still.
    let cap = "[capabilities]\nallow_dangerous = \"yes-i-understand\"\nadd = ";
    let harmless = exposure(&format!("{cap}[\"kill\"]\n"));
    let admin = exposure(&format!("{cap}[\"sys_admin\"]\n"));
    let both = exposure(&format!(
        "{cap}[\"sys_admin\"]\n[network]\nmode = \"host\"\n"
    ));
    assert!(
        harmless < admin && admin < both,
        "{harmless} {admin} {both}"
    );
}

#[test]
fn builtin_profiles_are_ordered_by_exposure() {
    let s = |name: &str| {
        let mut l = |_: &str, _: Option<&str>| -> Result<Source, String> { Err("none".into()) };
        let mut vars = Vars::new();
        vars.insert("PWD".into(), "/work/p".into());
        vars.insert("HOME".into(), "/home/alice".into());
        score(&load(name, &[], &mut l, &vars).unwrap()).exposure
    };
    assert!(s("@strict") < s("@default"));
    assert!(s("@default") < s("@dev-tools"));
    assert!(s("@default") < s("@network-client"));
    assert!(s("@network-client") < s("@server"));
}
