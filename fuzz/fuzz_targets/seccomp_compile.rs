//! Compile-then-verify on arbitrary IR: every program the compiler emits must pass the verifier,
//! and decide like the reference evaluator on inputs taken from the same bytes.
#![no_main]

use ironpen_policy::seccomp::fuzzing::{check_compiled, Bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let f = b.filter();
    check_compiled(&f, &mut b);
});
