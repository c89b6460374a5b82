//! Kernel version strings: what upstream version is this kernel, if anyone can tell?
//!
//! `uname -r` is only an upstream version on vanilla-like kernels. Debian states its upstream
//! base in `uname -v`; Ubuntu, RHEL and SLE carry ABI or codestream numbers that say nothing
//! about which upstream fixes are in, so for them the answer is "unknown", never a guess.

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;

/// An upstream kernel version: `major.minor.patch`, optionally a release candidate of
/// `major.minor` (then `patch` is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub rc: Option<u32>,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version {
            major,
            minor,
            patch,
            rc: None,
        }
    }

    pub fn branch(&self) -> (u32, u32) {
        (self.major, self.minor)
    }

    /// Ordering key: a release candidate sorts before the release it leads to.
    fn key(&self) -> (u32, u32, u32, u32) {
        (
            self.major,
            self.minor,
            self.patch,
            self.rc.unwrap_or(u32::MAX),
        )
    }

    /// Parse `5.10.102`, `5.17`, `6.8-rc2`, `6.8.0-rc3`, `6.8~rc3`. Nothing may follow.
    pub fn parse(s: &str) -> Option<Version> {
        let (v, rest) = parse_prefix(s)?;
        rest.is_empty().then_some(v)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rc {
            Some(rc) => write!(f, "{}.{}-rc{rc}", self.major, self.minor),
            None => write!(f, "{}.{}.{}", self.major, self.minor, self.patch),
        }
    }
}

fn take_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 || end > 9 {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

/// Parse a leading upstream version and return the unparsed suffix.
fn parse_prefix(s: &str) -> Option<(Version, &str)> {
    let (major, rest) = take_number(s)?;
    let rest = rest.strip_prefix('.')?;
    let (minor, mut rest) = take_number(rest)?;
    let mut patch = 0;
    if let Some(r) = rest.strip_prefix('.') {
        if let Some((p, r2)) = take_number(r) {
            patch = p;
            rest = r2;
        }
    }
    let mut rc = None;
    for sep in ["-rc", "~rc"] {
        if let Some(r) = rest.strip_prefix(sep) {
            if let Some((n, r2)) = take_number(r) {
                if patch == 0 {
                    rc = Some(n);
                    rest = r2;
                }
            }
        }
    }
    Some((
        Version {
            major,
            minor,
            patch,
            rc,
        },
        rest,
    ))
}

/// Distribution whose version scheme we recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Distro {
    Debian,
    Ubuntu,
    Fedora,
    Arch,
    Android,
    RedHat,
    Suse,
    Other,
}

impl Distro {
    pub fn name(&self) -> &'static str {
        match self {
            Distro::Debian => "debian",
            Distro::Ubuntu => "ubuntu",
            Distro::Fedora => "fedora",
            Distro::Arch => "arch",
            Distro::Android => "android",
            Distro::RedHat => "redhat",
            Distro::Suse => "suse",
            Distro::Other => "other",
        }
    }
}

/// What we know about the running kernel's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelIdentity {
    /// `uname -r`.
    pub release: String,
    /// `uname -v`.
    pub version: String,
    pub distro: Distro,
    /// The upstream version, when it can be stated with confidence.
    pub upstream: Option<Version>,
    /// How `upstream` was obtained, or why it is unknown.
    pub basis: String,
}

const UBUNTU_FLAVOURS: &[&str] = &[
    "generic",
    "lowlatency",
    "aws",
    "azure",
    "gcp",
    "gke",
    "oracle",
    "kvm",
    "oem",
    "raspi",
    "ibm",
    "nvidia",
    "realtime",
    "intel-iotg",
    "virtual",
];
const DEBIAN_FLAVOURS: &[&str] = &[
    "amd64",
    "arm64",
    "armmp",
    "armmp-lpae",
    "686",
    "686-pae",
    "cloud-amd64",
    "cloud-arm64",
    "rt-amd64",
    "rt-arm64",
    "powerpc64le",
    "s390x",
    "marvell",
    "rpi",
    "loong64",
    "riscv64",
    "mips64r2el",
    "octeon",
];

