#!/bin/sh
# The cost of ironpen's pty relay, in one run:
# 1. throughput: `cat` of a large file (200 MB by default) onto a pty whose master is copied to
#    /dev/null, (a) by script(1) — a direct pty, one relay, the reference — and (b) by ironpen
#    (`--tty always`: the jail's own pty, ironpen's relay). Best of ROUNDS; ratio = direct time /
#    relay time (target >= 0.8). ironpen's time includes starting the jail (printed separately).
# 2. latency: one keystroke's echo round trip on an outer pty (python3 harness): the echo from a
#    plain `cat` (no relay: the floor), through script(1), and through `ironpen run -- cat`
#    (outer pty -> ironpen -> the jail's pty, echoed there, and back).
# Usage: bench/pty.sh [SIZE_MB] [ROUNDS]     (defaults 200 and 3)
# IRONPEN_BIN=/path/to/ironpen uses that binary instead of building the release one.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
size=${1:-200}
rounds=${2:-3}
if [ -n "${IRONPEN_BIN:-}" ]; then
    ironpen=$IRONPEN_BIN
else
    cargo build --release -q -p ironpen
    ironpen=$root/target/release/ironpen
fi
work=$(mktemp -d /tmp/ironpen-bench-pty.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
chmod 755 "$work"
yes 'The quick brown fox jumps over the lazy dog; 0123456789 abcdefghijklmnopqrstuvwxyz.' |
    head -c "${size}M" >"$work/data"
chmod 644 "$work/data"

now() { date +%s.%N; }
best() { # best time of $rounds runs of "$@"
    b=
    i=0
    while [ "$i" -lt "$rounds" ]; do
        t0=$(now)
        "$@" </dev/null >/dev/null
        t1=$(now)
        b=$(echo "$t0 $t1 ${b:-999999}" | awk '{d = $2 - $1; print (d < $3 ? d : $3)}')
        i=$((i + 1))
    done
    echo "$b"
}

direct() { script -qc "cat $work/data" /dev/null; }
relay() { "$ironpen" run --tty always --ro-bind "$work" /data -- cat /data/data; }
startup() { "$ironpen" run --tty always -- true; }

echo "pty throughput: cat of ${size} MB, best of $rounds"
td=$(best direct)
tr=$(best relay)
ts=$(best startup)
awk -v s="$size" -v d="$td" -v r="$tr" -v st="$ts" 'BEGIN {
    printf "  direct pty (script):      %7.3f s  %7.1f MB/s\n", d, s / d
    printf "  ironpen relay:            %7.3f s  %7.1f MB/s  (jail start alone %.3f s)\n", r, s / r, st
    printf "  ratio relay/direct:       %7.2f   (target >= 0.80)\n", d / r
}'

echo "keystroke echo round trip (python3 harness, 300 keystrokes each)"
python3 - "$ironpen" <<'PY'
import os, select, subprocess, sys, termios, time, tty

ironpen = sys.argv[1]

def measure(argv, relayed, n=300):
    master, slave = os.openpty()
    p = subprocess.Popen(["setsid", "-c"] + argv, stdin=slave, stdout=slave, stderr=slave,
                         close_fds=True)
    try:
        deadline = time.time() + 10
        # A relay puts the outer terminal in raw mode once the program runs.
        while relayed and termios.tcgetattr(slave)[3] & termios.ECHO:
            if time.time() > deadline:
                raise SystemExit("relay never went raw: " + " ".join(argv))
            time.sleep(0.01)
        time.sleep(0.2)
        while select.select([master], [], [], 0.05)[0]:
            os.read(master, 4096)
        samples = []
        for i in range(n):
            c = b"abcdefghijklmnopqrstuvwxyz"[i % 26:i % 26 + 1]
            t0 = time.perf_counter()
            os.write(master, c)
            got = b""
            while c not in got:
                r, _, _ = select.select([master], [], [], 5)
                if not r:
                    raise SystemExit("no echo from " + " ".join(argv))
                got += os.read(master, 64)
            samples.append(time.perf_counter() - t0)
        samples.sort()
        return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
    finally:
        p.kill()
        p.wait()
        os.close(master)
        os.close(slave)

for name, argv, relayed in [
    ("no relay (cat on the pty)", ["cat"], False),
    ("script(1)", ["script", "-qc", "cat", "/dev/null"], True),
    ("ironpen run -- cat", [ironpen, "run", "--", "cat"], True),
]:
    med, p99 = measure(argv, relayed)
    print(f"  {name:28s} median {med * 1e6:7.1f} us   p99 {p99 * 1e6:7.1f} us")
PY
