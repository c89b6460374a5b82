#!/bin/sh
# Copy-on-write workspace figures, all in one run (see docs/workspaces.md):
#  1. extract a ~100 MB tree (a tar of /usr/share/doc by default) and read it back
#     (a) natively, (b) on a bare kernel overlay in a user namespace (unshare -Urm, userxattr),
#     (c) in an ironpen workspace, (d) on fuse-overlayfs when installed, (e) in an ironpen
#     workspace with --overlay-driver fuse (daemon outside the jail); median of $ROUNDS
#     interleaved rounds, timed inside (extract = tar x into the page cache, read = tar c | cat; no sync: the disk is shared with other jobs);
#  2. `ironpen ws diff` on a workspace with $NFILES changed files: time and peak RSS.
# Usage: bench/workspace.sh [TREE]   (env: ROUNDS=3 NFILES=100000 (0: skip part 2) IRONPEN=path
#   IRONPEN_ARGS="--landlock off --seccomp none" to see the overlay alone)
set -eu
TREE=${1:-/usr/share/doc}
ROUNDS=${ROUNDS:-3}
NFILES=${NFILES:-100000}
here=$(cd "$(dirname "$0")/.." && pwd)
IRONPEN=${IRONPEN:-}
if [ -z "$IRONPEN" ]; then
    if [ -x "$here/target/release/ironpen" ]; then IRONPEN=$here/target/release/ironpen; else IRONPEN=$here/target/debug/ironpen; fi
fi
W=$(mktemp -d /var/tmp/ironpen-wsbench.XXXXXX)
chmod 755 "$W"
cleanup() {
    # Unmount anything left by an interrupted round (only our own mount points).
    for m in "$W"/fuse/m; do fusermount -u "$m" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT INT TERM
tar cf "$W/tree.tar" -C "$(dirname "$TREE")" "$(basename "$TREE")" 2>/dev/null
size=$(du -sm "$W/tree.tar" | cut -f1)
files=$(tar tf "$W/tree.tar" | wc -l)
echo "tree: $TREE as a $size MB tar, $files entries; ironpen: $IRONPEN; $ROUNDS rounds"

# The timed work, run inside each setup: prints "extract_seconds read_seconds".
WORK='t0=$(date +%s.%N); tar xf "$1"; t1=$(date +%s.%N); tar cf - . | cat >/dev/null; t2=$(date +%s.%N); echo "$t0 $t1 $t2" | awk "{printf \"%.3f %.3f\n\", \$2-\$1, \$3-\$2}"'

# Untimed: remove the last round's tree and let its writeback settle before timing the next.
fresh() { rm -rf "$W/$1"; mkdir -p "$W/$1"; chmod 755 "$W/$1"; sync; }

run_native() {
    fresh native; mkdir "$W/native/m"
    (cd "$W/native/m" && sh -c "$WORK" sh "$W/tree.tar")
}
run_kernel() {
    fresh kernel; mkdir "$W/kernel/l" "$W/kernel/u" "$W/kernel/w" "$W/kernel/m"
    unshare -Urm sh -c 'mount -t overlay overlay -o "lowerdir=$1/l,upperdir=$1/u,workdir=$1/w,userxattr" "$1/m" && cd "$1/m" && sh -c "$2" sh "$3"' \
        sh "$W/kernel" "$WORK" "$W/tree.tar"
}
run_ironpen() {
    fresh ironpen; mkdir "$W/ironpen/base"; chown 65534:65534 "$W/ironpen/base" 2>/dev/null || true
    # shellcheck disable=SC2086 # IRONPEN_ARGS: extra run options, e.g. "--landlock off --seccomp none"
    "$IRONPEN" run ${IRONPEN_ARGS:-} --workspace bench --workspace-dir "$W/ironpen/ws" --base "$W/ironpen/base" \
        --ro-bind "$W/tree.tar" /bench/tree.tar -- sh -c "$WORK" sh /bench/tree.tar
}
run_ipfuse() {
    fresh ipfuse; mkdir "$W/ipfuse/base"; chown 65534:65534 "$W/ipfuse/base" 2>/dev/null || true
    # shellcheck disable=SC2086
    "$IRONPEN" run ${IRONPEN_ARGS:-} --overlay-driver fuse --workspace bench --workspace-dir "$W/ipfuse/ws" \
        --base "$W/ipfuse/base" --ro-bind "$W/tree.tar" /bench/tree.tar -- sh -c "$WORK" sh /bench/tree.tar
}
run_fuse() {
    fresh fuse; mkdir "$W/fuse/l" "$W/fuse/u" "$W/fuse/w" "$W/fuse/m"
    unshare -Urm sh -c 'fuse-overlayfs -o "lowerdir=$1/l,upperdir=$1/u,workdir=$1/w" "$1/m" && cd "$1/m" && sh -c "$2" sh "$3"; cd /; fusermount -u "$1/m" 2>/dev/null || umount "$1/m"' \
        sh "$W/fuse" "$WORK" "$W/tree.tar"
}

kinds="native kernel ironpen"
command -v fuse-overlayfs >/dev/null && kinds="$kinds fuse ipfuse"
# Rotate the order each round, so no setup always runs first or after the same neighbour.
for r in $(seq "$ROUNDS"); do
    order=$(echo $kinds | tr ' ' '\n' | awk -v r="$r" '{a[NR]=$0} END {for (i=0;i<NR;i++) print a[(i+r)%NR+1]}')
    for k in $order; do
        echo "$(run_$k 2>/dev/null)" >> "$W/$k.times"
    done
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
minimum() { sort -n | head -1; }
# The machine may be shared: the minimum is the least disturbed round; the median and every
# round are printed too, so the spread is visible.
for stat in minimum median; do
    echo "-- $stat of $ROUNDS rounds"
    printf '%-8s %10s %10s %12s %12s\n' setup extract_s read_s extract/nat extract/kern
    nx=$(cut -d' ' -f1 "$W/native.times" | $stat)
    kx=$(cut -d' ' -f1 "$W/kernel.times" | $stat)
    for k in $kinds; do
        x=$(cut -d' ' -f1 "$W/$k.times" | $stat)
        rd=$(cut -d' ' -f2 "$W/$k.times" | $stat)
        printf '%-8s %10s %10s %12s %12s\n' "$k" "$x" "$rd" \
            "$(awk "BEGIN{printf \"%.2f\", $x/$nx}")" "$(awk "BEGIN{printf \"%.2f\", $x/$kx}")"
    done
done
for k in $kinds; do echo "$k rounds (extract read): $(tr '\n' ',' < "$W/$k.times")"; done

[ "$NFILES" = 0 ] && exit 0
# 2. ws diff on NFILES changed files (a base of NFILES one-line files, each appended to in a jail).
fresh diff; mkdir "$W/diff/base"
(cd "$W/diff/base" && seq 1 "$NFILES" | split -l 1 -a 6 - f)
chown -R 65534:65534 "$W/diff/base" 2>/dev/null || true
"$IRONPEN" run --workspace d --workspace-dir "$W/diff/d" --base "$W/diff/base" -- \
    sh -c 'find . -type f -print0 | xargs -0 -n 2000 sh -c "for f; do echo y >> \"\$f\"; done" _'
for mode in --stat "" --json; do
    /usr/bin/time -f "%e %M" -o "$W/time" "$IRONPEN" ws --root "$W/diff" diff $mode d > "$W/out" 2>/dev/null || true
    read -r secs kb < "$W/time"
    echo "ws diff ${mode:-(list)} on $(grep -c . "$W/out") output lines ($NFILES changed files): ${secs}s, peak RSS ${kb} KB"
done
