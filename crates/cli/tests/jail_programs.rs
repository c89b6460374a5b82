//! End-to-end: ordinary programs work in the default jail with a writable work directory
//! (`--bind WORKDIR /work --chdir /work`). A sandbox that breaks everyday tools is not used.

mod common;

use common::*;

/// Run `script` with /bin/sh in a default jail whose cwd is a writable bind of a fresh work dir;
/// assert exit 0 and return stdout. Skips when one of `tools` is not installed on the host.
fn sh_in_jail(test: &str, tools: &[&str], script: &str, check: impl Fn(&str, Variant)) {
    sh_in_jail_with(test, &[], tools, script, check)
}

/// [`sh_in_jail`] with extra `ironpen run` options.
fn sh_in_jail_with(
    test: &str,
    extra: &[&str],
    tools: &[&str],
    script: &str,
    check: impl Fn(&str, Variant),
) {
    for t in tools {
        if host_tool(t).is_none() && !std::path::Path::new(t).is_file() {
            skip(test, &format!("{t} is not installed"));
            return;
        }
    }
    each_variant(test, |env, v| {
        let w = env.work_dir("work", v);
        let w_s = w.to_string_lossy().into_owned();
        let out = env.run(
            v,
            &[&["--bind", &w_s, "/work", "--chdir", "/work"], extra].concat(),
            &["/bin/sh", "-c", script],
        );
        assert_eq!(
            out.code,
            Some(0),
            "[{}] {test}: exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            v.name(),
            out.status,
            out.stdout,
            out.stderr
        );
        check(&out.stdout, v);
    });
}

#[test]
fn shell_pipeline_with_sed_awk_grep() {
    sh_in_jail(
        "shell_pipeline",
        &["sed", "awk", "grep", "sort"],
        "printf 'b 2\\na 1\\nc 3\\n' > in.txt && sort in.txt | awk '{s+=$2} END {print s}' \
         | sed 's/6/six/' | grep -x six",
        |out, _| assert_eq!(out.trim(), "six"),
    );
}

#[test]
fn python3_with_multiprocessing() {
    sh_in_jail(
        "python3_multiprocessing",
        &["/usr/bin/python3"],
        "/usr/bin/python3 -c 'import multiprocessing as m\n\
         if __name__ == \"__main__\":\n    \
         with m.Pool(2) as p: print(sum(p.map(abs, range(-10, 0))))'",
        |out, _| assert_eq!(out.trim(), "55"),
    );
}

#[test]
fn gcc_compiles_and_runs_a_threaded_program() {
    sh_in_jail(
        "gcc_pthread",
        &["gcc"],
        r#"cat > t.c <<'EOF'
#include <pthread.h>
#include <stdio.h>
static int sum;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *work(void *arg) {
    pthread_mutex_lock(&mu); sum += (int)(long)arg; pthread_mutex_unlock(&mu);
    return NULL;
}
int main(void) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, work, (void *)(i + 1));
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    printf("sum=%d\n", sum);
    return 0;
}
EOF
gcc -O1 -pthread -o t t.c && ./t"#,
        |out, _| assert_eq!(out.trim(), "sum=10"),
    );
}

#[test]
fn make_builds_a_target() {
    sh_in_jail(
        "make",
        &["make"],
        "printf 'out.txt: in.txt\\n\\ttr a-z A-Z < in.txt > out.txt\\n' > Makefile && \
         echo hello > in.txt && make -s && cat out.txt && make -s && echo second-run-ok",
        |out, _| assert_eq!(out.trim(), "HELLO\nsecond-run-ok"),
    );
}

#[test]
fn git_init_and_commit() {
    sh_in_jail(
        "git",
        &["git"],
        "git init -q repo && cd repo && echo hi > f && git add f && \
         git -c user.name=t -c user.email=t@example.invalid commit -qm first && \
         git log --format=%s",
        |out, _| assert_eq!(out.trim(), "first"),
    );
}

