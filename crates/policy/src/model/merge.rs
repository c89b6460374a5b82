//! Merging one layer onto the layers before it. Rules (docs/policy.md): within a layer its
//! removals apply first, then its grants; lists append and skip entries already present; scalars
//! and map entries of the later layer override; a later layer takes back an earlier grant only
//! explicitly (`filesystem.remove`, `network.remove_tcp_connect` / `remove_tcp_bind`,
//! `capabilities.remove`, `seccomp.remove_sets`, `environment.unset`, or setting a boolean to
//! false).

use super::{normalize_cap, Item, Layer, Policy};

fn append<T: PartialEq>(acc: &mut Vec<Item<T>>, next: Vec<Item<T>>) {
    for it in next {
        if !acc.contains(&it) {
            acc.push(it);
        }
    }
}

fn over<T>(acc: &mut Option<T>, next: Option<T>) {
    if next.is_some() {
        *acc = next;
    }
}

/// Jail path without trailing slashes, for comparing destinations.
pub(crate) fn norm(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/"
    } else {
        t
    }
}

/// Merge `next` onto `acc`. `include` lists are not merged (the loader consumed them).
pub fn merge(acc: &mut Layer, next: Layer) {
    let Layer {
        include: _,
        description,
        filesystem: fs,
        network,
        identity,
        capabilities: caps,
        seccomp,
        landlock,
        limits,
        environment: env,
        terminal,
        mdwe,
        fitness,
        booleans,
        set,
    } = next;
    over(&mut acc.description, description);

    let a = &mut acc.filesystem;
    for r in &fs.remove {
        let gone = |e: &Item<String>| norm(Policy::bind_paths(&e.value).1) == norm(&r.value);
        a.ro.retain(|e| !gone(e));
        a.rw.retain(|e| !gone(e));
        a.dev.retain(|e| !gone(e));
        a.tmpfs.retain(|e| !gone(e));
        a.masks.retain(|e| !gone(e));
        a.symlinks.retain(|e| norm(&e.value.link) != norm(&r.value));
    }
    append(&mut a.ro, fs.ro);
    append(&mut a.rw, fs.rw);
    append(&mut a.dev, fs.dev);
    append(&mut a.optional, fs.optional);
    over(&mut a.allow_dangerous_devices, fs.allow_dangerous_devices);
    append(&mut a.tmpfs, fs.tmpfs);
    append(&mut a.symlinks, fs.symlinks);
    append(&mut a.masks, fs.masks);
    over(&mut a.chdir, fs.chdir);

    over(&mut acc.network.mode, network.mode);
    for (acc, next, remove) in [
        (
            &mut acc.network.tcp_connect,
            network.tcp_connect,
            network.remove_tcp_connect,
        ),
        (
            &mut acc.network.tcp_bind,
            network.tcp_bind,
            network.remove_tcp_bind,
        ),
    ] {
        // Taking a port back leaves the list a restriction (possibly `[]`: no port). On an
        // unrestricted list there is nothing to take back; the loader refuses that case.
        if let Some(ports) = acc.as_mut() {
            ports.retain(|p| !remove.iter().any(|r| r.value == *p));
        }
        // A port list is a grant list: later layers add ports (a first list restricts).
        if let Some(next) = next {
            let ports = acc.get_or_insert_with(Vec::new);
            for p in next {
                if !ports.contains(&p) {
                    ports.push(p);
                }
            }
        }
    }

    over(&mut acc.identity.uid, identity.uid);
    over(&mut acc.identity.gid, identity.gid);
    over(&mut acc.identity.hostname, identity.hostname);

    for r in &caps.remove {
        acc.capabilities
            .add
            .retain(|c| normalize_cap(&c.value) != normalize_cap(&r.value));
    }
    for c in caps.add {
        if !acc
            .capabilities
            .add
            .iter()
            .any(|x| normalize_cap(&x.value) == normalize_cap(&c.value))
        {
            acc.capabilities.add.push(c);
        }
    }
    over(&mut acc.capabilities.allow_dangerous, caps.allow_dangerous);

    let s = &mut acc.seccomp;
    over(&mut s.profile, seccomp.profile);
    for r in &seccomp.remove_sets {
        s.add_sets.retain(|x| x != r);
    }
    for a in &seccomp.add_sets {
        s.remove_sets.retain(|x| x != a);
    }
    append(&mut s.remove_sets, seccomp.remove_sets);
    append(&mut s.add_sets, seccomp.add_sets);
    over(&mut s.allow_dangerous, seccomp.allow_dangerous);

    over(&mut acc.landlock.mode, landlock.mode);
    append(&mut acc.landlock.allow_exec, landlock.allow_exec);

    acc.limits.rlimits.extend(limits.rlimits);
    over(&mut acc.limits.memory, limits.memory);
    over(&mut acc.limits.pids, limits.pids);
    over(&mut acc.limits.cpu_percent, limits.cpu_percent);

    for u in &env.unset {
        acc.environment.set.remove(&u.value);
        acc.environment.keep.retain(|k| k.value != u.value);
    }
    acc.environment.set.extend(env.set);
    append(&mut acc.environment.keep, env.keep);

    over(&mut acc.terminal.tty, terminal.tty);
    over(&mut acc.mdwe.allow_jit, mdwe.allow_jit);
    over(&mut acc.fitness.require_fit, fitness.require_fit);
    append(&mut acc.fitness.accept_risk, fitness.accept_risk);

    acc.booleans.extend(booleans);
    acc.set.extend(set);
}
