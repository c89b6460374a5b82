//! Capabilities: names, and the drop sequence that leaves the jailed program with exactly the
//! granted set (as ambient capabilities, so they survive execve without setuid or file caps).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Capability names in kernel order (index = capability number): one table for the policy
/// model and the jail.
use ironpen_policy::model::CAPABILITIES as NAMES;

/// One Linux capability, serialized as its lowercase name without the `CAP_` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capability(u8);

impl Capability {
    /// Parse `net_bind_service`, `NET_BIND_SERVICE` or `CAP_NET_BIND_SERVICE`.
    pub fn parse(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        let bare = lower.strip_prefix("cap_").unwrap_or(&lower);
        NAMES
            .iter()
            .position(|n| *n == bare)
            .and_then(|i| u8::try_from(i).ok())
            .map(Self)
    }

    pub fn number(self) -> u8 {
        self.0
    }

    pub fn name(self) -> &'static str {
        NAMES[usize::from(self.0)]
    }

    /// Every capability this table knows, in kernel order.
    pub fn all() -> impl Iterator<Item = Capability> {
        (0..NAMES.len())
            .filter_map(|i| u8::try_from(i).ok())
            .map(Capability)
    }

    /// Bit mask of a set of capabilities (as in /proc/PID/status CapEff).
    pub fn mask(caps: &[Capability]) -> u64 {
        caps.iter().fold(0, |m, c| m | (1u64 << c.0))
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Capability {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Capability {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Capability::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown capability {s:?}")))
    }
}

/// The highest capability number the running kernel knows (from /proc/sys/kernel/cap_last_cap),
/// so the bounding set is emptied even of capabilities newer than this table. Read once, before
/// the clone (the jail's /proc has no /proc/sys); 63 when unknown.
pub(crate) fn last_cap() -> u8 {
    static LAST: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(63)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_all_spellings() {
        let c = Capability::parse("net_bind_service").unwrap();
        assert_eq!(c.number(), 10);
        assert_eq!(Capability::parse("CAP_NET_BIND_SERVICE"), Some(c));
        assert_eq!(Capability::parse("Net_Bind_Service"), Some(c));
        assert_eq!(
            Capability::parse("cap_checkpoint_restore")
                .unwrap()
                .number(),
            40
        );
        assert_eq!(Capability::parse("net_bind"), None);
        assert_eq!(Capability::parse(""), None);
    }

    #[test]
    fn names_round_trip_and_mask() {
        for c in Capability::all() {
            assert_eq!(Capability::parse(c.name()), Some(c));
        }
        let sys_admin = Capability::parse("sys_admin").unwrap();
        assert_eq!(Capability::mask(&[sys_admin]), 1 << 21);
    }
}