/// Work out the upstream version from `uname -r` and `uname -v`.
pub fn identify(release: &str, version: &str) -> KernelIdentity {
    let (distro, upstream, basis) = classify(release.trim(), version.trim());
    KernelIdentity {
        release: release.to_owned(),
        version: version.to_owned(),
        distro,
        upstream,
        basis,
    }
}

fn classify(release: &str, version: &str) -> (Distro, Option<Version>, String) {
    let Some((prefix, suffix)) = parse_prefix(release) else {
        return (
            Distro::Other,
            None,
            format!("`uname -r` {release:?} does not start with a kernel version"),
        );
    };
    let suffix_l = suffix.to_ascii_lowercase();

    // Ubuntu: "5.15.0-91-generic", uname -v "#101-Ubuntu SMP ...". The third number is an ABI
    // counter of Canonical's tree, not an upstream sublevel.
    let ubuntu_flavour = ends_with_flavour(&suffix_l, UBUNTU_FLAVOURS) && has_abi_number(&suffix_l);
    if version.contains("Ubuntu") || ubuntu_flavour {
        return (
            Distro::Ubuntu,
            None,
            format!(
                "Ubuntu kernel {release}: the version carries an ABI number, not the upstream sublevel; \
                 Ubuntu backports fixes, so the upstream base is unknown"
            ),
        );
    }

    // Debian states the upstream version of the package in uname -v:
    // "#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)".
    if let Some(idx) = version.find("Debian ") {
        let token = version[idx + "Debian ".len()..]
            .split_whitespace()
            .next()
            .unwrap_or("");
        return match parse_prefix(token) {
            Some((v, rest))
                if rest.is_empty()
                    || rest.starts_with('-')
                    || rest.starts_with('~')
                    || rest.starts_with('+') =>
            {
                (
                    Distro::Debian,
                    Some(v),
                    format!("Debian package version {token} in `uname -v`"),
                )
            }
            _ => (
                Distro::Debian,
                None,
                format!("Debian `uname -v` names an unparsable package version {token:?}"),
            ),
        };
    }
    if ends_with_flavour(&suffix_l, DEBIAN_FLAVOURS) && has_abi_number(&suffix_l) {
        return (
            Distro::Debian,
            None,
            format!(
                "Debian-style ABI release {release} without the upstream version in `uname -v`"
            ),
        );
    }

    // Red Hat family: "4.18.0-513.5.1.el8_9.x86_64" is a frozen base with backports.
    if contains_el_tag(&suffix_l) {
        return (
            Distro::RedHat,
            None,
            format!("RHEL-family kernel {release}: fixes are backported onto a frozen base, so the upstream level is unknown"),
        );
    }
    // SUSE Linux Enterprise: "5.14.21-150500.55.39-default" (codestream number).
    if suffix_l.ends_with("-default")
        && suffix_l
            .split(['-', '.'])
            .any(|p| p.len() == 6 && p.starts_with("150"))
    {
        return (
            Distro::Suse,
            None,
            format!("SUSE Linux Enterprise kernel {release}: codestream with backports, upstream level unknown"),
        );
    }

    if suffix_l.contains(".fc")
        && suffix_l
            .split(".fc")
            .nth(1)
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    {
        return (
            Distro::Fedora,
            Some(prefix),
            "Fedora ships upstream stable sublevels; version from `uname -r`".into(),
        );
    }
    if suffix_l.contains("-arch") {
        return (
            Distro::Arch,
            Some(prefix),
            "Arch ships upstream stable sublevels; version from `uname -r`".into(),
        );
    }
    if suffix_l.contains("-android") {
        return (
            Distro::Android,
            Some(prefix),
            "Android common kernel: `uname -r` is the LTS sublevel merged; vendor backports are not counted".into(),
        );
    }
    if suffix.is_empty() {
        return (
            Distro::Other,
            Some(prefix),
            "`uname -r` is a plain upstream version".into(),
        );
    }
    (
        Distro::Other,
        Some(prefix),
        format!("`uname -r` taken as upstream {prefix}, local suffix {suffix:?} ignored"),
    )
}

