//! The only ironpen crate allowed to contain `unsafe`.
//!
//! Each module wraps a handful of syscalls that rustix does not offer, in typed, fd-owning form.
//! Rules: one syscall per `unsafe` block, a `// SAFETY:` comment above each, and compile-time
//! size checks on kernel structs we build by hand.

pub mod detect;
pub mod probe;
pub mod seccomp;
