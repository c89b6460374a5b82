//! sysbench: what a seccomp filter costs per syscall. Each configuration runs in its own child
//! process (a filter cannot be removed): no filter, a one-instruction allow-all filter (the
//! floor), ironpen's default profile, Docker's default profile compiled by libseccomp (as
//! runc does, with the x86 and x32 sub-architectures) and by ironpen. Also measures the time to
//! build, compile and load ironpen's default filter.
//!
//! Usage: sysbench [PROFILES_DIR]      (reads docker-default.json from there; see
//!        tests/fetch-seccomp-profiles.sh). Env SYSBENCH_ITERS (default 1000000).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use ironpen_policy::seccomp::{
    bpf, compile, default_profile, from_oci_json, Arch, Instruction, OciContext,
};
use ironpen_sys::seccomp::{install_filter, FilterFlags};
use seccomp_oracle::{
    personality_query, to_kernel, LibSeccomp, OracleOpts, SCMP_ARCH_X32, SCMP_ARCH_X86,
};

const MODES: &[&str] = &[
    "native",
    "allow-all",
    "ironpen-default",
    "docker-libseccomp",
    "docker-libseccomp-tree",
    "docker-ironpen",
];

fn profiles_dir(arg: Option<String>) -> PathBuf {
    arg.map(PathBuf::from)
        .or_else(|| std::env::var_os("IRONPEN_SECCOMP_PROFILES").map(PathBuf::from))
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/seccomp-profiles")
        })
}

fn docker_filter(dir: &std::path::Path) -> Result<ironpen_policy::seccomp::Filter, String> {
    let path = dir.join("docker-default.json");
    let json = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: {e} (run tests/fetch-seccomp-profiles.sh)",
            path.display()
        )
    })?;
    from_oci_json(&json, &OciContext::new(Arch::X86_64)).map_err(|e| e.to_string())
}

fn program(mode: &str, dir: &std::path::Path) -> Result<Option<Vec<Instruction>>, String> {
    let arch = Arch::native().ok_or("no syscall table for this architecture")?;
    Ok(match mode {
        "native" => None,
        "allow-all" => Some(vec![Instruction::stmt(bpf::RET | bpf::K, 0x7fff_0000)]),
        "ironpen-default" => Some(compile(&default_profile(), arch).map_err(|e| e.to_string())?),
        "docker-ironpen" => Some(compile(&docker_filter(dir)?, arch).map_err(|e| e.to_string())?),
        "docker-libseccomp" | "docker-libseccomp-tree" => {
            let lib = LibSeccomp::load()?;
            let mut f = docker_filter(dir)?;
            f.bad_arch_action = ironpen_policy::seccomp::Action::KillThread;
            let opts = OracleOpts {
                extra_arches: vec![SCMP_ARCH_X86, SCMP_ARCH_X32],
                optimize: (mode == "docker-libseccomp-tree").then_some(2),
            };
            Some(lib.compile(&f, &opts)?)
        }
        other => return Err(format!("unknown mode {other}")),
    })
}

/// Best of several rounds, in ns per call.
fn time(iters: u32, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..7 {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    best
}

fn child(mode: &str, dir: &std::path::Path, iters: u32) -> Result<(), String> {
    let prog = program(mode, dir)?;
    if let Some(p) = &prog {
        rustix::thread::set_no_new_privs(true)
            .map_err(|e| format!("prctl(PR_SET_NO_NEW_PRIVS) => {e}"))?;
        install_filter(&to_kernel(p), FilterFlags::NONE).map_err(|e| e.to_string())?;
    }
    let zero = std::fs::File::open("/dev/zero").map_err(|e| format!("open /dev/zero: {e}"))?;
    let mut buf = [0u8; 1];
    let getppid = time(iters, || {
        std::hint::black_box(rustix::process::getppid());
    });
    let read = time(iters, || {
        std::hint::black_box(rustix::io::read(&zero, &mut buf).ok());
    });
    let pers = time(iters, || {
        std::hint::black_box(personality_query());
    });
    println!(
        "{} {getppid:.1} {read:.1} {pers:.1}",
        prog.map_or(0, |p| p.len())
    );
    Ok(())
}

fn load_time() -> Result<(f64, f64), String> {
    let arch = Arch::native().ok_or("no syscall table for this architecture")?;
    let n = 200u32;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(compile(&default_profile(), arch).map_err(|e| e.to_string())?);
    }
    let build_compile = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let prog = to_kernel(&compile(&default_profile(), arch).map_err(|e| e.to_string())?);
    rustix::thread::set_no_new_privs(true).map_err(|e| e.to_string())?;
    let t = Instant::now();
    install_filter(&prog, FilterFlags::NONE).map_err(|e| e.to_string())?;
    Ok((build_compile, t.elapsed().as_secs_f64() * 1e6))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    let iters: u32 = std::env::var("SYSBENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    if first.as_deref() == Some("--child") {
        let mode = args.next().expect("mode");
        let dir = profiles_dir(args.next());
        if let Err(e) = child(&mode, &dir, iters) {
            eprintln!("{mode}: {e}");
            std::process::exit(1);
        }
        return;
    }
    if first.as_deref() == Some("--load") {
        match load_time() {
            Ok((c, l)) => println!("{c:.1} {l:.1}"),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1)
            }
        }
        return;
    }
    let dir = profiles_dir(first);
    let exe = std::env::current_exe().expect("current_exe");
    println!("seccomp cost per syscall, ns/call (best of 7 rounds x {iters} calls); ratio to the allow-all floor in ()");
    println!(
        "{:<24} {:>6} {:>16} {:>16} {:>22}",
        "filter", "insns", "getppid", "read 1 byte", "personality(query)*"
    );
    let mut rows = Vec::new();
    for mode in MODES {
        let out = Command::new(&exe)
            .arg("--child")
            .arg(mode)
            .arg(&dir)
            .output()
            .expect("spawn child");
        if !out.status.success() {
            println!(
                "{mode:<24} skipped: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            continue;
        }
        let v: Vec<f64> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        rows.push((*mode, v));
    }
    let floor = rows
        .iter()
        .find(|(m, _)| *m == "allow-all")
        .map(|(_, v)| v.clone());
    for (mode, v) in &rows {
        let cell = |i: usize| match &floor {
            Some(f) => format!("{:.1} ({:.2}x)", v[i], v[i] / f[i]),
            None => format!("{:.1}", v[i]),
        };
        println!(
            "{mode:<24} {:>6} {:>16} {:>16} {:>22}",
            v[0],
            cell(1),
            cell(2),
            cell(3)
        );
    }
    println!("* personality's argument is checked by ironpen's and Docker's profiles: the filter program runs");
    let out = Command::new(&exe)
        .arg("--load")
        .output()
        .expect("spawn child");
    let v: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    if v.len() == 2 {
        println!(
            "ironpen default filter: build+compile {:.1} us, load (seccomp syscall) {:.1} us",
            v[0], v[1]
        );
    } else {
        println!(
            "load time: failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
}
