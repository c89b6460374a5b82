//! ironpen-jail: the mechanism. Kernel feature detection, the `JailSpec` plan, and the code that
//! turns a plan into a running jail.

pub mod caps;
pub mod cgroup;
pub(crate) mod child;
pub mod error;
pub mod features;
pub(crate) mod landlock;
pub(crate) mod mdwe;
pub(crate) mod mounts;
pub mod pax;
pub mod plan;
pub(crate) mod protocol;
pub mod pty;
pub mod report;
pub mod rlimits;
pub mod spawn;
pub mod spec;
pub mod workspace;