/// node in the default jail, as the jail's command running a script from the work directory:
/// memory-deny-write-execute is on by default and node (a JIT) gets ironpen's built-in PaX-style
/// exception. A node started by another program (a shell, make) inherits MDWE and needs
/// `--allow-jit` or an `m` mark instead: see `jit_hint.rs` and docs/mdwe.md.
#[test]
fn node_runs() {
    if host_tool("node").is_none() {
        skip("node", "node is not installed");
        return;
    }
    each_variant("node", |env, v| {
        let w = env.work_dir("work", v);
        std::fs::write(
            w.join("sq.js"),
            "console.log([1,2,3].map(x => x * x).join(','))\n",
        )
        .unwrap();
        let w_s = w.to_string_lossy().into_owned();
        let out = env.run(
            v,
            &["--bind", &w_s, "/work", "--chdir", "/work"],
            &["node", "sq.js"],
        );
        assert_eq!(out.code, Some(0), "[{}] node sq.js: {out:?}", v.name());
        assert_eq!(out.stdout.trim(), "1,4,9");
    });
}

/// The documented ways to run a JIT under memory-deny-write-execute work: `--allow-jit`, node's
/// own `--jitless` in the default jail, and node as the jail's command (built-in exception).
#[test]
fn node_runs_with_allow_jit_or_jitless() {
    sh_in_jail_with(
        "node_allow_jit",
        &["--allow-jit"],
        &["node"],
        "node -e 'console.log(6 * 7)'",
        |out, _| assert_eq!(out.trim(), "42"),
    );
    if host_tool("node").is_some() {
        each_variant("node_direct", |env, v| {
            let out = env.run(v, &[], &["node", "-e", "console.log(6 * 7)"]);
            assert_eq!(
                out.code,
                Some(0),
                "[{}] node as the command: {out:?}",
                v.name()
            );
            assert_eq!(out.stdout.trim(), "42");
        });
    }
    sh_in_jail(
        "node_jitless",
        &["node"],
        "node --jitless -e 'console.log(6 * 7)'",
        |out, _| assert_eq!(out.trim(), "42"),
    );
}

#[test]
fn sqlite3_works() {
    sh_in_jail(
        "sqlite3",
        &["sqlite3"],
        "sqlite3 db.sqlite 'create table t(x); insert into t values (1),(2),(39); \
         select sum(x) from t;'",
        |out, _| assert_eq!(out.trim(), "42"),
    );
}

#[test]
fn tar_xz_round_trip() {
    sh_in_jail(
        "tar_xz",
        &["tar", "xz"],
        "mkdir -p d/sub && seq 1 1000 > d/sub/n && echo x > d/f && tar cJf a.tar.xz d && \
         mkdir o && tar xJf a.tar.xz -C o && cmp d/sub/n o/d/sub/n && cmp d/f o/d/f && echo same",
        |out, _| assert_eq!(out.trim(), "same"),
    );
}

