//! Policy files on the command line: reading sources for the pure loader, and turning a merged
//! policy into a jail `Request` with the command-line flags as the last layer.

use anyhow::{bail, Context, Result};
use ironpen_jail::plan::{Request, UserMount};
use ironpen_jail::spec::{BindMode, Protection};
use ironpen_policy::model::{self, NetMode, Policy, Source, Tty, Vars};

/// A policy's port list as `--allow-connect`/`--allow-bind` values (`[]`: `none`).
fn ports(p: &Option<Vec<u16>>) -> Vec<String> {
    match p {
        None => Vec::new(),
        Some(v) if v.is_empty() => vec!["none".into()],
        Some(v) => v.iter().map(u16::to_string).collect(),
    }
}

/// Read a policy file for the loader: relative includes resolve against the including file's
/// directory (the current directory for the root and for built-ins).
fn read_source(path: &str, from: Option<&str>) -> Result<Source, String> {
    let p = std::path::Path::new(path);
    let full = match from {
        Some(f) if p.is_relative() && !f.starts_with('@') => std::path::Path::new(f)
            .parent()
            .unwrap_or(std::path::Path::new("/"))
            .join(p),
        _ => p.to_path_buf(),
    };
    let canon = std::fs::canonicalize(&full).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&canon).map_err(|e| e.to_string())?;
    Ok(Source {
        name: canon.display().to_string(),
        text,
    })
}

/// `${PWD}`, `${HOME}`, `${USER}` for paths in policies.
pub fn vars() -> Vars {
    let mut v = Vars::new();
    let pwd = std::env::current_dir().map_or_else(|_| "/".into(), |d| d.display().to_string());
    v.insert("PWD".into(), pwd);
    v.insert(
        "HOME".into(),
        std::env::var("HOME").unwrap_or_else(|_| "/nonexistent".into()),
    );
    v.insert(
        "USER".into(),
        std::env::var("USER").unwrap_or_else(|_| "user".into()),
    );
    v
}

/// `NAME=true|false` from `--set`.
fn parse_set(s: &str) -> Result<(String, bool)> {
    let (k, v) = s
        .split_once('=')
        .with_context(|| format!("--set {s}: expected NAME=true or NAME=false"))?;
    let v = match v {
        "true" => true,
        "false" => false,
        _ => bail!("--set {s}: the value must be true or false"),
    };
    Ok((k.to_string(), v))
}

/// Load and merge `spec` (`@name` or a file) with `--set` values; errors carry file:line:col.
pub fn load_policy(spec: &str, sets: &[String]) -> Result<Policy> {
    let sets = sets
        .iter()
        .map(|s| parse_set(s))
        .collect::<Result<Vec<_>>>()?;
    let policy = model::load(spec, &sets, &mut read_source, &vars())?;
    Ok(policy)
}

/// Depth of a jail path, so parents are mounted before what is inside them.
fn depth(p: &str) -> usize {
    p.split('/').filter(|c| !c.is_empty()).count()
}

/// The jail request a merged policy describes. Values the jail cannot use are refused (naming
/// the policy file) rather than silently dropped.
pub fn request_from_policy(p: &Policy) -> Result<Request> {
    let l = &p.layer;
    if let Err((key, value, reason)) = l.limits.check(ironpen_jail::cgroup::cpu_count()) {
        bail!("{}: limits.{key} = {value}: {reason}", limit_source(p, key));
    }
    let fs = &l.filesystem;
    // Named by the policy's own position, not by the --bind flags the plan would name.
    let mut skipped: Vec<&str> = Vec::new();
    for e in fs.ro.iter().chain(&fs.rw).chain(&fs.dev) {
        let src = Policy::bind_paths(&e.value).0;
        let missing =
            std::fs::symlink_metadata(src).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        let optional =
            |o: &model::Item<String>| o.value.trim_end_matches('/') == src.trim_end_matches('/');
        if missing && fs.optional.iter().any(optional) {
            skipped.push(src);
            continue;
        }
        if let Err(err) = std::fs::metadata(src) {
            bail!(
                "{}: filesystem: source {src} cannot be used: {err}",
                e.origin
            );
        }
    }
    let mut mounts: Vec<(usize, UserMount)> = Vec::new();
    if !skipped.is_empty() {
        eprintln!(
            "ironpen: note: optional binds skipped, not on this host: {}",
            skipped.join(", ")
        );
    }
    for (list, mode) in [
        (&fs.ro, BindMode::ReadOnly),
        (&fs.rw, BindMode::ReadWrite),
        (&fs.dev, BindMode::Device),
    ] {
        for e in list {
            let (src, dst) = Policy::bind_paths(&e.value);
            if skipped.contains(&src) {
                continue;
            }
            mounts.push((
                depth(dst),
                UserMount::Bind {
                    src: src.into(),
                    dst: dst.into(),
                    mode,
                },
            ));
        }
    }
    for t in &fs.tmpfs {
        mounts.push((
            depth(&t.value),
            UserMount::Tmpfs {
                dst: t.value.clone(),
            },
        ));
    }
    // Stable sort: parents first, the policy's order among equals.
    mounts.sort_by_key(|(d, _)| *d);
    let mut mounts: Vec<UserMount> = mounts.into_iter().map(|(_, m)| m).collect();
    mounts.extend(fs.symlinks.iter().map(|s| UserMount::Symlink {
        target: s.value.target.clone(),
        link: s.value.link.clone(),
    }));
    let mut masks: Vec<&str> = fs.masks.iter().map(|m| m.value.as_str()).collect();
    masks.sort_by_key(|m| depth(m));
    mounts.extend(
        masks
            .into_iter()
            .map(|m| UserMount::Tmpfs { dst: m.into() }),
    );

    let mut seccomp_sets: Vec<(String, bool)> = Vec::new();
    seccomp_sets.extend(l.seccomp.add_sets.iter().map(|s| (s.value.clone(), true)));
    seccomp_sets.extend(
        l.seccomp
            .remove_sets
            .iter()
            .map(|s| (s.value.clone(), false)),
    );
    Ok(Request {
        mounts,
        chdir: fs.chdir.as_ref().map(|c| c.value.clone()),
        hostname: l.identity.hostname.clone(),
        share_net: l.network.mode == Some(NetMode::Host),
        uid: l.identity.uid,
        gid: l.identity.gid,
        caps: l.capabilities.add.iter().map(|c| c.value.clone()).collect(),
        rlimits: l
            .limits
            .rlimits
            .iter()
            .map(|(k, v)| format!("{k}={}", v.value))
            .collect(),
        setenv: l
            .environment
            .set
            .iter()
            .map(|(k, v)| format!("{k}={}", v.value))
            .collect(),
        keep_env: l.environment.keep.iter().map(|k| k.value.clone()).collect(),
        seccomp: l.seccomp.profile.clone(),
        landlock: l.landlock.mode.map(|m| match m {
            model::Protection::BestEffort => Protection::BestEffort,
            model::Protection::Required => Protection::Required,
            model::Protection::Off => Protection::Off,
        }),
        allow_jit: l.mdwe.allow_jit == Some(true),
        require_fit: l.fitness.require_fit == Some(true),
        accept_risk: l
            .fitness
            .accept_risk
            .iter()
            .map(|a| a.value.clone())
            .collect(),
        allow_exec: l
            .landlock
            .allow_exec
            .iter()
            .map(|e| e.value.clone())
            .collect(),
        seccomp_sets,
        tty: l.terminal.tty.map(|t| {
            match t {
                Tty::Auto => "auto",
                Tty::Always => "always",
                Tty::Never => "never",
            }
            .to_string()
        }),
        allow_connect: ports(&l.network.tcp_connect),
        allow_bind: ports(&l.network.tcp_bind),
        memory: l.limits.memory.clone(),
        pids: l.limits.pids.map(|n| n.to_string()),
        cpu_percent: l.limits.cpu_percent.map(|n| n.to_string()),
        ..Request::default()
    })
}

