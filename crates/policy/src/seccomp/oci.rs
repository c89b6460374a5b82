//! Import of OCI runtime-spec / Docker seccomp JSON profiles (`linux.seccomp` of config.json, or
//! Docker's `profiles/seccomp/default.json` with `includes`/`excludes`), decided the way
//! Docker + runc + libseccomp decide them for one architecture and capability set.
//!
//! Differences from Docker, all stricter: only the native ABI is allowed (32-bit and x32
//! sub-architectures get the deny action), and comparisons are 64-bit as in libseccomp.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::ir::{Action, Cond, Filter, Op, Rule, Width};
use super::syscalls::{known_on_some_arch, Arch};
use super::EPERM;

/// What `includes`/`excludes` are evaluated against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OciContext {
    pub arch: Arch,
    /// Capabilities the container keeps, as `CAP_SYS_ADMIN` etc.
    pub caps: BTreeSet<String>,
    /// Running kernel (major, minor) for `minKernel`; `None` means "new enough for any".
    pub kernel: Option<(u32, u32)>,
}

impl OciContext {
    /// Native architecture (x86_64 if we do not know it), no capabilities, a current kernel.
    pub fn new(arch: Arch) -> OciContext {
        OciContext {
            arch,
            caps: BTreeSet::new(),
            kernel: None,
        }
    }
    fn go_arch(&self) -> &'static str {
        match self.arch {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }
}

/// A profile we cannot take, with the JSON field it is about.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("seccomp profile: {field}: {reason}")]
pub struct OciError {
    /// Path of the offending field, e.g. `syscalls[3].args[0].op`.
    pub field: String,
    pub reason: String,
}

fn err<T>(field: impl Into<String>, reason: impl Into<String>) -> Result<T, OciError> {
    Err(OciError {
        field: field.into(),
        reason: reason.into(),
    })
}

fn get_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, OciError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => err(
            format!("{path}{key}"),
            format!("expected a string, found {}", kind(v)),
        ),
    }
}

fn get_u64(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<u64>, OciError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) => Ok(Some(v)),
            None => err(
                format!("{path}{key}"),
                format!("expected an unsigned 64-bit integer, found {n}"),
            ),
        },
        Some(v) => err(
            format!("{path}{key}"),
            format!("expected a number, found {}", kind(v)),
        ),
    }
}

fn get_strs<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Vec<&'a str>, OciError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().ok_or_else(|| OciError {
                    field: format!("{path}{key}[{i}]"),
                    reason: format!("expected a string, found {}", kind(v)),
                })
            })
            .collect(),
        Some(v) => err(
            format!("{path}{key}"),
            format!("expected an array of strings, found {}", kind(v)),
        ),
    }
}

fn get_obj<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, OciError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(v) => err(
            format!("{path}{key}"),
            format!("expected an object, found {}", kind(v)),
        ),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn errno_of(v: Option<u64>, field: &str) -> Result<u16, OciError> {
    match v {
        None => Ok(EPERM),
        Some(e) if e <= 4095 => Ok(u16::try_from(e).expect("checked")),
        Some(e) => err(field, format!("errno {e} is larger than 4095")),
    }
}

fn action(
    name: &str,
    errno: Option<u64>,
    field: &str,
    errno_field: &str,
) -> Result<Action, OciError> {
    Ok(match name {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(errno_of(errno, errno_field)?),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap(0),
        "SCMP_ACT_TRACE" => Action::Trace(errno_of(errno, errno_field)?),
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_NOTIFY" => Action::UserNotify,
        other => return err(field, format!("unknown action `{other}`")),
    })
}

