//! ironpen-policy: pure policy data — parsing, validation, the seccomp compiler.
//! No I/O and no raw memory access here (the workspace forbids it), so everything can be
//! property-tested and fuzzed.

pub mod model;
pub mod score;
pub mod seccomp;
