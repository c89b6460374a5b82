//! Device binds, optional binds, the x11 / gpu / kvm booleans and their exposure score, and
//! taking TCP ports back in a later layer (unit cases and properties).

use ironpen_policy::model::{safe_device, Policy, PolicyError};
use ironpen_policy::score::score;
use proptest::prelude::*;

mod common;

fn load_files(
    files: &[(&str, String)],
    root: &str,
    sets: &[(&str, bool)],
) -> Result<Policy, PolicyError> {
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    common::load_from(&files, root, sets)
}

fn one(text: &str) -> Result<Policy, PolicyError> {
    load_files(&[("p.toml", text.to_string())], "p.toml", &[])
}

fn default_with(sets: &[(&str, bool)]) -> Policy {
    load_files(&[], "@default", sets).unwrap()
}

fn values(v: &[ironpen_policy::model::Item<String>]) -> Vec<&str> {
    v.iter().map(|i| i.value.as_str()).collect()
}

fn off(p: &Policy) -> Vec<&'static str> {
    score(p)
        .checks
        .iter()
        .filter(|c| !c.on)
        .map(|c| c.name)
        .collect()
}

#[test]
fn x11_gpu_and_kvm_grant_exactly_their_documented_paths() {
    let x = default_with(&[("x11", true)]);
    let fs = &x.layer.filesystem;
    assert_eq!(
        values(&fs.ro),
        ["/tmp/.X11-unix", "/home/alice/.Xauthority:/tmp/.Xauthority"]
    );
    // Optional names host sources.
    assert_eq!(
        values(&fs.optional),
        ["/tmp/.X11-unix", "/home/alice/.Xauthority"]
    );
    assert_eq!(values(&x.layer.environment.keep), ["DISPLAY"]);
    let xa = &x.layer.environment.set["XAUTHORITY"].value;
    assert_eq!(xa, "/tmp/.Xauthority");
    assert!(fs.dev.is_empty() && fs.rw.is_empty());

    let g = default_with(&[("gpu", true)]);
    let gpu = [
        "/dev/dri",
        "/dev/nvidiactl",
        "/dev/nvidia0",
        "/dev/nvidia-uvm",
        "/dev/nvidia-modeset",
    ];
    assert_eq!(values(&g.layer.filesystem.dev), gpu);
    assert_eq!(values(&g.layer.filesystem.optional), gpu);
    assert!(g.layer.filesystem.ro.is_empty());

    let k = default_with(&[("kvm", true)]);
    assert_eq!(values(&k.layer.filesystem.dev), ["/dev/kvm"]);
    // /dev/kvm is required: no optional entry, so a host without it refuses to start.
    assert!(k.layer.filesystem.optional.is_empty());
    // All off by default.
    let d = default_with(&[]);
    for b in ["x11", "gpu", "kvm"] {
        assert_eq!(d.boolean(b), Some(false), "{b}");
    }
    assert!(d.layer.filesystem.dev.is_empty());
}

#[test]
fn x11_gpu_and_kvm_raise_the_exposure_score() {
    let base = default_with(&[]);
    let base_score = score(&base).exposure;
    let base_off = off(&base);
    for (b, newly_off) in [
        ("x11", &["no-display-server", "no-host-environment"][..]),
        ("gpu", &["no-devices"][..]),
        ("kvm", &["no-devices"][..]),
    ] {
        let p = default_with(&[(b, true)]);
        let s = score(&p).exposure;
        assert!(s > base_score, "{b}: {s} should be above {base_score}");
        let mut want: Vec<&str> = base_off.clone();
        want.extend(newly_off);
        let mut got = off(&p);
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, want, "{b}");
    }
    // Both devices and display together are worse than either.
    let both = score(&default_with(&[("x11", true), ("gpu", true)])).exposure;
    let gpu = score(&default_with(&[("gpu", true)])).exposure;
    assert!(both > gpu, "{both} {gpu}");
    // A bind of a parent of the X11 sockets exposes them too.
    let tmp = one("[filesystem]\nro = [\"/tmp\"]\n").unwrap();
    assert!(off(&tmp).contains(&"no-display-server"));
    let other = one("[filesystem]\nro = [\"/tmp/.X11-unixx\"]\n").unwrap();
    assert!(!off(&other).contains(&"no-display-server"));
}