fn parse_version(s: &str) -> Option<(u32, u32)> {
    let mut it = s.trim().split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

/// Does an `includes`/`excludes` block match the context? (`None` when the block is empty.)
/// Docker: all listed caps must be held; the arch must be listed; the kernel at least minKernel.
fn block_matches(
    block: Option<&Map<String, Value>>,
    ctx: &OciContext,
    path: &str,
    include: bool,
) -> Result<bool, OciError> {
    let Some(b) = block else { return Ok(include) };
    let arches = get_strs(b, "arches", path)?;
    let caps = get_strs(b, "caps", path)?;
    let min_kernel = match get_str(b, "minKernel", path)? {
        Some(s) => Some(parse_version(s).ok_or_else(|| OciError {
            field: format!("{path}minKernel"),
            reason: format!("`{s}` is not a kernel version like 4.8"),
        })?),
        None => None,
    };
    let arch_hit = arches.contains(&ctx.go_arch());
    let kernel_ok = |min: (u32, u32)| !matches!(ctx.kernel, Some(k) if k < min);
    if include {
        Ok((arches.is_empty() || arch_hit)
            && caps.iter().all(|c| ctx.caps.contains(*c))
            && !matches!(min_kernel, Some(m) if !kernel_ok(m)))
    } else {
        // Excluded when any listed item applies.
        Ok(arch_hit
            || caps.iter().any(|c| ctx.caps.contains(*c))
            || min_kernel.is_some_and(kernel_ok))
    }
}

fn cond(a: &Value, path: &str) -> Result<Cond, OciError> {
    let Value::Object(o) = a else {
        return err(path, format!("expected an object, found {}", kind(a)));
    };
    let p = format!("{path}.");
    let index = get_u64(o, "index", &p)?.ok_or_else(|| OciError {
        field: format!("{p}index"),
        reason: "missing".into(),
    })?;
    let arg = match u8::try_from(index) {
        Ok(i) if i <= 5 => i,
        _ => {
            return err(
                format!("{p}index"),
                format!("argument index {index} is not in 0..=5"),
            )
        }
    };
    let value = get_u64(o, "value", &p)?.unwrap_or(0);
    let two = get_u64(o, "valueTwo", &p)?.unwrap_or(0);
    let op = get_str(o, "op", &p)?.ok_or_else(|| OciError {
        field: format!("{p}op"),
        reason: "missing".into(),
    })?;
    let (op, value) = match op {
        "SCMP_CMP_EQ" => (Op::Eq, value),
        "SCMP_CMP_NE" => (Op::Ne, value),
        "SCMP_CMP_LT" => (Op::Lt, value),
        "SCMP_CMP_LE" => (Op::Le, value),
        "SCMP_CMP_GT" => (Op::Gt, value),
        "SCMP_CMP_GE" => (Op::Ge, value),
        // libseccomp: (arg & value) == valueTwo
        "SCMP_CMP_MASKED_EQ" => (Op::MaskedEq { mask: value }, two),
        other => return err(format!("{p}op"), format!("unknown comparison `{other}`")),
    };
    Ok(Cond::new(arg, Width::W64, op, value))
}

const KNOWN_ARCHES: &[&str] = &[
    "SCMP_ARCH_NATIVE",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

/// Parse an OCI/Docker seccomp profile and decide its `includes`/`excludes` for `ctx`.
pub fn from_oci_json(json: &str, ctx: &OciContext) -> Result<Filter, OciError> {
    let root: Value = serde_json::from_str(json).map_err(|e| OciError {
        field: "(document)".into(),
        reason: format!("not valid JSON: {e}"),
    })?;
    let Value::Object(root) = root else {
        return err("(document)", "expected a JSON object");
    };
    let default_errno = get_u64(&root, "defaultErrnoRet", "")?;
    let default_name = get_str(&root, "defaultAction", "")?.ok_or_else(|| OciError {
        field: "defaultAction".into(),
        reason: "missing".into(),
    })?;
    let default = action(
        default_name,
        default_errno,
        "defaultAction",
        "defaultErrnoRet",
    )?;

    for (i, a) in get_strs(&root, "architectures", "")?.iter().enumerate() {
        if !KNOWN_ARCHES.contains(a) {
            return err(
                format!("architectures[{i}]"),
                format!("unknown architecture `{a}`"),
            );
        }
    }
    if let Some(Value::Array(map)) = root.get("archMap") {
        for (i, m) in map.iter().enumerate() {
            let p = format!("archMap[{i}].");
            let Value::Object(m) = m else {
                return err(
                    format!("archMap[{i}]"),
                    format!("expected an object, found {}", kind(m)),
                );
            };
            let main = get_str(m, "architecture", &p)?.unwrap_or("");
            if !KNOWN_ARCHES.contains(&main) {
                return err(
                    format!("{p}architecture"),
                    format!("unknown architecture `{main}`"),
                );
            }
            for (j, s) in get_strs(m, "subArchitectures", &p)?.iter().enumerate() {
                if !KNOWN_ARCHES.contains(s) {
                    return err(
                        format!("{p}subArchitectures[{j}]"),
                        format!("unknown architecture `{s}`"),
                    );
                }
            }
        }
    } else if let Some(v) = root.get("archMap").filter(|v| !v.is_null()) {
        return err("archMap", format!("expected an array, found {}", kind(v)));
    }

    let mut filter = Filter::new(default);
    // Docker allows x32 and i386 as sub-architectures; we only take the native ABI.
    let deny = if default.permits() {
        Action::Errno(EPERM)
    } else {
        default
    };
    filter.x32_action = deny;
    filter.bad_arch_action = Action::KillProcess;

    let table = ctx.arch.table();
    let calls = match root.get("syscalls") {
        None | Some(Value::Null) => &Vec::new(),
        Some(Value::Array(a)) => a,
        Some(v) => return err("syscalls", format!("expected an array, found {}", kind(v))),
    };
    // Per syscall: conditional rules keep file order and come before unconditional ones, so an
    // unconditional rule acts as that syscall's fallback (libseccomp's tree has no order).
    let mut uncond: Vec<(String, Rule)> = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let path = format!("syscalls[{i}]");
        let Value::Object(c) = call else {
            return err(path, format!("expected an object, found {}", kind(call)));
        };
        let p = format!("{path}.");
        let mut names = get_strs(c, "names", &p)?;
        if let Some(n) = get_str(c, "name", &p)? {
            names.push(n);
        }
        if names.is_empty() {
            return err(format!("{p}names"), "no syscall names");
        }
        let act_name = get_str(c, "action", &p)?.ok_or_else(|| OciError {
            field: format!("{p}action"),
            reason: "missing".into(),
        })?;
        let act = action(
            act_name,
            get_u64(c, "errnoRet", &p)?,
            &format!("{p}action"),
            &format!("{p}errnoRet"),
        )?;
        let args = match c.get("args") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(j, a)| cond(a, &format!("{p}args[{j}]")))
                .collect::<Result<Vec<_>, _>>()?,
            Some(v) => {
                return err(
                    format!("{p}args"),
                    format!("expected an array, found {}", kind(v)),
                )
            }
        };
        if !block_matches(
            get_obj(c, "includes", &p)?,
            ctx,
            &format!("{p}includes."),
            true,
        )? {
            continue;
        }
        if block_matches(
            get_obj(c, "excludes", &p)?,
            ctx,
            &format!("{p}excludes."),
            false,
        )? {
            continue;
        }
        if act == default {
            continue; // runc skips these: libseccomp refuses a rule that repeats the default
        }
        // runc: several conditions on one argument become one rule per condition (an OR).
        let mut seen = [0u8; 6];
        for a in &args {
            seen[usize::from(a.arg)] += 1;
        }
        let rules: Vec<Rule> = if seen.iter().any(|n| *n > 1) {
            args.iter().map(|a| Rule::when(act, vec![*a])).collect()
        } else {
            vec![Rule::when(act, args.clone())]
        };
        let comment = get_str(c, "comment", &p)?
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        for (j, name) in names.iter().enumerate() {
            if table.nr(name).is_none() {
                if known_on_some_arch(name) {
                    continue; // like runc: another architecture's syscall is skipped here
                }
                // A typo would silently drop the rule (runc skips it too): refuse instead.
                let hint = crate::model::suggest(name, table.names())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return err(
                    format!("{p}names[{j}]"),
                    format!("`{name}` is not a syscall on any architecture{hint}"),
                );
            }
            for r in &rules {
                let mut r = r.clone();
                r.comment = comment.clone();
                if r.conds.is_empty() {
                    uncond.push((name.to_string(), r));
                } else {
                    filter.add(name, r);
                }
            }
        }
    }
    for (name, r) in uncond {
        filter.add(&name, r);
    }
    Ok(filter)
}

/// Read a seccomp profile file in either format: OCI/Docker JSON (it has `defaultAction`) or
/// ironpen's own (the serde form of [`Filter`], with `default_action`).
pub fn parse_profile(text: &str, ctx: &OciContext) -> Result<Filter, OciError> {
    let v: Value = serde_json::from_str(text).map_err(|e| OciError {
        field: "(document)".into(),
        reason: format!("not valid JSON: {e}"),
    })?;
    match &v {
        Value::Object(o) if o.contains_key("defaultAction") => from_oci_json(text, ctx),
        Value::Object(o) if o.contains_key("default_action") => {
            let f: Filter = serde_json::from_value(v).map_err(|e| OciError {
                field: "(document)".into(),
                reason: format!("not an ironpen seccomp filter: {e}"),
            })?;
            f.validate().map_err(|e| OciError {
                field: format!("syscalls.{}[{}]", e.syscall, e.rule),
                reason: e.reason,
            })?;
            Ok(f)
        }
        _ => err(
            "(document)",
            "neither an OCI seccomp profile (defaultAction) nor an ironpen filter (default_action)",
        ),
    }
}
