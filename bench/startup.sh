#!/bin/bash
# Start-up cost and memory of `ironpen run`, measured in the same run as native fork+exec,
# `unshare -Urmpf --mount-proc` and bubblewrap with comparable isolation.
#
# Usage (as root): bench/startup.sh            builds both ironpen binaries first
#                  IRONPEN=/path/to/ironpen bench/startup.sh   measures that binary instead
# "ironpen" is `cargo build --release` (README's Install); "ironpen (static)" is
# scripts/build-static (glibc static-pie: starts faster, holds more memory).
# Env: RUNS per round (default 100), WARMUP (default 10), ROUNDS (default 3; the best median
# of the rounds is reported per command), ROOTLESS=0 to skip the uid-65534 rows.
# The uid-65534 rows run hyperfine itself as uid 65534, so each measured command is started
# directly (no setpriv exec inside the measurement).
# "floor (C)" is bench/floor.c: the same kernel work as ironpen's default jail in plain C, with
# nothing else (no command line, no policy, no error reporting): how far below bubblewrap any
# implementation of these protections could get on this machine.
# Needs: hyperfine, bwrap, jq, setpriv, cc (Debian: hyperfine bubblewrap jq util-linux gcc).
set -euo pipefail

RUNS=${RUNS:-100}
WARMUP=${WARMUP:-10}
ROUNDS=${ROUNDS:-3}
ROOTLESS=${ROOTLESS:-1}

die() { echo "startup.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it also measures the rootless case as uid 65534)"
for t in hyperfine bwrap jq setpriv cc; do
    command -v "$t" >/dev/null || die "$t is not installed (apt-get install hyperfine bubblewrap jq util-linux gcc)"
done

root=$(cd "$(dirname "$0")/.." && pwd)
IRONPEN_STATIC=
if [ -z "${IRONPEN:-}" ]; then
    (cd "$root" && cargo build --release -q -p ironpen) || die "cargo build --release -p ironpen failed"
    IRONPEN=$root/target/release/ironpen
    IRONPEN_STATIC=$root/$(cd "$root" && scripts/build-static) || die "scripts/build-static failed"
fi
[ -x "$IRONPEN" ] || die "no ironpen binary at $IRONPEN"

BWRAP="bwrap --unshare-all --new-session --die-with-parent --ro-bind /usr /usr \
--symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
--tmpfs /tmp --proc /proc --dev /dev"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"

tmp=$(mktemp -d /tmp/ironpen-bench.XXXXXX)
chmod 755 "$tmp"
jailpids=()
cleanup() {
    for p in "${jailpids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# A place uid 65534 can write its hyperfine results to.
mkdir "$tmp/nobody" && chown 65534:65534 "$tmp/nobody"
# Copies uid 65534 can execute (the build tree may not be reachable for it).
cp "$IRONPEN" "$tmp/ironpen"
[ -z "$IRONPEN_STATIC" ] || cp "$IRONPEN_STATIC" "$tmp/ironpen-static"
chmod 755 "$tmp"/ironpen*
IRONPEN=$tmp/ironpen
[ -z "$IRONPEN_STATIC" ] || IRONPEN_STATIC=$tmp/ironpen-static
FLOOR=$tmp/floor
cc -O2 -static-pie -o "$FLOOR" "$root/bench/floor.c" || die "cannot build bench/floor.c"
chmod 755 "$FLOOR"
"$FLOOR" /bin/true || die "\`$FLOOR /bin/true\` fails (exit $?)"
for bin in "$IRONPEN" $IRONPEN_STATIC; do
    "$bin" run -- /bin/true || die "\`$bin run -- /bin/true\` fails (exit $?); nothing to measure"
done
if [ "$ROOTLESS" = 1 ] && ! $NOBODY "$IRONPEN" run -- /bin/true; then
    echo "note: rootless ironpen fails; skipping rootless rows" >&2
    ROOTLESS=0
fi

t0=$SECONDS
echo "== start-up: best of $ROUNDS rounds of $RUNS runs (after $WARMUP warm-up runs, hyperfine -N), $(nproc) CPUs, kernel $(uname -r)"
cmds=(
    -n native "/bin/true"
    -n "unshare -Urmpf" "unshare -Urmpf --mount-proc /bin/true"
    -n bwrap "$BWRAP /bin/true"
    -n "floor (C)" "$FLOOR /bin/true"
    -n ironpen "$IRONPEN run -- /bin/true"
)
[ -z "$IRONPEN_STATIC" ] || cmds+=(-n "ironpen (static)" "$IRONPEN_STATIC run -- /bin/true")
nobody_cmds=(
    -n "native (uid 65534)" "/bin/true"
    -n "bwrap (uid 65534)" "$BWRAP /bin/true"
    -n "floor (C, uid 65534)" "$FLOOR /bin/true"
    -n "ironpen (uid 65534)" "$IRONPEN run -- /bin/true"
)
# Other work on the machine disturbs single commands for seconds at a time; several rounds,
# keeping each command's best median, give figures that hold still.
for round in $(seq 1 "$ROUNDS"); do
    hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
        --export-json "$tmp/h$round.json" "${cmds[@]}" >"$tmp/hyperfine.log" 2>&1 \
        || { cat "$tmp/hyperfine.log"; die "hyperfine failed"; }
    if [ "$ROOTLESS" = 1 ]; then
        # hyperfine itself runs as uid 65534, in a directory of its own.
        (cd "$tmp/nobody" && HOME=$tmp/nobody $NOBODY hyperfine -N --style basic --warmup "$WARMUP" \
            --runs "$RUNS" --export-json "$tmp/nobody/n$round.json" "${nobody_cmds[@]}") \
            >"$tmp/hyperfine.log" 2>&1 \
            || { cat "$tmp/hyperfine.log"; die "hyperfine as uid 65534 failed"; }
        jq -s '{results: (.[0].results + .[1].results)}' "$tmp/h$round.json" "$tmp/nobody/n$round.json" \
            >"$tmp/m$round.json"
    else
        cp "$tmp/h$round.json" "$tmp/m$round.json"
    fi
done
# Per command: the round with the lowest median (its median and mean).
jq -s '{results: [ [.[].results] | transpose[] | min_by(.median) ]}' "$tmp"/m[0-9]*.json >"$tmp/h.json"

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$tmp/h.json"; }
bw=$(median bwrap)
printf '\n%-22s %10s %10s %14s\n' command "median ms" "mean ms" "÷ bwrap"
jq -r '.results[] | [.command, .median * 1000, .mean * 1000] | @tsv' "$tmp/h.json" |
while IFS=$'\t' read -r name med mean; do
    ref=$bw
    case "$name" in *"uid 65534)"*) ref=$(median "bwrap (uid 65534)");; esac
    printf '%-22s %10.3f %10.3f %13.2fx\n' "$name" "$med" "$mean" "$(echo "$med / $ref" | bc -l)"
done
verdict() { # name, bwrap name
    local ip bw
    ip=$(median "$1"); bw=$(median "$2")
    printf '%-22s target median <= 0.5 x %s (%.3f ms): %s; never slower: %s\n' "$1" "$2" \
        "$(echo "0.5 * $bw" | bc -l)" \
        "$([ "$(echo "$ip <= 0.5 * $bw" | bc -l)" = 1 ] && echo met || echo NOT met)" \
        "$([ "$(echo "$ip <= $bw" | bc -l)" = 1 ] && echo yes || echo NO)"
}
echo
verdict ironpen bwrap
[ -z "$IRONPEN_STATIC" ] || verdict "ironpen (static)" bwrap
verdict "floor (C)" bwrap
if [ "$ROOTLESS" = 1 ]; then
    verdict "ironpen (uid 65534)" "bwrap (uid 65534)"
    verdict "floor (C, uid 65534)" "bwrap (uid 65534)"
fi

# ---- memory held by the sandbox's own processes while the jail runs `sleep`
# All processes in the tree under $1, one pid per line (including $1).
tree() {
    ps -e -o pid=,ppid= | awk -v top="$1" '
        { parent[$1] = $2; pids[NR] = $1 }
        END {
            keep[top] = 1; changed = 1
            while (changed) {
                changed = 0
                for (i in pids) { p = pids[i]; if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 } }
            }
            for (p in keep) print p
        }'
}

