//! ironpen-jail: the mechanism. Kernel feature detection, the `JailSpec` plan, and the code that
//! turns a plan into a running jail.

pub mod features;
