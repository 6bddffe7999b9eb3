#!/bin/sh
# Bring a Debian host (root) to what iocjail's tests and demo need: zfs-fuse running, busybox-static,
# mandoc, util-linux, iproute2, git. Idempotent and quiet when everything is already there.
# --no-start installs only: `make test` runs its own zfs-fuse (scripts/test-sandbox.sh).
set -eu

if [ "$(id -u)" != 0 ]; then
    echo "host-setup: not root: nothing installed or started; tests that need root and ZFS will skip" >&2
    exit 0
fi

missing=""
command -v zfs-fuse >/dev/null 2>&1 || [ -x /usr/sbin/zfs-fuse ] || missing="$missing zfs-fuse"
dpkg -s busybox-static >/dev/null 2>&1 || missing="$missing busybox-static"
command -v unshare >/dev/null 2>&1 || missing="$missing util-linux"
command -v ip >/dev/null 2>&1 || [ -x /sbin/ip ] || missing="$missing iproute2"
command -v xz >/dev/null 2>&1 || missing="$missing xz-utils"
command -v mandoc >/dev/null 2>&1 || missing="$missing mandoc"
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$missing python3-venv"
command -v pgrep >/dev/null 2>&1 || missing="$missing procps"
command -v git >/dev/null 2>&1 || missing="$missing git"  # plugin indexes and artifacts

if [ -n "$missing" ]; then
    echo "host-setup: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null
fi

[ "${1:-}" = --no-start ] || exec "$(dirname "$0")/zfs-fuse-start.sh"
