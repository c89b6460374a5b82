//! Memory-deny-write-execute (PR_SET_MDWE) with PaX-style per-binary exceptions.
//!
//! By default the program runs with `PR_MDWE_REFUSE_EXEC_GAIN`: no mapping can be (or become)
//! both writable and executable. The kernel keeps it across fork and execve and never lifts it.
//! A binary marked `m` in `user.pax.flags` (a JIT such as node) runs without it; one marked `r`
//! runs without address-space randomisation. `--allow-jit` turns MDWE off for one run.

use ironpen_sys::confine::{add_personality, ADDR_NO_RANDOMIZE};
use ironpen_sys::process::{get_mdwe, set_mdwe, MDWE_REFUSE_EXEC_GAIN};

use crate::error::{Ctx, SetupError};
use crate::pax::{self, PaxFlags, XATTR};
use crate::report::Entry;
use crate::spec::{JailSpec, Protection};

const FEATURE: &str = "mdwe";
const EINVAL: i32 = 22;

/// Apply MDWE to the calling process (the program, just before execve); `program` is the
/// resolved path it will execute.
pub(crate) fn apply(spec: &JailSpec, program: &str) -> Result<Entry, SetupError> {
    if spec.mdwe == Protection::Off {
        return Ok(Entry::waived(
            FEATURE,
            "disabled by request (--allow-jit): writable+executable memory allowed",
        ));
    }
    let (mark, mut notes) = find_mark(spec, program);
    if let Some(m) = mark.as_ref().filter(|m| m.flags.randmmap_disabled()) {
        add_personality(ADDR_NO_RANDOMIZE).ctx("personality(ADDR_NO_RANDOMIZE)", || {
            format!("{} (PaX mark r)", m.file)
        })?;
        notes.push(format!("ASLR off: {} is marked r", m.file));
    }
    let inherited = get_mdwe().is_ok_and(|b| b & MDWE_REFUSE_EXEC_GAIN != 0);
    if let Some(m) = mark.as_ref().filter(|m| m.flags.mprotect_disabled()) {
        if inherited {
            notes.insert(
                0,
                format!(
                    "PR_MDWE_REFUSE_EXEC_GAIN inherited from ironpen's caller: the m mark of {} cannot lift it",
                    m.file
                ),
            );
            return Ok(Entry::full(FEATURE, notes.join("; ")));
        }
        let why = if m.builtin {
            format!(
                "{} is a known JIT runtime (built-in PaX-style m exception): JIT allowed, no W^X",
                m.file
            )
        } else {
            format!(
                "{} is marked m ({XATTR}={}): JIT allowed, no W^X",
                m.file, m.raw
            )
        };
        if spec.mdwe == Protection::Required {
            return Err(SetupError::other(
                FEATURE,
                &m.file,
                format!("required, but {why}"),
            ));
        }
        notes.insert(0, why);
        return Ok(Entry::waived(FEATURE, notes.join("; ")));
    }
    match set_mdwe(MDWE_REFUSE_EXEC_GAIN) {
        Ok(()) => {
            notes.insert(
                0,
                "PR_MDWE_REFUSE_EXEC_GAIN: no writable+executable memory (JITs need `ironpen pax set BINARY m` or --allow-jit)".into(),
            );
            Ok(Entry::full(FEATURE, notes.join("; ")))
        }
        Err(e) if e.raw_os_error() == Some(EINVAL) => {
            let why = "kernel lacks PR_SET_MDWE (Linux >= 6.3)";
            if spec.mdwe.required(spec.strict) {
                return Err(SetupError::other(
                    FEATURE,
                    "",
                    format!("required, but {why}"),
                ));
            }
            notes.insert(0, why.into());
            Ok(Entry::off(FEATURE, notes.join("; ")))
        }
        Err(e) => Err(SetupError::os(
            "prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)",
            program,
            e,
        )),
    }
}

/// A marking found on the program (or on the interpreter that runs it).
struct Mark {
    file: String,
    raw: String,
    flags: PaxFlags,
    /// From ironpen's built-in list of JIT runtimes, not from the file's own xattr.
    builtin: bool,
}

/// JIT runtimes that cannot run under W^X, exempted like a distribution's PaX markings do
/// (Gentoo marks these `m` when it installs them). Matched on the file name of the program ironpen
/// starts (or its `#!` interpreter) after resolving symlinks. A program started by another
/// program (e.g. node from a shell script) inherits MDWE: see docs/mdwe.md.
const KNOWN_JITS: &[&str] = &[
    "node",
    "nodejs",
    "deno",
    "bun",
    "java",
    "javac",
    "jar",
    "keytool",
    "jshell",
    "dotnet",
    "mono",
    "luajit",
    "pypy",
    "pypy3",
    "julia",
    "qemu-system-x86_64",
    "qemu-x86_64",
];

