//! Resource limits: `--rlimit NAME=SOFT[:HARD]` parsing and application.

use serde::{Deserialize, Serialize};

use crate::spec::SpecError;

/// Resource names accepted by `--rlimit` (lowercase, without `RLIMIT_`): the policy model's.
pub use ironpen_policy::model::RLIMITS as NAMES;

/// One rlimit to set in the jail. `None` means unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RlimitSpec {
    pub resource: String,
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

fn parse_value(arg: &str, v: &str) -> Result<Option<u64>, SpecError> {
    if v == "unlimited" || v == "infinity" {
        return Ok(None);
    }
    v.parse::<u64>().map(Some).map_err(|_| {
        SpecError::new(
            "--rlimit",
            arg,
            format!("{v:?} is not a number or \"unlimited\""),
        )
    })
}

impl RlimitSpec {
    /// Parse `nofile=64`, `nofile=64:128`, `core=0`, `stack=unlimited`. A single value sets both
    /// the soft and the hard limit.
    pub fn parse(arg: &str) -> Result<Self, SpecError> {
        let (name, value) = arg.split_once('=').ok_or_else(|| {
            SpecError::new("--rlimit", arg, "expected NAME=VALUE or NAME=SOFT:HARD")
        })?;
        let name = name.to_ascii_lowercase();
        let name = name.strip_prefix("rlimit_").unwrap_or(&name).to_string();
        if !NAMES.contains(&name.as_str()) {
            return Err(SpecError::new(
                "--rlimit",
                arg,
                format!("unknown resource {name:?} (known: {})", NAMES.join(", ")),
            ));
        }
        let (soft, hard) = match value.split_once(':') {
            Some((s, h)) => (parse_value(arg, s)?, parse_value(arg, h)?),
            None => {
                let v = parse_value(arg, value)?;
                (v, v)
            }
        };
        if let (Some(s), Some(h)) = (soft, hard) {
            if s > h {
                return Err(SpecError::new(
                    "--rlimit",
                    arg,
                    "soft limit is above the hard limit",
                ));
            }
        }
        if let (None, Some(_)) = (soft, hard) {
            return Err(SpecError::new(
                "--rlimit",
                arg,
                "soft limit is above the hard limit",
            ));
        }
        Ok(Self {
            resource: name,
            soft,
            hard,
        })
    }

    pub(crate) fn resource(&self) -> rustix::process::Resource {
        use rustix::process::Resource as R;
        match self.resource.as_str() {
            "as" => R::As,
            "core" => R::Core,
            "cpu" => R::Cpu,
            "data" => R::Data,
            "fsize" => R::Fsize,
            "locks" => R::Locks,
            "memlock" => R::Memlock,
            "msgqueue" => R::Msgqueue,
            "nice" => R::Nice,
            "nofile" => R::Nofile,
            "nproc" => R::Nproc,
            "rss" => R::Rss,
            "rtprio" => R::Rtprio,
            "rttime" => R::Rttime,
            "sigpending" => R::Sigpending,
            _ => R::Stack,
        }
    }

    /// Check against the current hard limit (raising it needs CAP_SYS_RESOURCE on the host,
    /// which a jail never has), so the error comes before the clone and names the argument.
    pub fn check_allowed(&self) -> Result<(), SpecError> {
        let cur = rustix::process::getrlimit(self.resource());
        let above = match (self.hard, cur.maximum) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(want), Some(max)) => want > max,
        };
        if above {
            let max = cur.maximum.map_or("unlimited".into(), |m| m.to_string());
            return Err(SpecError::new(
                "--rlimit",
                format!("{}={}", self.resource, fmt_limit(self.hard)),
                format!("above the current hard limit {max}; a jail can only lower limits"),
            ));
        }
        Ok(())
    }

    pub(crate) fn apply(&self) -> std::io::Result<()> {
        let limit = rustix::process::Rlimit {
            current: self.soft,
            maximum: self.hard,
        };
        rustix::process::setrlimit(self.resource(), limit).map_err(Into::into)
    }
}

fn fmt_limit(v: Option<u64>) -> String {
    v.map_or("unlimited".into(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let r = RlimitSpec::parse("nofile=64").unwrap();
        assert_eq!(
            (r.resource.as_str(), r.soft, r.hard),
            ("nofile", Some(64), Some(64))
        );
        let r = RlimitSpec::parse("NOFILE=64:128").unwrap();
        assert_eq!((r.soft, r.hard), (Some(64), Some(128)));
        let r = RlimitSpec::parse("RLIMIT_CORE=0").unwrap();
        assert_eq!(r.resource, "core");
        let r = RlimitSpec::parse("stack=8388608:unlimited").unwrap();
        assert_eq!(r.hard, None);
    }

    #[test]
    fn rejects_bad_input_with_reasons() {
        assert!(RlimitSpec::parse("nofile")
            .unwrap_err()
            .reason
            .contains("NAME=VALUE"));
        assert!(RlimitSpec::parse("files=3")
            .unwrap_err()
            .reason
            .contains("unknown resource"));
        assert!(RlimitSpec::parse("nofile=x")
            .unwrap_err()
            .reason
            .contains("not a number"));
        assert!(RlimitSpec::parse("nofile=9:3")
            .unwrap_err()
            .reason
            .contains("above the hard"));
        assert!(RlimitSpec::parse("nofile=unlimited:3")
            .unwrap_err()
            .reason
            .contains("above the hard"));
    }
}
