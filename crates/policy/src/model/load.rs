//! Loading: parse a file into a `Layer` (errors with file:line:column and the nearest valid key),
//! resolve includes depth-first (each source once; a cycle is an error), apply booleans, and
//! validate the merged result (conflicting grants name both places).

use std::collections::BTreeMap;

use super::merge::{merge, norm};
use super::{
    builtin, normalize_cap, safe_device, Item, Layer, Origin, Policy, PolicyError, BUILTINS,
    CAPABILITIES, DANGEROUS_CAPS, DANGEROUS_SETS, LOUD, RLIMITS, SAFE_DEVICES,
};
use crate::seccomp::sets;

/// A policy source the caller read: `name` identifies it (a canonical path, for messages and
/// cycle detection) and `text` is its content.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// Variables `${NAME}` in paths expand to (the CLI passes PWD, HOME and USER).
pub type Vars = BTreeMap<String, String>;

/// The caller's file reader: `(path as written, including file or None for the root)` to the
/// source, or a reason (e.g. "No such file or directory").
pub type LoadFn<'a> = dyn FnMut(&str, Option<&str>) -> Result<Source, String> + 'a;

/// Load `root` (`@name` or a file for `loader`), merge its includes and itself, then the
/// command line's `--set` values (`sets`), apply booleans and validate.
pub fn load(
    root: &str,
    sets: &[(String, bool)],
    loader: &mut LoadFn<'_>,
    vars: &Vars,
) -> Result<Policy, PolicyError> {
    let (mut layer, sources) = load_layers(root, loader, vars)?;
    let cli = Origin {
        file: "--set".into(),
        ..Origin::default()
    };
    for (k, v) in sets {
        layer.set.insert(k.clone(), Item::new(*v, cli.clone()));
    }
    finish(layer, sources)
}

/// Merge `root` and its includes into one layer, booleans not yet applied; also the sources.
pub fn load_layers(
    root: &str,
    loader: &mut LoadFn<'_>,
    vars: &Vars,
) -> Result<(Layer, Vec<String>), PolicyError> {
    let mut st = State {
        loader,
        vars,
        stack: Vec::new(),
        done: Vec::new(),
        acc: Layer::default(),
    };
    st.visit(root, None)?;
    Ok((st.acc, st.done))
}

struct State<'a, 'b> {
    loader: &'a mut LoadFn<'b>,
    vars: &'a Vars,
    /// Sources being loaded, with the include entry that brought each in.
    stack: Vec<(String, Option<Origin>)>,
    done: Vec<String>,
    acc: Layer,
}