#[test]
fn device_binds_are_checked() {
    let e = |t: &str| one(t).unwrap_err().to_string();
    assert_eq!(
        e("[filesystem]\ndev = [\"/srv/data\"]\n"),
        "p.toml:2:8: filesystem: device source \"/srv/data\": must be under /dev (use ro or rw \
         for other paths)"
    );
    let disk = e("[filesystem]\ndev = [\"/dev/sda\"]\n");
    assert!(
        disk.starts_with("p.toml:2:8: filesystem: device /dev/sda is not one of the known-safe devices (/dev/kvm, ")
            && disk.ends_with("grant it with allow_dangerous_devices = \"yes-i-understand\" in [filesystem]"),
        "{disk}"
    );
    one("[filesystem]\ndev = [\"/dev/sda\"]\nallow_dangerous_devices = \"yes-i-understand\"\n")
        .unwrap();
    assert!(e("[filesystem]\nallow_dangerous_devices = \"sure\"\n")
        .contains("a dangerous grant must be spelled \"yes-i-understand\""));
    assert_eq!(
        e("[filesystem]\nro = [\"/dev/kvm\"]\ndev = [\"/dev/kvm\"]\n"),
        "p.toml:3:8: conflicting grants: /dev/kvm is a device here and read-only at p.toml:2:7; \
         take one back with filesystem.remove"
    );
    assert_eq!(
        e("[filesystem]\noptional = [\"dev/dri\"]\n"),
        "p.toml:2:13: filesystem: optional source \"dev/dri\": must be an absolute path"
    );
    // A later layer takes a device back like any bind.
    let files = [
        (
            "base.toml",
            "[filesystem]\ndev = [\"/dev/kvm\", \"/dev/dri:/gpu\"]\n".to_string(),
        ),
        (
            "top.toml",
            "include = [\"base.toml\"]\n[filesystem]\nremove = [\"/gpu\"]\n".to_string(),
        ),
    ];
    let p = load_files(&files, "top.toml", &[]).unwrap();
    assert_eq!(values(&p.layer.filesystem.dev), ["/dev/kvm"]);
    // Setting a boolean to false in a later layer takes its devices back.
    let files = [(
        "p.toml",
        "include = [\"@default\"]\n[set]\ngpu = true\n".to_string(),
    )];
    let p = load_files(&files, "p.toml", &[("gpu", false)]).unwrap();
    assert!(p.layer.filesystem.dev.is_empty());
}

#[test]
fn safe_devices_match_whole_names_or_a_final_star() {
    for ok in [
        "/dev/kvm",
        "/dev/dri",
        "/dev/dri/renderD128",
        "/dev/nvidia0",
        "/dev/nvidiactl",
        "/dev/net/tun",
    ] {
        assert!(safe_device(ok), "{ok}");
    }
    for bad in [
        "/dev/kvmx",
        "/dev/sda",
        "/dev/mem",
        "/dev/nvidia/../sda",
        "/dev/net",
        "/dev",
    ] {
        assert!(!safe_device(bad), "{bad}");
    }
}

