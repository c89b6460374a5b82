//! PaX-style per-binary markings, kept where Gentoo Hardened keeps them: the `user.pax.flags`
//! extended attribute of the executable. An uppercase letter enables a feature, a lowercase one
//! disables it, `-` is a placeholder (paxctl-ng writes e.g. `-em--`). ironpen honours two:
//! `m` (MPROTECT off: run without memory-deny-write-execute, for JITs) and `r` (RANDMMAP off:
//! run without address-space randomisation). See docs/mdwe.md.

use std::fmt;
use std::path::Path;

/// The extended attribute holding the marking.
pub const XATTR: &str = "user.pax.flags";

/// The PaX features, in the order paxctl prints them.
const FEATURES: [(char, &str); 5] = [
    ('p', "PAGEEXEC"),
    ('e', "EMUTRAMP"),
    ('m', "MPROTECT"),
    ('r', "RANDMMAP"),
    ('s', "SEGMEXEC"),
];

/// A parsed marking: per feature, enabled (uppercase), disabled (lowercase) or not mentioned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaxFlags {
    enabled: u8,
    disabled: u8,
}

impl PaxFlags {
    /// Parse a marking such as `m`, `mr`, `PeMRs` or `-em--`. Unknown letters and a feature both
    /// enabled and disabled are errors that name the letter.
    pub fn parse(s: &str) -> Result<Self, PaxError> {
        let mut f = PaxFlags::default();
        for c in s.chars() {
            if c == '-' {
                continue;
            }
            let lower = c.to_ascii_lowercase();
            let Some(bit) = FEATURES.iter().position(|(l, _)| *l == lower) else {
                return Err(PaxError::BadLetter {
                    flags: s.into(),
                    letter: c,
                });
            };
            let bit = 1u8 << bit;
            if c.is_ascii_uppercase() {
                f.enabled |= bit;
            } else {
                f.disabled |= bit;
            }
            if f.enabled & f.disabled & bit != 0 {
                return Err(PaxError::Conflict {
                    flags: s.into(),
                    letter: lower,
                });
            }
        }
        Ok(f)
    }

    /// `m`: MPROTECT disabled, i.e. the binary may create writable-then-executable memory.
    pub fn mprotect_disabled(&self) -> bool {
        self.disabled & (1 << 2) != 0
    }

    /// `r`: RANDMMAP disabled, i.e. the binary may run without address-space randomisation.
    pub fn randmmap_disabled(&self) -> bool {
        self.disabled & (1 << 3) != 0
    }

    pub fn is_empty(&self) -> bool {
        self.enabled == 0 && self.disabled == 0
    }

    /// One line per mentioned feature, e.g. `m  MPROTECT disabled (honoured: runs without MDWE)`.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, (letter, name)) in FEATURES.iter().enumerate() {
            let bit = 1u8 << i;
            let (shown, state) = if self.enabled & bit != 0 {
                (letter.to_ascii_uppercase(), "enabled")
            } else if self.disabled & bit != 0 {
                (*letter, "disabled")
            } else {
                continue;
            };
            let effect = match (*letter, state) {
                ('m', "disabled") => "honoured: runs without memory-deny-write-execute",
                ('r', "disabled") => "honoured: runs without address-space randomisation",
                ('m', _) | ('r', _) => "the default in ironpen",
                _ => "no effect in ironpen (PaX kernel feature)",
            };
            out.push(format!("{shown}  {name} {state} ({effect})"));
        }
        out
    }
}