/// The last merged policy file that sets `[limits] key` (the cgroup limits carry no origin),
/// or all the sources when no file does by itself (a built-in or a boolean's grant).
fn limit_source(p: &Policy, key: &str) -> String {
    p.sources
        .iter()
        .rev()
        .filter(|s| !s.starts_with('@'))
        .find(|s| std::fs::read_to_string(s).is_ok_and(|t| model::Limits::set_in(&t, key)))
        .cloned()
        .unwrap_or_else(|| format!("policy {}", p.sources.join(" + ")))
}

/// Command-line flags as the last layer over the policy's request: lists append, options given
/// on the command line override, switches only add (`--share-net`, `--allow-jit`, `--strict`),
/// ports add to the policy's port lists.
pub fn overlay(base: Request, cli: Request) -> Request {
    let mut r = base;
    r.argv = cli.argv;
    r.mounts.extend(cli.mounts);
    r.chdir = cli.chdir.or(r.chdir);
    r.hostname = cli.hostname.or(r.hostname);
    r.share_net |= cli.share_net;
    r.uid = cli.uid.or(r.uid);
    r.gid = cli.gid.or(r.gid);
    r.caps.extend(cli.caps);
    r.rlimits.extend(cli.rlimits);
    r.setenv.extend(cli.setenv);
    r.keep_env.extend(cli.keep_env);
    r.pass_fds.extend(cli.pass_fds);
    r.strict |= cli.strict;
    r.seccomp = cli.seccomp.or(r.seccomp);
    r.landlock = cli.landlock.or(r.landlock);
    r.allow_jit |= cli.allow_jit;
    r.require_fit |= cli.require_fit;
    r.accept_risk.extend(cli.accept_risk);
    r.allow_exec.extend(cli.allow_exec);
    r.seccomp_sets.extend(cli.seccomp_sets);
    r.tty = cli.tty.or(r.tty);
    r.memory = cli.memory.or(r.memory);
    r.pids = cli.pids.or(r.pids);
    r.cpu_percent = cli.cpu_percent.or(r.cpu_percent);
    r.cgroup_parent = cli.cgroup_parent.or(r.cgroup_parent);
    // Ports on the command line add to the policy's; "none" only means something alone.
    for (acc, more) in [
        (&mut r.allow_connect, cli.allow_connect),
        (&mut r.allow_bind, cli.allow_bind),
    ] {
        if !more.is_empty() {
            acc.retain(|p| p != "none");
            acc.extend(more);
        }
    }
    r
}

/// `run --policy P [--set N=V]`: the request from the policy with `cli` on top; without a policy
/// the command line alone.
pub fn with_policy(policy: Option<&str>, sets: &[String], cli: Request) -> Result<Request> {
    match policy {
        Some(p) => {
            let policy = load_policy(p, sets)?;
            Ok(overlay(request_from_policy(&policy)?, cli))
        }
        None if !sets.is_empty() => bail!("--set needs --policy (booleans belong to a policy)"),
        None => Ok(cli),
    }
}