#[test]
fn openssl_dgst() {
    sh_in_jail(
        "openssl",
        &["openssl"],
        "printf abc | openssl dgst -sha256",
        |out, _| {
            assert!(
                out.contains("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
                "{out}"
            )
        },
    );
}

#[test]
fn fifo_and_background_jobs() {
    sh_in_jail(
        "fifo_and_jobs",
        &[],
        "mkfifo p || exit 1; (echo through-fifo > p) & read x < p; \
         (sleep 0.1; echo a > a.txt) & (sleep 0.1; echo b > b.txt) & wait; \
         echo \"$x $(cat a.txt b.txt | tr -d '\\n')\"",
        |out, _| assert_eq!(out.trim(), "through-fifo ab"),
    );
}

#[test]
fn files_in_work_dir_have_the_documented_owner() {
    each_variant("work_dir_owner", |env, v| {
        let w = env.work_dir("work", v);
        let w_s = w.to_string_lossy().into_owned();
        let out = env.run(
            v,
            &["--bind", &w_s, "/work", "--chdir", "/work"],
            &["/bin/sh", "-c", "mkdir d && echo x > d/f && id -u"],
        );
        assert_eq!(out.code, Some(0), "{out:?}");
        assert_eq!(
            out.stdout.trim(),
            v.inner_ids().0.to_string(),
            "id -u inside"
        );
        use std::os::unix::fs::MetadataExt;
        for p in [w.join("d"), w.join("d/f")] {
            let m = std::fs::metadata(&p).expect("created through the bind");
            assert_eq!(
                (m.uid(), m.gid()),
                v.host_ids(),
                "[{}] {}",
                v.name(),
                p.display()
            );
        }
    });
}

/// stdin, stdout and stderr pass through unchanged (and separately).
#[test]
fn stdio_passes_through() {
    each_variant("stdio_passes_through", |env, v| {
        use std::io::Write;
        let mut c = env.ironpen_cmd(v, &[], &["/bin/sh", "-c", "tr a-z A-Z; echo to-stderr >&2"]);
        c.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().expect("spawn ironpen");
        let input: String = (0..20000).map(|i| format!("line {i}\n")).collect();
        let mut stdin = child.stdin.take().expect("stdin");
        let writer = std::thread::spawn(move || {
            stdin.write_all(input.as_bytes()).expect("write stdin");
        });
        let out = wait_child(child, RUN_TIMEOUT, "ironpen tr");
        writer.join().expect("writer");
        assert_eq!(out.code, Some(0), "[{}] {out:?}", v.name());
        let expected: String = (0..20000).map(|i| format!("LINE {i}\n")).collect();
        assert!(
            out.stdout == expected,
            "[{}] stdout differs ({} bytes)",
            v.name(),
            out.stdout.len()
        );
        assert_eq!(out.stderr, "to-stderr\n", "[{}] stderr", v.name());
    });
}

/// A jailed program starts with SIGPIPE at its default action, as outside any jail (ironpen's
/// own Rust runtime ignores SIGPIPE, and an ignored signal stays ignored across execve): `yes |
/// head` ends quietly instead of `yes` reporting "Broken pipe".
#[test]
fn sigpipe_has_its_default_action() {
    sh_in_jail(
        "sigpipe_default",
        &["yes", "head", "sed"],
        "{ yes | head -n 1; } 2>&1; sed -n 's/^SigIgn:[[:space:]]*//p' /proc/self/status",
        |out, v| {
            assert!(
                !out.contains("Broken pipe"),
                "[{}] `yes` got EPIPE instead of SIGPIPE: {out}",
                v.name()
            );
            let mut lines = out.lines();
            assert_eq!(lines.next(), Some("y"), "[{}] {out}", v.name());
            let ignored = lines
                .next()
                .and_then(|hex| u64::from_str_radix(hex, 16).ok())
                .unwrap_or_else(|| panic!("[{}] no SigIgn line: {out}", v.name()));
            assert_eq!(
                ignored & (1 << (13 - 1)),
                0,
                "[{}] SIGPIPE is ignored in the jail (SigIgn {ignored:x})",
                v.name()
            );
            assert_eq!(lines.next(), None, "[{}] {out}", v.name());
        },
    );
}

/// Java on Debian: the JDK's `conf/` and `lib/security/cacerts` are symlinks into /etc
/// (/etc/java-N-openjdk, /etc/ssl/certs/java); `keytool` must load java.security and the CA
/// store. Started directly (not from a shell), it also gets MDWE's built-in JIT exception.
#[test]
fn java_keytool_loads_security_config_and_cacerts() {
    let test = "java_keytool";
    let Some(keytool) = host_tool("keytool") else {
        skip(test, "keytool (a Java runtime) is not installed");
        return;
    };
    each_variant(test, |env, v| {
        let out = env.run(
            v,
            &[],
            &[&keytool, "-list", "-cacerts", "-storepass", "changeit"],
        );
        assert!(
            out.code == Some(0)
                && out.stdout.contains("Keystore type")
                && out.stdout.contains("Your keystore contains"),
            "[{}] keytool -list -cacerts: exit {:?}\n{}{}",
            v.name(),
            out.status,
            out.stdout,
            out.stderr
        );
    });
}

/// man finds its configuration (/etc/manpath.config) and groff its macros: `man ls` renders.
#[test]
fn man_renders_a_page() {
    sh_in_jail(
        "man_page",
        &["man", "groff"],
        "man -P cat ls 2>&1 | head -n 1",
        |out, v| assert!(out.contains("LS(1)"), "[{}] man ls: {out}", v.name()),
    );
}