/// The first valid marking among the program and, for a `#!` script, its interpreter (and the
/// program `#!/usr/bin/env NAME` names). Invalid markings are ignored (the binary gets the
/// default protections) and noted.
fn find_mark(spec: &JailSpec, program: &str) -> (Option<Mark>, Vec<String>) {
    let mut notes = Vec::new();
    let candidates = candidates_of(spec, program);
    for file in candidates.iter().cloned() {
        match pax::read_raw(std::path::Path::new(&file)) {
            Ok(Some(raw)) => match PaxFlags::parse(&raw) {
                Ok(flags) if !flags.is_empty() => {
                    let builtin = false;
                    return (
                        Some(Mark {
                            file,
                            raw,
                            flags,
                            builtin,
                        }),
                        notes,
                    );
                }
                Ok(_) => {}
                Err(e) => notes.push(format!("ignored marking of {file}: {e}")),
            },
            Ok(None) => {}
            // Unreadable attributes (e.g. an execute-only file) count as "no marking".
            Err(_) => {}
        }
    }
    for file in candidates_builtin(&candidates) {
        if let Ok(flags) = PaxFlags::parse("m") {
            let raw = "m".to_string();
            return (
                Some(Mark {
                    file,
                    raw,
                    flags,
                    builtin: true,
                }),
                notes,
            );
        }
    }
    (None, notes)
}

/// The program and its `#!` interpreter(s), as `find_mark` considers them.
fn candidates_of(spec: &JailSpec, program: &str) -> Vec<String> {
    let mut candidates = vec![program.to_string()];
    if let Some((interp, arg)) = shebang(program) {
        let is_env = interp.rsplit('/').next() == Some("env");
        candidates.push(interp);
        if let (true, Some(name)) = (is_env, arg) {
            if let Some(p) = crate::child::search_path(spec, &name) {
                candidates.push(p);
            }
        }
    }
    candidates
}

/// Candidates whose real file (symlinks resolved) is a known JIT runtime.
fn candidates_builtin(candidates: &[String]) -> impl Iterator<Item = String> + '_ {
    candidates.iter().filter_map(|c| {
        let real = std::fs::canonicalize(c).ok()?;
        let name = real.file_name()?.to_str()?;
        KNOWN_JITS.contains(&name).then(|| c.clone())
    })
}

/// `#!INTERPRETER [ARG]` of a script, as the kernel splits it (one optional argument).
fn shebang(program: &str) -> Option<(String, Option<String>)> {
    use rustix::fs::{FileType, Mode, OFlags};
    // Non-blocking and regular files only: `ironpen run -- /dev/tty` or a FIFO must not hang here.
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = rustix::fs::open(program, flags, Mode::empty()).ok()?;
    let st = rustix::fs::fstat(&fd).ok()?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return None;
    }
    let mut head = [0u8; 256];
    let n = rustix::io::read(&fd, &mut head).ok()?;
    parse_shebang(&head[..n])
}

fn parse_shebang(head: &[u8]) -> Option<(String, Option<String>)> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim();
    let (interp, arg) = match line.split_once([' ', '\t']) {
        Some((i, a)) => (i, Some(a.trim().to_string()).filter(|a| !a.is_empty())),
        None => (line, None),
    };
    if interp.is_empty() {
        return None;
    }
    // `env NAME`: the argument is the program; `env -S ...` and friends are not followed.
    let arg = arg.filter(|a| !a.starts_with('-') && !a.contains([' ', '\t']));
    Some((interp.to_string(), arg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_lines_are_split_like_the_kernel() {
        assert_eq!(
            parse_shebang(b"#!/bin/sh\necho"),
            Some(("/bin/sh".into(), None))
        );
        assert_eq!(
            parse_shebang(b"#! /usr/bin/env node\n"),
            Some(("/usr/bin/env".into(), Some("node".into())))
        );
        assert_eq!(
            parse_shebang(b"#!/usr/bin/env -S node --x\n"),
            Some(("/usr/bin/env".into(), None))
        );
        assert_eq!(
            parse_shebang(b"#!/usr/bin/python3 -u\n"),
            Some(("/usr/bin/python3".into(), None))
        );
        assert_eq!(parse_shebang(b"\x7fELF"), None);
        assert_eq!(parse_shebang(b"#!\n"), None);
    }
}

#[cfg(test)]
mod plan_tests {
    use crate::plan::Request;
    use crate::spec::Protection;

    #[test]
    fn options_reach_the_plan() {
        let base = Request {
            argv: vec!["true".into()],
            ..Default::default()
        };
        let spec = base.plan().unwrap();
        assert_eq!(
            (spec.mdwe, spec.landlock),
            (Protection::BestEffort, Protection::BestEffort)
        );
        assert!(spec.exec_paths.is_empty());
        let spec = Request {
            allow_jit: true,
            landlock: Some(Protection::Required),
            allow_exec: vec!["/tmp//x/".into()],
            ..base.clone()
        }
        .plan()
        .unwrap();
        assert_eq!(spec.mdwe, Protection::Off);
        assert_eq!(spec.landlock, Protection::Required);
        assert_eq!(spec.exec_paths, [std::path::PathBuf::from("/tmp/x")]);
        let e = Request {
            allow_exec: vec!["tmp".into()],
            ..base
        }
        .plan()
        .unwrap_err();
        assert_eq!(e.arg, "--allow-exec");
    }
}
