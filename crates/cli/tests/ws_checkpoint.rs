//! Checkpoints and rollbacks are atomic: `ironpen ws checkpoint` and `ws rollback` are SIGKILLed
//! at random points, and after every kill the workspace's layer is exactly one of the two valid
//! states and every listed checkpoint is complete. Also: a rollback restores whiteouts, opaque
//! directories, hard links, symlinks, modes and sparse files, so the jail sees the old state.

mod ws_common;

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::time::{Duration, Instant};

use ws_common::*;

/// A small xorshift generator seeded from the clock (no rand crate needed); the seed is printed
/// so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn rollback_restores_every_kind_of_entry() {
    for who in whos() {
        let env = Env::new();
        let base = env.dir_for("base");
        fs::write(base.join("keep"), "base\n").unwrap();
        fs::create_dir(base.join("dir")).unwrap();
        fs::write(base.join("dir/old"), "old\n").unwrap();
        if is_root() {
            for p in ["keep", "dir", "dir/old"] {
                std::os::unix::fs::lchown(base.join(p), Some(65534), Some(65534)).unwrap();
            }
        }
        let s1 = "rm keep; rm -rf dir; mkdir dir; echo new > dir/new; ln dir/new hard; \
                  ln -s dir/new sym; truncate -s 64M sparse; echo x > mode; chmod 4711 mode";
        ok(&env.run_in(who, "c", &base, &[], s1));
        let upper = env.ws_root(who).join("c/layers/0/upper");
        let state1 = fingerprint(&upper);
        let diff1 = ok(&env.ws(who, &["diff", "c"]));
        ok(&env.ws(who, &["checkpoint", "c", "one"]));
        let cp_upper = env.ws_root(who).join("c/checkpoints/one/layers/0/upper");
        assert!(
            fingerprint(&cp_upper) == state1,
            "{who:?}: checkpoint is not a faithful copy"
        );
        // Holes stay holes.
        assert!(
            fs::metadata(cp_upper.join("sparse")).unwrap().blocks() < 64,
            "{who:?}"
        );

        ok(&env.run_in(
            who,
            "c",
            &base,
            &[],
            "echo again > keep; rm -rf dir sym; echo z >> mode",
        ));
        assert_ne!(fingerprint(&upper), state1);
        ok(&env.ws(who, &["rollback", "c"]));
        assert!(
            fingerprint(&upper) == state1,
            "{who:?}: rollback did not restore"
        );
        assert_eq!(ok(&env.ws(who, &["diff", "c"])), diff1, "{who:?}");
        // The jail sees the restored state: deleted file gone, opaque dir without the old file.
        let seen = ok(&env.run_in(
            who,
            "c",
            &base,
            &[],
            "ls -A dir; test -e keep && echo keep; cat hard; stat -c %a mode",
        ));
        assert_eq!(seen, "new\nnew\n4711\n", "{who:?}");
    }
}

#[test]
fn checkpoint_and_rollback_survive_sigkill_at_random_points() {
    let who = Who::Caller;
    let env = Env::new();
    let base = env.dir_for("base");
    // Enough files that a checkpoint takes a while to copy.
    ok(&env.run_in(
        who,
        "k",
        &base,
        &[],
        "i=0; while [ $i -lt 800 ]; do echo $i > f$i; i=$((i+1)); done; mkdir d; ln -s f1 d/l",
    ));
    let upper = env.ws_root(who).join("k/layers/0/upper");
    let cps = env.ws_root(who).join("k/checkpoints");
    ok(&env.ws(who, &["checkpoint", "k", "a"]));
    let state_a = fingerprint(&upper);
    ok(&env.run_in(
        who,
        "k",
        &base,
        &[],
        "rm f1 f2; echo changed > f3; rm -r d; touch new",
    ));
    ok(&env.ws(who, &["checkpoint", "k", "b"]));
    let state_b = fingerprint(&upper);
    assert_ne!(state_a, state_b);

    let t0 = Instant::now();
    ok(&env.ws(who, &["rollback", "k", "a"]));
    let full = t0.elapsed().max(Duration::from_millis(5));
    let now = fingerprint(&upper);
    assert!(
        now == state_a,
        "rollback to a did not restore a: {}",
        fp_diff(&state_a, &now)
    );

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    println!("seed {seed}, full rollback {full:?}");
    let mut rng = Rng(seed);
    let mut outcomes = [0usize; 2];
    for i in 0..16 {
        // Alternate between the two states; kill somewhere in 0..1.2x the full duration.
        let target = if i % 2 == 0 { "b" } else { "a" };
        let delay = Duration::from_micros(
            rng.next() % (u64::try_from(full.as_micros()).unwrap() * 6 / 5 + 1),
        );
        let label = format!("x{i}");
        let args: Vec<&str> = if i % 3 == 2 {
            vec!["checkpoint", "k", &label]
        } else {
            vec!["rollback", "k", target]
        };
        let root = env.ws_root(who);
        let mut full_args = vec!["ws", "--root", root.to_str().unwrap()];
        full_args.extend_from_slice(&args);
        let mut child = env
            .command(who, &full_args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let now = fingerprint(&upper);
        assert!(
            now == state_a || now == state_b,
            "seed {seed}, iteration {i}: a mixed state after SIGKILL"
        );
        outcomes[usize::from(now == state_b)] += 1;
        // Every listed checkpoint is complete.
        let listed = ok(&env.ws(who, &["checkpoints", "k"]));
        for l in listed.lines() {
            let label = l.split('\t').next().unwrap();
            let fp = fingerprint(&cps.join(label).join("layers/0/upper"));
            assert!(
                fp == state_a || fp == state_b,
                "seed {seed}: checkpoint {label} is partial"
            );
        }
    }
    println!("states after kills: a={} b={}", outcomes[0], outcomes[1]);
    // A completed operation after all that still works and leaves no leftovers.
    ok(&env.ws(who, &["rollback", "k", "b"]));
    assert!(
        fingerprint(&upper) == state_b,
        "rollback to b did not restore b"
    );
    ok(&env.ws(who, &["checkpoint", "k", "final"]));
    let left: Vec<_> = fs::read_dir(&cps)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "leftovers {left:?}");
    assert!(!env.ws_root(who).join("k/.rollback").exists());
}
