//! ironpen-policy: pure policy data — parsing, validation, the seccomp compiler.
//! No I/O and no `unsafe` here, so everything can be property-tested and fuzzed.

pub mod seccomp;