impl fmt::Display for PaxFlags {
    /// The canonical spelling: mentioned features in PEMRS order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (letter, _)) in FEATURES.iter().enumerate() {
            let bit = 1u8 << i;
            if self.enabled & bit != 0 {
                write!(f, "{}", letter.to_ascii_uppercase())?;
            } else if self.disabled & bit != 0 {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// What can go wrong reading, parsing or writing a marking.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum PaxError {
    #[error("PaX flags {flags:?}: unknown letter {letter:?} (use P E M R S, lowercase = disabled, '-' = unset)")]
    BadLetter { flags: String, letter: char },
    #[error("PaX flags {flags:?}: {letter:?} is both enabled and disabled")]
    Conflict { flags: String, letter: char },
    #[error("{op}({path:?}, {XATTR}): {message}")]
    Io {
        op: &'static str,
        path: String,
        errno: Option<i32>,
        message: String,
    },
}

impl PaxError {
    fn io(op: &'static str, path: &Path, e: rustix::io::Errno) -> Self {
        let hint = match e {
            rustix::io::Errno::NOTSUP => {
                "; the file system does not support user extended attributes"
            }
            rustix::io::Errno::ACCESS | rustix::io::Errno::PERM if op == "setxattr" => {
                "; only the file's owner (or root) can mark it: mark a copy you own"
            }
            rustix::io::Errno::ROFS => "; the file system is read-only",
            _ => "",
        };
        let text = std::io::Error::from(e).to_string();
        let text = text.split(" (os error").next().unwrap_or(&text).to_string();
        PaxError::Io {
            op,
            path: path.display().to_string(),
            errno: Some(e.raw_os_error()),
            message: format!("{text} (errno {}){hint}", e.raw_os_error()),
        }
    }
}

/// The raw marking of `path` (symlinks followed), `None` when it has none.
pub fn read_raw(path: &Path) -> Result<Option<String>, PaxError> {
    let mut buf = [0u8; 64];
    match rustix::fs::getxattr(path, XATTR, &mut buf[..]) {
        Ok(n) => {
            let v = &buf[..n.min(buf.len())];
            let s = String::from_utf8_lossy(v);
            Ok(Some(
                s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                    .to_string(),
            ))
        }
        Err(rustix::io::Errno::NODATA) => Ok(None),
        Err(rustix::io::Errno::RANGE) => Err(PaxError::Io {
            op: "getxattr",
            path: path.display().to_string(),
            errno: None,
            message: "value longer than 64 bytes: not a PaX marking".into(),
        }),
        Err(e) => Err(PaxError::io("getxattr", path, e)),
    }
}

/// The parsed marking of `path`, `None` when it has none.
pub fn get(path: &Path) -> Result<Option<PaxFlags>, PaxError> {
    read_raw(path)?.map(|s| PaxFlags::parse(&s)).transpose()
}

/// Write `flags` as the marking of `path` (canonical spelling); an empty marking removes the
/// attribute.
pub fn set(path: &Path, flags: &PaxFlags) -> Result<(), PaxError> {
    if flags.is_empty() {
        return match rustix::fs::removexattr(path, XATTR) {
            Ok(()) | Err(rustix::io::Errno::NODATA) => Ok(()),
            Err(e) => Err(PaxError::io("removexattr", path, e)),
        };
    }
    let value = flags.to_string();
    rustix::fs::setxattr(
        path,
        XATTR,
        value.as_bytes(),
        rustix::fs::XattrFlags::empty(),
    )
    .map_err(|e| PaxError::io("setxattr", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gentoo_spellings() {
        let m = PaxFlags::parse("m").unwrap();
        assert!(m.mprotect_disabled() && !m.randmmap_disabled());
        let f = PaxFlags::parse("PeMRs").unwrap();
        assert!(!f.mprotect_disabled() && !f.randmmap_disabled());
        assert_eq!(f.to_string(), "PeMRs");
        let f = PaxFlags::parse("-em--").unwrap();
        assert!(f.mprotect_disabled());
        assert_eq!(f.to_string(), "em");
        let f = PaxFlags::parse("rm").unwrap();
        assert!(f.mprotect_disabled() && f.randmmap_disabled());
        assert_eq!(f.to_string(), "mr");
        assert!(PaxFlags::parse("").unwrap().is_empty());
        assert!(PaxFlags::parse("-----").unwrap().is_empty());
    }

    #[test]
    fn bad_letters_are_named() {
        let e = PaxFlags::parse("mq").unwrap_err();
        assert_eq!(
            e,
            PaxError::BadLetter {
                flags: "mq".into(),
                letter: 'q'
            }
        );
        assert!(e.to_string().contains("'q'"), "{e}");
        let e = PaxFlags::parse("mM").unwrap_err();
        assert!(matches!(e, PaxError::Conflict { letter: 'm', .. }), "{e}");
        assert!(PaxFlags::parse("m r").is_err());
    }

    #[test]
    fn describe_says_what_ironpen_honours() {
        let d = PaxFlags::parse("Pmr").unwrap().describe();
        assert_eq!(d.len(), 3);
        assert!(d[0].starts_with("P  PAGEEXEC enabled"));
        assert!(d[1].contains("without memory-deny-write-execute"));
        assert!(d[2].contains("randomisation"));
    }

    #[test]
    fn set_get_and_clear_on_a_real_file() {
        let dir = std::env::temp_dir().join(format!("ironpen-pax-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bin");
        std::fs::write(&file, b"x").unwrap();
        let result = (|| {
            assert_eq!(get(&file)?, None);
            match set(&file, &PaxFlags::parse("m")?) {
                Err(PaxError::Io {
                    errno: Some(95), ..
                }) => {
                    eprintln!("skip: {} has no user xattrs", dir.display());
                    return Ok(());
                }
                r => r?,
            }
            assert_eq!(read_raw(&file)?.as_deref(), Some("m"));
            assert!(get(&file)?.unwrap().mprotect_disabled());
            set(&file, &PaxFlags::default())?;
            assert_eq!(get(&file)?, None);
            Ok::<(), PaxError>(())
        })();
        let _ = std::fs::remove_dir_all(&dir);
        result.unwrap();
        let e = get(Path::new("/nonexistent/ironpen")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ironpen"), "{e}");
    }
}