fn ends_with_flavour(suffix: &str, flavours: &[&str]) -> bool {
    flavours.iter().any(|f| suffix.ends_with(&format!("-{f}")))
}

/// `-91-generic`, `-27-amd64`: the first dash-separated part is a plain number.
fn has_abi_number(suffix: &str) -> bool {
    suffix
        .strip_prefix('-')
        .and_then(|s| s.split('-').next())
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn contains_el_tag(suffix: &str) -> bool {
    suffix.split('.').any(|p| {
        p.strip_prefix("el")
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn parse_and_order() {
        assert_eq!(v("5.10.102"), Version::new(5, 10, 102));
        assert_eq!(v("5.17"), Version::new(5, 17, 0));
        assert_eq!(v("6.8-rc2").rc, Some(2));
        assert_eq!(v("6.8.0-rc3"), v("6.8-rc3"));
        assert!(v("6.8-rc2") < v("6.8-rc3"));
        assert!(v("6.8-rc7") < v("6.8"));
        assert!(v("6.7.12") < v("6.8-rc1"));
        assert!(v("5.10.9") < v("5.10.10"));
        assert!(v("2.6.32") < v("3.0"));
        assert_eq!(Version::parse("5.10.1x"), None);
        assert_eq!(Version::parse("5"), None);
        assert_eq!(Version::parse(""), None);
        assert_eq!(v("6.8-rc2").to_string(), "6.8-rc2");
    }

    /// Real `uname -r` / `uname -v` pairs and what we must conclude.
    #[test]
    fn real_uname_strings() {
        let table: &[(&str, &str, Distro, Option<&str>)] = &[
            (
                "6.1.0-27-amd64",
                "#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)",
                Distro::Debian,
                Some("6.1.115"),
            ),
            (
                "5.10.0-28-amd64",
                "#1 SMP Debian 5.10.209-2 (2024-01-31)",
                Distro::Debian,
                Some("5.10.209"),
            ),
            (
                "4.19.0-21-amd64",
                "#1 SMP Debian 4.19.249-2 (2022-06-30)",
                Distro::Debian,
                Some("4.19.249"),
            ),
            (
                "6.1.0-0.deb11.17-amd64",
                "#1 SMP PREEMPT_DYNAMIC Debian 6.1.69-1~bpo11+1 (2024-01-05)",
                Distro::Debian,
                Some("6.1.69"),
            ),
            (
                "6.8-rc3-amd64",
                "#1 SMP PREEMPT_DYNAMIC Debian 6.8~rc3-1~exp1 (2024-02-05)",
                Distro::Debian,
                Some("6.8-rc3"),
            ),
            (
                "6.1.0-27-amd64",
                "#1 SMP PREEMPT_DYNAMIC",
                Distro::Debian,
                None,
            ),
            (
                "6.1.0-27-cloud-amd64",
                "#1 SMP PREEMPT_DYNAMIC",
                Distro::Debian,
                None,
            ),
            (
                "5.15.0-91-generic",
                "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023",
                Distro::Ubuntu,
                None,
            ),
            (
                "6.8.0-1015-aws",
                "#16-Ubuntu SMP Wed Jul 10 22:14:17 UTC 2024",
                Distro::Ubuntu,
                None,
            ),
            (
                "5.4.0-150-generic",
                "#167-Ubuntu SMP Mon May 15 17:35:05 UTC 2023",
                Distro::Ubuntu,
                None,
            ),
            (
                "6.5.0-060500-generic",
                "#202308271831 SMP PREEMPT_DYNAMIC Sun Aug 27 18:40:09 UTC 2023",
                Distro::Ubuntu,
                None,
            ),
            (
                "6.5.6-300.fc39.x86_64",
                "#1 SMP PREEMPT_DYNAMIC Fri Oct  6 19:57:21 UTC 2023",
                Distro::Fedora,
                Some("6.5.6"),
            ),
            (
                "6.11.4-301.fc41.aarch64",
                "#1 SMP PREEMPT_DYNAMIC Sun Oct 20 15:02:33 UTC 2024",
                Distro::Fedora,
                Some("6.11.4"),
            ),
            (
                "6.6.7-arch1-1",
                "#1 SMP PREEMPT_DYNAMIC Thu, 14 Dec 2023 03:45:42 +0000",
                Distro::Arch,
                Some("6.6.7"),
            ),
            (
                "6.1.68-1-lts",
                "#1 SMP PREEMPT_DYNAMIC Wed, 13 Dec 2023 17:42:55 +0000",
                Distro::Other,
                Some("6.1.68"),
            ),
            (
                "5.10.107-android13-4-00032-g1cd5b6c5fa3e-ab9206497",
                "#1 SMP PREEMPT Fri Oct 14 12:00:00 UTC 2022",
                Distro::Android,
                Some("5.10.107"),
            ),
            (
                "4.19.191-gf5b9c2b4c0e5",
                "#1 SMP PREEMPT Thu Jun 2 2022",
                Distro::Other,
                Some("4.19.191"),
            ),
            (
                "4.18.0-513.5.1.el8_9.x86_64",
                "#1 SMP Fri Nov 17 03:31:10 UTC 2023",
                Distro::RedHat,
                None,
            ),
            (
                "5.14.0-362.8.1.el9_3.x86_64",
                "#1 SMP PREEMPT_DYNAMIC Tue Nov 7 14:54:22 EST 2023",
                Distro::RedHat,
                None,
            ),
            (
                "5.15.0-200.131.27.el9uek.x86_64",
                "#2 SMP Wed Jun 19 2024",
                Distro::RedHat,
                None,
            ),
            (
                "5.14.21-150500.55.39-default",
                "#1 SMP PREEMPT_DYNAMIC Tue Dec 5 10:38:32 UTC 2023 (2e4092e)",
                Distro::Suse,
                None,
            ),
            (
                "6.11.8-1-default",
                "#1 SMP PREEMPT_DYNAMIC Thu Nov 14 12:34:56 UTC 2024 (1234abc)",
                Distro::Other,
                Some("6.11.8"),
            ),
            (
                "5.10.210-201.852.amzn2.x86_64",
                "#1 SMP Tue Feb 27 2024",
                Distro::Other,
                Some("5.10.210"),
            ),
            (
                "6.8.0-rc3+",
                "#5 SMP PREEMPT_DYNAMIC Mon Feb 5 2024",
                Distro::Other,
                Some("6.8-rc3"),
            ),
            (
                "6.18.44-fc-v657",
                "#1 SMP PREEMPT_DYNAMIC @0",
                Distro::Other,
                Some("6.18.44"),
            ),
            ("6.9.0", "#1 SMP", Distro::Other, Some("6.9.0")),
            ("6.9.3-dirty", "#2 SMP", Distro::Other, Some("6.9.3")),
            (
                "2.6.32-5-amd64",
                "#1 SMP Sun Sep 23 10:07:46 UTC 2012",
                Distro::Debian,
                None,
            ),
            ("", "", Distro::Other, None),
            ("garbage", "#1", Distro::Other, None),
            ("v6.1.2", "#1", Distro::Other, None),
            ("6", "#1", Distro::Other, None),
            ("99999999999.1.1", "#1", Distro::Other, None),
        ];
        for (r, ver, distro, want) in table {
            let id = identify(r, ver);
            assert_eq!(id.distro, *distro, "{r} / {ver}: {id:?}");
            assert_eq!(
                id.upstream,
                want.map(|w| Version::parse(w).unwrap()),
                "{r} / {ver}: {}",
                id.basis
            );
            assert!(!id.basis.is_empty());
        }
    }
}