# Sum Rss/Pss (kB) over the tree's processes that are not the payload (`sleep`).
measure() {
    local label=$1; shift
    "$@" /bin/sleep 60 &
    local top=$!
    jailpids+=("$top")
    local pids="" deadline=$((SECONDS + 5))
    while [ $SECONDS -lt $deadline ]; do
        pids=$(tree "$top")
        for p in $pids; do
            [ "$(cat /proc/$p/comm 2>/dev/null)" = sleep ] && break 2
        done
        sleep 0.05
    done
    sleep 0.2
    local rss=0 pss=0 n=0 names=""
    for p in $(tree "$top"); do
        local comm
        comm=$(cat /proc/$p/comm 2>/dev/null) || continue
        [ "$comm" = sleep ] && continue
        local r s
        r=$(awk '/^Rss:/ {print $2}' /proc/$p/smaps_rollup 2>/dev/null || echo 0)
        s=$(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup 2>/dev/null || echo 0)
        rss=$((rss + ${r:-0})); pss=$((pss + ${s:-0})); n=$((n + 1)); names="$names $comm:${s:-0}kB"
    done
    # Kill the whole tree, not just the top: a sandbox whose jail outlives its parent must not
    # leave a sleeping process behind.
    kill -KILL $(tree "$top") 2>/dev/null || true
    wait "$top" 2>/dev/null || true
    printf '%-22s %3d procs %8d kB RSS %8d kB PSS   [PSS each:%s ]\n' "$label" "$n" "$rss" "$pss" "$names"
}

echo
echo "== memory of the sandbox's own processes while the jail runs sleep (smaps_rollup)"
measure bwrap $BWRAP
measure ironpen "$IRONPEN" run --
[ -z "$IRONPEN_STATIC" ] || measure "ironpen (static)" "$IRONPEN_STATIC" run --
if [ "$ROOTLESS" = 1 ]; then
    measure "bwrap (uid 65534)" $NOBODY $BWRAP
    measure "ironpen (uid 65534)" $NOBODY "$IRONPEN" run --
fi
echo "(bubblewrap's reference: about 600 kB PSS per sandbox; target for ironpen: below that)"
echo "(bench took $((SECONDS - t0)) s)"
