//! The ironpen binary under test: this build's, or the one `IRONPEN_TEST_BIN` names (CI also
//! runs the suite against the statically linked build, scripts/build-static).
#![allow(dead_code)]

use std::path::PathBuf;

pub fn ironpen() -> PathBuf {
    std::env::var_os("IRONPEN_TEST_BIN")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ironpen")))
}

/// Run that ironpen with `args`, from `/`, and collect its output.
pub fn output(args: &[&str]) -> std::process::Output {
    std::process::Command::new(ironpen())
        .args(args)
        .current_dir("/")
        .output()
        .expect("spawn ironpen")
}
