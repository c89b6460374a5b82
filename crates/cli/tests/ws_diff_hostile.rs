//! `ws diff` on an upper layer written by a hostile program inside a jail, as root and as uid
//! 65534: symlinks to /etc/shadow and a symlink loop, a FIFO (also in place of a base file), a
//! 1 TiB sparse file, a 2000-deep tree, names with a newline, an ESC sequence and invalid UTF-8,
//! a hard link. The diff must finish quickly, follow nothing, open nothing but regular files and
//! print every name escaped (no raw control byte reaches the terminal).

mod ws_common;

use std::fs;
use std::time::{Duration, Instant};

use ws_common::*;

const HOSTILE: &str = r#"set -e
ln -s /etc/shadow shadow-link
ln -s loop-b loop-a; ln -s loop-a loop-b
mkfifo fifo
rm plain; mkfifo plain
truncate -s 1T sparse
ln sparse sparse-hardlink
touch "$(printf 'new\nline\033[2J\033]0;owned\007')"
touch "$(printf 'bad\377utf8')"
i=0; mkdir deep; cd deep
while [ $i -lt 2000 ]; do mkdir d; cd d; i=$((i+1)); done
echo bottom > last
"#;

#[test]
fn diff_of_a_hostile_upper_is_fast_follows_nothing_and_escapes_names() {
    for who in whos() {
        let env = Env::new();
        let base = env.dir_for("base");
        fs::write(base.join("plain"), "a regular base file\n").unwrap();
        if is_root() {
            std::os::unix::fs::lchown(base.join("plain"), Some(65534), Some(65534)).unwrap();
        }
        ok(&env.run_in(who, "h", &base, &[], HOSTILE));

        // The jail held the FIFO open for no one: a diff that opened it would block forever.
        let t0 = Instant::now();
        let child = env
            .command(
                who,
                &[
                    "ws",
                    "--root",
                    env.ws_root(who).to_str().unwrap(),
                    "diff",
                    "--patch",
                    "h",
                ],
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
        let out = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(o) => o,
            Err(_) => {
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
                panic!("{who:?}: ws diff hung on a hostile upper");
            }
        };
        let took = t0.elapsed();
        let text = ok(&out);
        let b = base.display().to_string();
        let line = |l: &str| text.lines().any(|x| x == l);
        assert!(
            line(&format!("A  {b}/shadow-link -> /etc/shadow")),
            "{who:?}:\n{text}"
        );
        assert!(line(&format!("A  {b}/loop-a -> loop-b")), "{who:?}");
        assert!(line(&format!("A  {b}/fifo [fifo]")), "{who:?}");
        assert!(line(&format!("T  {b}/plain [fifo]")), "{who:?}");
        assert!(line(&format!("A  {b}/sparse")), "{who:?}");
        assert!(
            line(&format!("A  {b}/sparse-hardlink (hard link of {b}/sparse)")),
            "{who:?}"
        );
        assert!(
            line(&format!("A  {b}/new\\nline\\x1b[2J\\x1b]0;owned\\x07")),
            "{who:?}"
        );
        assert!(line(&format!("A  {b}/bad\\xffutf8")), "{who:?}");
        let bottom = format!("{b}/deep{}/last", "/d".repeat(2000));
        assert!(
            line(&format!("A  {bottom}")),
            "{who:?}: the 2000-deep file is missing"
        );
        // Nothing was followed: no content of /etc/shadow (or of anything outside) was read.
        if let Ok(shadow) = fs::read_to_string("/etc/shadow") {
            let first = shadow.lines().next().unwrap_or("root:");
            assert!(
                !text.contains(first),
                "{who:?}: the diff followed shadow-link"
            );
        }
        // The only patch text is the bottom file's; the sparse file is not read into a patch.
        assert!(text.contains("+bottom"), "{who:?}");
        assert!(
            text.contains("larger than"),
            "{who:?}: the 1 TiB file got a patch"
        );
        // No raw control byte but newlines; the stream is valid UTF-8.
        assert!(
            out.stdout.iter().all(|&c| c >= 0x20 || c == b'\n'),
            "{who:?}: raw control bytes"
        );
        assert!(std::str::from_utf8(&out.stdout).is_ok());
        assert!(took < Duration::from_secs(20), "{who:?}: took {took:?}");

        // --json: one object per line, the last one the totals.
        let json = ok(&env.ws(who, &["diff", "--json", "h"]));
        let lines: Vec<serde_json::Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let stats = &lines.last().unwrap()["stats"];
        assert_eq!(stats["type_changed"], 1, "{who:?}: {stats}");
        assert_eq!(
            stats["added"].as_u64().unwrap(),
            9 + 2000 + 1,
            "{who:?}: {stats}"
        );
        assert!(lines
            .iter()
            .any(|v| v["path"] == format!("{b}/new\\nline\\x1b[2J\\x1b]0;owned\\x07")));
        // --stat streams: the 1 TiB file counts with its apparent size, twice (hard link).
        let stat = ok(&env.ws(who, &["diff", "--stat", "h"]));
        assert!(stat.contains("1 type changes"), "{stat}");
        assert!(
            stat.contains(&format!("; {} bytes", (2u64 << 40) + 7)),
            "{stat}"
        );
    }
}