#[test]
fn ports_are_taken_back_explicitly() {
    let base = "[network]\ntcp_connect = [80, 443]\ntcp_bind = [8080]\n".to_string();
    let top = |t: &str| {
        let files = [
            ("base.toml", base.clone()),
            (
                "top.toml",
                format!("include = [\"base.toml\"]\n[network]\n{t}"),
            ),
        ];
        load_files(&files, "top.toml", &[])
    };
    let p = top("remove_tcp_connect = [80]\n").unwrap();
    assert_eq!(p.layer.network.tcp_connect, Some(vec![443]));
    assert_eq!(p.layer.network.tcp_bind, Some(vec![8080]));
    // The last port gone leaves a restriction to no port at all, never "unrestricted".
    let p = top("remove_tcp_bind = [8080]\n").unwrap();
    assert_eq!(p.layer.network.tcp_bind, Some(vec![]));
    // Removal first, then the layer's own grants: a port removed and listed again stays.
    let p = top("remove_tcp_connect = [80]\ntcp_connect = [80, 22]\n").unwrap();
    assert_eq!(p.layer.network.tcp_connect, Some(vec![443, 80, 22]));
    // Removing a port never granted changes nothing.
    let p = top("remove_tcp_connect = [25]\n").unwrap();
    assert_eq!(p.layer.network.tcp_connect, Some(vec![80, 443]));
    // Nothing restricted the list: the removal cannot be honoured, so it is an error.
    assert_eq!(
        one("[network]\nremove_tcp_connect = [22]\n")
            .unwrap_err()
            .to_string(),
        "p.toml:2:23: network.remove_tcp_connect: port 22 cannot be taken back: no earlier \
         layer restricts tcp_connect (unset means every port); list the ports it may use with \
         tcp_connect = [...]"
    );
    // The merged policy shows no removal left over, and loads back to the same.
    let p = top("remove_tcp_connect = [80]\n").unwrap();
    let shown = p.to_toml();
    assert!(!shown.contains("remove_tcp"), "{shown}");
    let again = one(&shown).unwrap();
    assert_eq!(again.layer.network, p.layer.network);
}

#[test]
fn a_boolean_can_take_ports_back() {
    let text = "[network]\ntcp_connect = [80, 443]\n\
                [booleans.tls_only]\ndefault = true\ndescription = \"only 443\"\n\
                [booleans.tls_only.grants.network]\nremove_tcp_connect = [80]\n";
    let p = one(text).unwrap();
    assert_eq!(p.layer.network.tcp_connect, Some(vec![443]));
    let files = [("p.toml", text.to_string())];
    let p = load_files(&files, "p.toml", &[("tls_only", false)]).unwrap();
    assert_eq!(p.layer.network.tcp_connect, Some(vec![80, 443]));
}

fn ports() -> impl Strategy<Value = Vec<u16>> {
    prop::collection::vec(1..8u16, 0..5)
}

fn list(v: &[u16]) -> String {
    let s: Vec<String> = v.iter().map(u16::to_string).collect();
    format!("[{}]", s.join(", "))
}

proptest! {
    /// base, then a layer removing `rm` and adding `add`: the result is base without `rm`, then
    /// `add`'s new ports, in order, each once; the same layer twice grants
    /// the same ports.
    #[test]
    fn port_removal_rules(base in ports(), rm in ports(), add in prop::option::of(ports())) {
        let mut layer = format!("[network]\nremove_tcp_connect = {}\n", list(&rm));
        if let Some(a) = &add {
            layer.push_str(&format!("tcp_connect = {}\n", list(a)));
        }
        let files = [
            ("base.toml", format!("[network]\ntcp_connect = {}\n", list(&base))),
            ("l1.toml", layer.clone()),
            ("l2.toml", layer),
            ("once.toml", "include = [\"base.toml\", \"l1.toml\"]\n".to_string()),
            ("twice.toml", "include = [\"base.toml\", \"l1.toml\", \"l2.toml\"]\n".to_string()),
        ];
        let once = load_files(&files, "once.toml", &[]).unwrap();
        let mut want: Vec<u16> = Vec::new();
        for p in base.iter().filter(|p| !rm.contains(p)).chain(add.iter().flatten()) {
            if !want.contains(p) {
                want.push(*p);
            }
        }
        prop_assert_eq!(once.layer.network.tcp_connect.clone(), Some(want));
        // Applied again, its removal takes back what it just re-granted, then grants it again:
        // the same ports (a port moved to the end is the same grant).
        let sorted = |p: &Policy| {
            let mut v = p.layer.network.tcp_connect.clone().unwrap();
            v.sort_unstable();
            v
        };
        let twice = load_files(&files, "twice.toml", &[]).unwrap();
        prop_assert_eq!(sorted(&twice), sorted(&once));
    }
}
