//! A bounded, deterministic stand-in for the cargo-fuzz targets in `fuzz/` that runs on the stable
//! toolchain: the same properties (compile-then-verify agrees with the reference evaluator; the
//! OCI/ironpen JSON readers never panic and what they accept compiles to verified programs) on
//! seeded random and mutated inputs.
//!
//! Every test run does a short pass (`SMOKE_DEFAULT` cases per target). `IRONPEN_FUZZ_SMOKE=1`
//! runs `IRONPEN_FUZZ_SMOKE_ITERS` cases (default 10,000) per target; `IRONPEN_FUZZ_SEED` picks
//! another seed. A failure prints the seed and case number that reproduce it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use ironpen_policy::seccomp::fuzzing::{check_compiled, Bytes};

use ironpen_policy::seccomp::*;
use serde_json::Value;

const SMOKE_DEFAULT: u64 = 300;
const FULL_DEFAULT: u64 = 10_000;

fn iterations() -> u64 {
    let full = std::env::var("IRONPEN_FUZZ_SMOKE").is_ok_and(|v| v == "1");
    let default = if full { FULL_DEFAULT } else { SMOKE_DEFAULT };
    std::env::var("IRONPEN_FUZZ_SMOKE_ITERS")
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|e| panic!("IRONPEN_FUZZ_SMOKE_ITERS={v:?}: {e}"))
        })
        .unwrap_or(default)
}

fn seed() -> u64 {
    std::env::var("IRONPEN_FUZZ_SEED")
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|e| panic!("IRONPEN_FUZZ_SEED={v:?}: {e}"))
        })
        .unwrap_or(0x1e0_9e4)
}

/// splitmix64: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap()).unwrap()
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next().to_le_bytes()[0]).collect()
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Run `case` for every iteration with its own RNG; it describes its input in the `String`
/// first and returns whether the input was accepted. On a panic, say how to reproduce it.
fn run_cases(target: &str, mut case: impl FnMut(&mut Rng, &mut String) -> bool) -> (u64, u64) {
    let (seed, n) = (seed(), iterations());
    let mut accepted = 0;
    for i in 0..n {
        let mut rng = Rng(seed ^ i.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let mut input = String::new();
        match catch_unwind(AssertUnwindSafe(|| case(&mut rng, &mut input))) {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(_) => panic!(
                "{target}: case {i} failed (IRONPEN_FUZZ_SEED={seed}, {n} iterations; the same \
                 seed reproduces it); input: {input}"
            ),
        }
    }
    eprintln!("{target}: {n} cases (seed {seed}), {accepted} accepted");
    (n, accepted)
}

#[test]
fn compile_then_verify_on_random_ir() {
    let (n, compiled) = run_cases("seccomp_compile", |rng, input| {
        // Short inputs exercise the all-zero tail of the decoder, long ones many rules.
        let len = if rng.below(4) == 0 {
            rng.below(32)
        } else {
            64 + rng.below(1500)
        };
        let data = rng.bytes(len);
        let mut b = Bytes(&data);
        let f = b.filter();
        *input = serde_json::to_string(&f).expect("IR serializes");
        check_compiled(&f, &mut b)
    });
    assert_eq!(
        compiled, n,
        "every random IR filter fits in 4096 instructions"
    );
}

/// Handwritten seeds covering the OCI fields, plus the real profiles when fetched.
fn oci_seeds() -> Vec<String> {
    let mut seeds: Vec<String> = [
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"}]}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":38,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":0,"value":8,"op":"SCMP_CMP_NE"},{"index":0,"value":0,"op":"SCMP_CMP_NE"}]}]}"#,
        r#"{"defaultAction":"SCMP_ACT_ERRNO","archMap":[{"architecture":"SCMP_ARCH_AARCH64","subArchitectures":["SCMP_ARCH_ARM"]}],"syscalls":[{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}],"excludes":{"caps":["CAP_SYS_ADMIN"],"arches":["s390x"]}},{"names":["mount","umount2"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"],"minKernel":"4.8"}}]}"#,
        r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":[{"name":"getpid","action":"SCMP_ACT_TRACE"},{"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":21522,"op":"SCMP_CMP_EQ"}]},{"names":["ioctl","openat"],"action":"SCMP_ACT_NOTIFY"},{"names":["kill"],"action":"SCMP_ACT_LOG","args":[{"index":1,"value":9,"op":"SCMP_CMP_LE"},{"index":0,"value":1,"op":"SCMP_CMP_GT"}]}]}"#,
    ]
    .map(String::from)
    .to_vec();
    seeds.push(serde_json::to_string(&default_profile()).expect("IR serializes"));
    let dir = std::env::var_os("IRONPEN_SECCOMP_PROFILES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/seccomp-profiles")
        });
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .chain(std::fs::read_dir(dir.join("docker-fixtures")))
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        eprintln!(
            "note: no real profiles in {} (tests/fetch-seccomp-profiles.sh); handwritten seeds only",
            dir.display()
        );
    }
    seeds.extend(files.iter().filter_map(|p| std::fs::read_to_string(p).ok()));
    seeds
}

