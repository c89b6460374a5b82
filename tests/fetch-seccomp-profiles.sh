#!/bin/sh
# Fetch the real-world seccomp profiles the seccomp tests compare against (Docker's and podman's
# defaults, Docker's fixtures) from Debian packages, without installing them (no Go toolchain).
# Usage: tests/fetch-seccomp-profiles.sh [DIR]   (default: target/seccomp-profiles)
# Tests find them through $IRONPEN_SECCOMP_PROFILES or that default directory.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/target/seccomp-profiles}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
apt-get download golang-github-docker-docker-dev golang-github-containers-common >/dev/null 2>&1 \
  || { echo "apt-get download failed (run apt-get update?)" >&2; exit 1; }
for deb in ./*.deb; do dpkg -x "$deb" x; done
mkdir -p "$dest/docker-fixtures"
src=x/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp
cp "$src/default.json" "$dest/docker-default.json"
cp "$src"/fixtures/*.json "$dest/docker-fixtures/"
cp x/usr/share/containers/seccomp.json "$dest/podman-default.json"
echo "seccomp profiles in $dest:"
ls -R "$dest"
