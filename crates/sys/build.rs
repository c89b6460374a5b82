//! Link GCC's unwinder statically (libgcc_eh.a) instead of loading libgcc_s.so.1 at every start.
//!
//! Rust's std asks for `-lgcc_s` for its `_Unwind_*` symbols. ironpen is built with
//! `panic = "abort"` and never unwinds, yet every `ironpen run` paid for loading libgcc_s and for
//! its constructor, which runs `cpuid` a dozen times (each one a trap to the hypervisor on a VM:
//! ~0.1 ms per start here). This crate's native libraries come before std's on the link line, so
//! with `--as-needed` (rustc's default) the static archive resolves those symbols first and
//! libgcc_s drops out of the binary's NEEDED list. Where GCC or the archive is missing, nothing
//! changes (the build stays as it was).
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let static_crt = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .unwrap_or_default()
        .split(',')
        .any(|f| f == "crt-static");
    // Only glibc targets link libgcc_s; a static build already uses libgcc_eh.
    if !target.ends_with("-linux-gnu") || static_crt {
        return;
    }
    let Ok(out) = Command::new("cc")
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let path = std::path::Path::new(&path);
    // gcc prints the bare name back when it has no such file.
    if !out.status.success() || !path.is_absolute() || !path.exists() {
        return;
    }
    if let Some(dir) = path.parent() {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static=gcc_eh");
    }
}
