#!/bin/sh
# Per-syscall cost of seccomp filters, all in one run (see tools/sysbench/src/main.rs):
# no filter, allow-all (the floor), ironpen's default profile, Docker's default profile compiled
# by libseccomp (default and binary-tree layouts) and by ironpen; plus the time to build, compile
# and load ironpen's default filter. Needs libseccomp2 (run time) and Docker's profile, which
# tests/fetch-seccomp-profiles.sh extracts from Debian packages.
# Usage: bench/seccomp.sh [ITERS]     (default 1000000 calls per round)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
profiles=${IRONPEN_SECCOMP_PROFILES:-$root/target/seccomp-profiles}
[ -f "$profiles/docker-default.json" ] || tests/fetch-seccomp-profiles.sh "$profiles" >/dev/null
cargo build --release -q -p sysbench
SYSBENCH_ITERS=${1:-1000000} "$root/target/release/sysbench" "$profiles"