/// Tokens that steer mutations into the parser's interesting branches.
const TOKENS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_CMP_EQ",
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_GT",
    "SCMP_CMP_GE",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_AARCH64",
    "amd64",
    "arm64",
    "CAP_SYS_ADMIN",
    "4.8",
    "99.0",
    "x",
    "read",
    "ioctl",
    "clone",
    "open",
    "no_such_syscall",
    "allow",
    "errno",
    "w32",
    "w64",
    "masked-eq",
];

fn random_value(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::from(rng.next()),
        3 => Value::from(rng.below(7)),
        4 => Value::from(-1i64 - i64::try_from(rng.below(1000)).unwrap()),
        5 => serde_json::json!(1.5e300),
        6 => Value::String((*rng.pick(TOKENS)).to_string()),
        7 => Value::Array(vec![Value::String((*rng.pick(TOKENS)).to_string())]),
        _ => serde_json::json!({}),
    }
}

/// Change one node of the JSON tree: replace a value, drop or add a key, empty or grow an array.
fn mutate_value(v: &mut Value, rng: &mut Rng, depth: u32) {
    let descend = depth < 8 && rng.below(3) != 0;
    match v {
        Value::Object(m) if !m.is_empty() => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let k = rng.pick(&keys).clone();
            match rng.below(6) {
                0 => {
                    m.remove(&k);
                }
                1 => {
                    m.insert((*rng.pick(TOKENS)).to_string(), random_value(rng));
                }
                _ if descend => mutate_value(m.get_mut(&k).expect("key"), rng, depth + 1),
                _ => {
                    m.insert(k, random_value(rng));
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let i = rng.below(a.len());
            match rng.below(6) {
                0 => {
                    a.remove(i);
                }
                1 => {
                    let dup = a[i].clone();
                    a.push(dup);
                }
                _ if descend => mutate_value(&mut a[i], rng, depth + 1),
                _ => a[i] = random_value(rng),
            }
        }
        _ => *v = random_value(rng),
    }
}

/// Byte-level damage: flips, cuts, duplicated or spliced ranges.
fn mutate_bytes(text: &str, other: &str, rng: &mut Rng) -> String {
    let mut b = text.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        if b.is_empty() {
            break;
        }
        let i = rng.below(b.len());
        match rng.below(5) {
            0 => b[i] ^= 1 << rng.below(8),
            1 => {
                let end = (i + rng.below(16)).min(b.len());
                b.drain(i..end);
            }
            2 => b.insert(i, *rng.pick(b"{}[]\",:0-9e")),
            3 => {
                let end = (i + rng.below(64)).min(b.len());
                let chunk = b[i..end].to_vec();
                let at = rng.below(b.len());
                b.splice(at..at, chunk);
            }
            _ => {
                let o = other.as_bytes();
                let s = rng.below(o.len());
                let e = (s + rng.below(128)).min(o.len());
                b.splice(i..i, o[s..e].iter().copied());
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn random_ctx(rng: &mut Rng) -> OciContext {
    let mut ctx = OciContext::new(*rng.pick(&Arch::ALL));
    if rng.below(2) == 0 {
        ctx.caps.insert("CAP_SYS_ADMIN".into());
    }
    if rng.below(3) == 0 {
        ctx.caps.insert("CAP_SYS_PTRACE".into());
    }
    ctx.kernel = match rng.below(3) {
        0 => None,
        1 => Some((4, 4)),
        _ => Some((6, 18)),
    };
    ctx
}

/// Whatever a reader accepts must compile (or be too long) and verify on both architectures.
fn check_accepted(f: &Filter) {
    for arch in Arch::ALL {
        match compile(f, arch) {
            Ok(p) => verify(&p).expect("verifier refused a compiled, accepted profile"),
            Err(CompileError::TooLong { .. } | CompileError::UnknownSyscall(_)) => {}
            Err(e) => panic!("accepted profile does not compile: {e}"),
        }
    }
}

#[test]
fn json_readers_on_mutated_profiles() {
    let seeds = oci_seeds();
    let (n, accepted) = run_cases("seccomp_oci_json", |rng, input| {
        let base = rng.pick(&seeds);
        // Two thirds structural (valid JSON, wrong content), one third byte damage.
        let text = if rng.below(3) != 0 {
            let mut v: Value = serde_json::from_str(base).expect("seeds are JSON");
            for _ in 0..=rng.below(3) {
                mutate_value(&mut v, rng, 0);
            }
            v.to_string()
        } else {
            let other = rng.pick(&seeds);
            mutate_bytes(base, other, rng)
        };
        let ctx = random_ctx(rng);
        *input = format!("{ctx:?} {}", text.chars().take(2000).collect::<String>());
        // The fuzz target's entry point, then the `--seccomp FILE` one (both formats).
        let oci = from_oci_json(&text, &ctx);
        let any = parse_profile(&text, &ctx);
        if let Ok(f) = &oci {
            check_accepted(f);
        }
        if let Ok(f) = &any {
            check_accepted(f);
        }
        oci.is_ok() || any.is_ok()
    });
    // A mutation keeps most profiles valid; if nothing is accepted the mutator is broken.
    assert!(accepted > 0, "no mutated profile of {n} was accepted");
    assert!(
        accepted < n,
        "every mutated profile was accepted: mutations do nothing"
    );
}
