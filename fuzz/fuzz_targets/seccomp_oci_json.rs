//! OCI/Docker seccomp JSON: parsing never panics, and whatever it accepts compiles to a program
//! the verifier accepts.
#![no_main]

use ironpen_policy::seccomp::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut ctx = OciContext::new(Arch::X86_64);
    ctx.caps.insert("CAP_SYS_ADMIN".into());
    if let Ok(f) = from_oci_json(text, &ctx) {
        for arch in Arch::ALL {
            if let Ok(p) = compile(&f, arch) {
                verify(&p).expect("verifier refused compiled OCI profile");
            }
        }
    }
});
