//! Ordinary programs must keep working under the default profile: each runs as
//! `seccomp-probe exec ...` (filter loaded, then exec) in a scratch directory. A program that is
//! not installed is skipped with a message.

use std::process::Command;

fn under_default(dir: &std::path::Path, script: &str) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_seccomp-probe"))
        .args(["exec", "/bin/sh", "-c", script])
        .current_dir(dir)
        .env("HOME", dir)
        .output()
        .map_err(|e| format!("spawn: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{:?}: {text}", out.status))
    }
}

fn have(prog: &str) -> bool {
    let found = Command::new("/bin/sh")
        .args(["-c", &format!("command -v {prog}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIP: {prog} not installed");
    }
    found
}

#[test]
fn everyday_programs_work_under_the_default_profile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: &[(&str, &str, &str)] = &[
        ("sh", "echo hello | tr a-z A-Z && (sleep 0 &) && wait && ls / >/dev/null && echo done", "HELLO"),
        ("python3", "python3 -c 'import multiprocessing as m, subprocess, threading, os\nif __name__==\"__main__\":\n  with m.Pool(2) as p: print(sum(p.map(abs, range(-50, 50))))\n  print(subprocess.run([\"true\"]).returncode)'", "2500"),
        ("gcc", "printf '#include <stdio.h>\\nint main(void){puts(\"compiled\");return 0;}\\n' > h.c && gcc -O2 -o h h.c && ./h", "compiled"),
        ("make", "printf 'all:\\n\\t@echo made\\n' > Makefile && make -s -j2", "made"),
        ("git", "git init -q r && cd r && git -c user.email=a@b -c user.name=n commit -q --allow-empty -m m && git log --oneline | wc -l", "1"),
        ("node", "node -e 'require(\"fs\").writeFileSync(\"n.txt\", \"node ok\"); console.log(require(\"fs\").readFileSync(\"n.txt\", \"utf8\"))'", "node ok"),
        ("sqlite3", "sqlite3 db.sqlite 'create table t(x); insert into t values (41); select x+1 from t;'", "42"),
        ("xz", "seq 1 1000 > s && tar -cJf s.tar.xz s && rm s && tar -xJf s.tar.xz && tail -1 s", "1000"),
        ("openssl", "openssl rand -hex 4 >/dev/null && echo x | openssl dgst -sha256", "SHA2-256"),
        ("perl", "perl -e 'print 6*7, \"\\n\"'", "42"),
    ];
    let mut failures = Vec::new();
    for (prog, script, expect) in cases {
        if !have(prog) {
            continue;
        }
        match under_default(dir.path(), script) {
            Ok(out) if out.contains(expect) => {}
            Ok(out) => failures.push(format!("{prog}: output lacks {expect:?}: {out}")),
            Err(e) => failures.push(format!("{prog}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn denied_syscalls_from_a_shell() {
    if !have("unshare") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let e = under_default(dir.path(), "unshare -U true").expect_err("unshare must fail");
    assert!(e.contains("Operation not permitted"), "{e}");
}