impl State<'_, '_> {
    fn visit(&mut self, name: &str, from: Option<(&str, &Origin)>) -> Result<(), PolicyError> {
        let here = from.map(|f| f.1.clone()).unwrap_or_else(|| Origin {
            file: name.to_string(),
            ..Origin::default()
        });
        let src = if let Some(b) = name.strip_prefix('@') {
            let text = builtin(b).ok_or_else(|| {
                let names: Vec<String> = BUILTINS.iter().map(|(n, _)| format!("@{n}")).collect();
                let hint = suggest(name, names.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                PolicyError::new(
                    &here,
                    format!(
                        "unknown built-in profile `{name}`; {hint}(built-in: {})",
                        names.join(", ")
                    ),
                )
            })?;
            Source {
                name: name.to_string(),
                text: text.to_string(),
            }
        } else {
            (self.loader)(name, from.map(|f| f.0)).map_err(|e| {
                let what = if from.is_some() {
                    "cannot include"
                } else {
                    "cannot read policy"
                };
                PolicyError::new(&here, format!("{what} {name}: {e}"))
            })?
        };
        if let Some(pos) = self.stack.iter().position(|(n, _)| *n == src.name) {
            let chain: Vec<String> = self.stack[pos..]
                .iter()
                .map(|(n, o)| match o {
                    Some(o) => format!("{n} (included at {o})"),
                    None => n.clone(),
                })
                .collect();
            return Err(PolicyError::new(
                &here,
                format!(
                    "include cycle: {} -> {} again",
                    chain.join(" -> "),
                    src.name
                ),
            ));
        }
        if self.done.contains(&src.name) {
            // Each source is merged once: including it again changes nothing.
            return Ok(());
        }
        let mut layer = parse(&src.name, &src.text, self.vars)?;
        self.stack
            .push((src.name.clone(), from.map(|f| f.1.clone())));
        for inc in std::mem::take(&mut layer.include) {
            self.visit(&inc.value, Some((&src.name, &inc.origin)))?;
        }
        self.stack.pop();
        self.done.push(src.name);
        check_port_removal(&self.acc, &layer)?;
        merge(&mut self.acc, layer);
        Ok(())
    }
}

/// Line and column (1-based, in characters) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Levenshtein distance (small strings: keys, capability and set names).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate nearest to `word`, if near enough to be a plausible typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The `[table]` header above byte `at`, for naming the section of an unknown key.
fn section_at(text: &str, at: usize) -> Option<&str> {
    let line_start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    text.get(..line_start)?.lines().rev().find_map(|l| {
        let l = l.trim();
        (l.starts_with('[') && !l.starts_with("[[")).then(|| l.trim_matches(['[', ']']).trim())
    })
}

pub(crate) fn toml_error(name: &str, text: &str, e: &toml::de::Error) -> PolicyError {
    let span = e.span().unwrap_or(0..0);
    let (line, col) = line_col(text, span.start);
    let at = Origin {
        file: name.to_string(),
        line,
        col,
        span: span.clone(),
    };
    let msg = e.message().trim();
    for (prefix, what) in [("unknown field `", "key"), ("unknown variant `", "value")] {
        let Some(rest) = msg.strip_prefix(prefix) else {
            continue;
        };
        let Some((bad, expected)) = rest.split_once('`') else {
            continue;
        };
        let valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let hint = suggest(bad, valid.iter().copied())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        let section = match (what, section_at(text, span.start)) {
            ("key", Some(s)) => format!(" in [{s}]"),
            _ => String::new(),
        };
        return PolicyError::new(
            &at,
            format!(
                "unknown {what} `{bad}`{section}{hint} (valid: {})",
                valid.join(", ")
            ),
        );
    }
    PolicyError::new(
        &at,
        msg.lines().next().unwrap_or("invalid TOML").to_string(),
    )
}

/// Every origin in a layer, including its booleans' grants.
fn origins(l: &mut Layer, f: &mut dyn FnMut(&mut Origin)) {
    let fs = &mut l.filesystem;
    let lists = [
        &mut l.include,
        &mut fs.ro,
        &mut fs.rw,
        &mut fs.dev,
        &mut fs.optional,
        &mut fs.tmpfs,
        &mut fs.masks,
        &mut fs.remove,
        &mut l.capabilities.add,
        &mut l.capabilities.remove,
        &mut l.seccomp.add_sets,
        &mut l.seccomp.remove_sets,
        &mut l.landlock.allow_exec,
        &mut l.environment.keep,
        &mut l.environment.unset,
    ];
    for list in lists {
        list.iter_mut().for_each(|i| f(&mut i.origin));
    }
    fs.symlinks.iter_mut().for_each(|i| f(&mut i.origin));
    if let Some(c) = &mut fs.chdir {
        f(&mut c.origin);
    }
    let net = &mut l.network;
    for list in [&mut net.remove_tcp_connect, &mut net.remove_tcp_bind] {
        list.iter_mut().for_each(|i| f(&mut i.origin));
    }
    l.set.values_mut().for_each(|i| f(&mut i.origin));
    l.limits.rlimits.values_mut().for_each(|i| f(&mut i.origin));
    l.environment
        .set
        .values_mut()
        .for_each(|i| f(&mut i.origin));
    for b in l.booleans.values_mut() {
        origins(&mut b.grants, f);
    }
}

/// Every path-valued entry (where `${VAR}` expands), with its origin.
fn paths(
    l: &mut Layer,
    f: &mut dyn FnMut(&mut String, &Origin) -> Result<(), PolicyError>,
) -> Result<(), PolicyError> {
    let fs = &mut l.filesystem;
    for list in [
        &mut fs.ro,
        &mut fs.rw,
        &mut fs.dev,
        &mut fs.optional,
        &mut fs.tmpfs,
        &mut fs.masks,
        &mut fs.remove,
        &mut l.landlock.allow_exec,
    ] {
        for i in list.iter_mut() {
            f(&mut i.value, &i.origin)?;
        }
    }
    for s in fs.symlinks.iter_mut() {
        f(&mut s.value.link, &s.origin)?;
        f(&mut s.value.target, &s.origin)?;
    }
    if let Some(c) = &mut fs.chdir {
        f(&mut c.value, &c.origin)?;
    }
    for b in l.booleans.values_mut() {
        paths(&mut b.grants, f)?;
    }
    Ok(())
}

fn expand(s: &mut String, at: &Origin, vars: &Vars) -> Result<(), PolicyError> {
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| PolicyError::new(at, format!("unterminated `${{` in {s:?}")))?;
        let name = &after[..end];
        let v = vars.get(name).ok_or_else(|| {
            let known: Vec<&str> = vars.keys().map(String::as_str).collect();
            PolicyError::new(
                at,
                format!(
                    "unknown variable `${{{name}}}` (known: {})",
                    known.join(", ")
                ),
            )
        })?;
        out.push_str(v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    *s = out;
    Ok(())
}

/// Parse one source into a layer: origins stamped, variables expanded, grants checked.
pub(crate) fn parse(name: &str, text: &str, vars: &Vars) -> Result<Layer, PolicyError> {
    let mut layer: Layer = toml::from_str(text).map_err(|e| toml_error(name, text, &e))?;
    origins(&mut layer, &mut |o| {
        let (line, col) = line_col(text, o.span.start);
        o.file = name.to_string();
        o.line = line;
        o.col = col;
    });
    paths(&mut layer, &mut |s, at| expand(s, at, vars))?;
    for (bname, b) in &layer.booleans {
        let g = &b.grants;
        if !g.include.is_empty() || !g.booleans.is_empty() || !g.set.is_empty() {
            let at = Origin {
                file: name.to_string(),
                ..Origin::default()
            };
            return Err(PolicyError::new(
                &at,
                format!("booleans.{bname}.grants: may not contain include, booleans or set"),
            ));
        }
    }
    Ok(layer)
}

/// Apply `--set` and booleans, then validate.
fn finish(mut layer: Layer, sources: Vec<String>) -> Result<Policy, PolicyError> {
    for (k, v) in &layer.set {
        if !layer.booleans.contains_key(k) {
            let hint = suggest(k, layer.booleans.keys().map(String::as_str))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            let known: Vec<&str> = layer.booleans.keys().map(String::as_str).collect();
            return Err(PolicyError::new(
                &v.origin,
                format!(
                    "unknown boolean `{k}`; {hint}(declared: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }
    let on: Vec<Layer> = layer
        .booleans
        .iter()
        .filter(|(k, b)| layer.set.get(*k).map_or(b.default, |v| v.value))
        .map(|(_, b)| (*b.grants).clone())
        .collect();
    for g in on {
        check_port_removal(&layer, &g)?;
        merge(&mut layer, g);
    }
    // Record every boolean's effective value so the merged policy shows it.
    let values: Vec<(String, bool)> = layer
        .booleans
        .iter()
        .map(|(k, b)| (k.clone(), layer.set.get(k).map_or(b.default, |v| v.value)))
        .collect();
    for (k, v) in values {
        layer
            .set
            .entry(k)
            .or_insert_with(|| Item::new(v, Origin::default()));
    }
    validate(&layer)?;
    Ok(Policy { layer, sources })
}

/// A layer may take ports back only from a restricted list (an earlier layer's, or its own,
/// which it adds after its removals): "every port but 22" is not expressible (Landlock allows
/// listed ports), and keeping 22 silently would not be what was asked.
fn check_port_removal(acc: &Layer, next: &Layer) -> Result<(), PolicyError> {
    let (a, n) = (&acc.network, &next.network);
    for (list, own, remove, key) in [
        (
            &a.tcp_connect,
            &n.tcp_connect,
            &n.remove_tcp_connect,
            "tcp_connect",
        ),
        (&a.tcp_bind, &n.tcp_bind, &n.remove_tcp_bind, "tcp_bind"),
    ] {
        if let (None, None, Some(r)) = (list, own, remove.first()) {
            return Err(PolicyError::new(
                &r.origin,
                format!(
                    "network.remove_{key}: port {} cannot be taken back: no earlier layer \
                     restricts {key} (unset means every port); list the ports it may use with \
                     {key} = [...]",
                    r.value
                ),
            ));
        }
    }
    Ok(())
}

fn jail_path(p: &str, what: &str, at: &Origin) -> Result<(), PolicyError> {
    if !p.starts_with('/') {
        return Err(PolicyError::new(
            at,
            format!("{what} {p:?}: must be an absolute path"),
        ));
    }
    if p.split('/').any(|c| c == "..") || p.contains('\0') {
        return Err(PolicyError::new(
            at,
            format!("{what} {p:?}: escapes the jail's root (`..` is not allowed)"),
        ));
    }
    Ok(())
}

fn validate(l: &Layer) -> Result<(), PolicyError> {
    let fs = &l.filesystem;
    // Every destination once: (jail path, kind, origin).
    let mut dsts: Vec<(&str, &str, &Origin)> = Vec::new();
    for (list, kind) in [(&fs.ro, "read-only"), (&fs.rw, "read-write")] {
        for e in list {
            let (host, jail) = Policy::bind_paths(&e.value);
            jail_path(host, &format!("filesystem: {kind} source"), &e.origin)?;
            jail_path(jail, &format!("filesystem: {kind} destination"), &e.origin)?;
            if kind == "read-write" && norm(host) == "/" {
                return Err(PolicyError::new(
                    &e.origin,
                    "filesystem: read-write source \"/\": the whole host writable is no jail \
                     (run from a project directory, or bind a narrower path)",
                ));
            }
            dsts.push((norm(jail), kind, &e.origin));
        }
    }
    for e in &fs.dev {
        let (host, jail) = Policy::bind_paths(&e.value);
        jail_path(host, "filesystem: device source", &e.origin)?;
        jail_path(jail, "filesystem: device destination", &e.origin)?;
        let h = norm(host);
        if !h.starts_with("/dev/") {
            return Err(PolicyError::new(
                &e.origin,
                format!(
                    "filesystem: device source {host:?}: must be under /dev (use ro or rw for \
                     other paths)"
                ),
            ));
        }
        if !safe_device(h) && fs.allow_dangerous_devices.is_none() {
            return Err(PolicyError::new(
                &e.origin,
                format!(
                    "filesystem: device {h} is not one of the known-safe devices ({}); a disk, \
                     /dev/mem or a console gives the program the host: grant it with \
                     allow_dangerous_devices = \"{LOUD}\" in [filesystem]",
                    SAFE_DEVICES.join(", ")
                ),
            ));
        }
        dsts.push((norm(jail), "a device", &e.origin));
    }
    for e in &fs.optional {
        jail_path(&e.value, "filesystem: optional source", &e.origin)?;
    }
    for (list, kind) in [(&fs.tmpfs, "tmpfs"), (&fs.masks, "masked")] {
        for e in list {
            jail_path(&e.value, &format!("filesystem: {kind}"), &e.origin)?;
            dsts.push((norm(&e.value), kind, &e.origin));
        }
    }
    for s in &fs.symlinks {
        jail_path(&s.value.link, "filesystem: symlink", &s.origin)?;
        if s.value.target.is_empty() {
            return Err(PolicyError::new(
                &s.origin,
                "filesystem: symlink with an empty target",
            ));
        }
        dsts.push((norm(&s.value.link), "a symlink", &s.origin));
    }
    for (p, kind, at) in &dsts {
        for kfs in ["/proc", "/dev/pts"] {
            if *p == kfs || p.strip_prefix(kfs).is_some_and(|r| r.starts_with('/')) {
                return Err(PolicyError::new(
                    at,
                    format!("filesystem: {kind} {p}: cannot mount over or inside {kfs} (a kernel file system of the jail)"),
                ));
            }
        }
    }
    for (i, (p, kind, at)) in dsts.iter().enumerate() {
        if let Some((_, k2, at2)) = dsts[..i].iter().find(|(q, _, _)| q == p) {
            return Err(PolicyError::new(
                at,
                format!(
                    "conflicting grants: {p} is {kind} here and {k2} at {at2}; \
                     take one back with filesystem.remove"
                ),
            ));
        }
    }
    if let Some(c) = &fs.chdir {
        if c.value != "/" {
            jail_path(&c.value, "filesystem.chdir", &c.origin)?;
        }
    }
    for e in &l.landlock.allow_exec {
        jail_path(&e.value, "landlock.allow_exec", &e.origin)?;
    }

    for c in &l.capabilities.add {
        let n = normalize_cap(&c.value);
        if !CAPABILITIES.contains(&n.as_str()) {
            let hint = suggest(&n, CAPABILITIES.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(PolicyError::new(
                &c.origin,
                format!(
                    "unknown capability `{}`{hint} (see capabilities(7))",
                    c.value
                ),
            ));
        }
        if DANGEROUS_CAPS.contains(&n.as_str()) && l.capabilities.allow_dangerous.is_none() {
            return Err(PolicyError::new(
                &c.origin,
                format!(
                    "capability `{n}` is dangerous (it weakens the jail itself); grant it with \
                     allow_dangerous = \"{LOUD}\" in [capabilities]"
                ),
            ));
        }
    }

    let sc = &l.seccomp;
    for s in sc.add_sets.iter().chain(&sc.remove_sets) {
        if sets::get(&s.value).is_none() {
            let all: Vec<&str> = sets::SETS.iter().map(|s| s.name).collect();
            let hint = suggest(&s.value, all.iter().copied())
                .map(|x| format!("; did you mean `{x}`?"))
                .unwrap_or_default();
            return Err(PolicyError::new(
                &s.origin,
                format!("unknown syscall set `{}`{hint}", s.value),
            ));
        }
    }
    for s in &sc.add_sets {
        if DANGEROUS_SETS.contains(&s.value.as_str()) && sc.allow_dangerous.is_none() {
            return Err(PolicyError::new(
                &s.origin,
                format!(
                    "syscall set `{}` is dangerous; allow it with allow_dangerous = \"{LOUD}\" \
                     in [seccomp]",
                    s.value
                ),
            ));
        }
    }
    if sc.profile.as_deref() == Some("none") {
        if let Some(s) = sc.add_sets.iter().chain(&sc.remove_sets).next() {
            return Err(PolicyError::new(
                &s.origin,
                format!(
                    "seccomp set `{}` given, but seccomp.profile is \"none\" (no filter to change)",
                    s.value
                ),
            ));
        }
    }
    for (k, v) in &l.limits.rlimits {
        if !RLIMITS.contains(&k.as_str()) {
            let hint = suggest(k, RLIMITS.iter().copied())
                .map(|x| format!("; did you mean `{x}`?"))
                .unwrap_or_default();
            return Err(PolicyError::new(
                &v.origin,
                format!("unknown resource limit `{k}`{hint} (limits.rlimits)"),
            ));
        }
    }
    for (k, v) in &l.environment.set {
        if k.is_empty() || k.contains(['=', '\0']) {
            return Err(PolicyError::new(
                &v.origin,
                format!("environment.set: {k:?} is not a valid variable name"),
            ));
        }
    }
    Ok(())
}
