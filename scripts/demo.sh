#!/bin/sh
# A short tour of iocjail on a throw-away file-backed pool. Leaves the machine as it found it:
# the pool and its file are destroyed, and zfs-fuse is stopped if this script started it.
set -eu

IOCJAIL=${IOCJAIL:-iocjail}
here=$(cd "$(dirname "$0")" && pwd)
case "$IOCJAIL" in
    */*) PYTHON=${PYTHON:-$(dirname "$IOCJAIL")/python} ;;
    *) PYTHON=${PYTHON:-python3} ;;
esac
work=$(mktemp -d /tmp/iocjail-demo.XXXXXX)
pool="iocdemo$$"
started=""
mirror_pid=""

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup() {
    status=$?
    say "cleaning up"
    [ -n "$mirror_pid" ] && kill "$mirror_pid" 2>/dev/null || true
    zpool destroy -f "$pool" 2>/dev/null || true
    rm -rf "$work"
    if [ -n "$started" ]; then
        "$here/zfs-fuse-stop.sh"
        echo "stopped zfs-fuse (the demo started it)"
    fi
    exit "$status"
}
trap cleanup EXIT INT TERM

say "starting ZFS if needed"
started=$("$here/zfs-fuse-start.sh")

say "a 1 GiB file-backed pool: $pool"
run truncate -s 1G "$work/pool.img"
run zpool create -o cachefile=none -m "$work/mnt" "$pool" "$work/pool.img"

say "activate it for iocjail (and iocage)"
run "$IOCJAIL" activate "$pool"
run zfs get -H -o name,value org.freebsd.ioc:active "$pool"
run zfs list -r -o name,mountpoint "$pool/iocage"

say "list jails (none yet)"
run "$IOCJAIL" list

say "a tiny busybox release, served by a local mirror in the FreeBSD layout (no network needed)"
(cd "$here/.." && "$PYTHON" -m tests.support.mirror build "$work/mirror" --release 13.2-RELEASE >/dev/null)
(cd "$here/.." && exec "$PYTHON" -m tests.support.mirror serve "$work/mirror" --eol 12.4-RELEASE) >"$work/mirror.url" &
mirror_pid=$!
i=0
until [ -s "$work/mirror.url" ]; do
    i=$((i + 1)); [ "$i" -le 100 ] || { echo "demo: the local mirror did not start" >&2; exit 1; }
    sleep 0.1
done
mirror=$(cat "$work/mirror.url")
echo "mirror: $mirror/ftp/releases/amd64/amd64/"

say "fetch it: MANIFEST, base.txz verified by sha256, checked, extracted, marked complete"
run "$IOCJAIL" fetch -r 13.2-RELEASE -s "$mirror"
run "$IOCJAIL" list -r
run zfs get -H -o name,value org.freebsd.iocjail:complete "$pool/iocage/releases/13.2-RELEASE"

say "fetch again: the cached, verified file is reused"
run "$IOCJAIL" fetch -r 13.2-RELEASE -s "$mirror"

say "a local fetch from a tampered copy is refused (iocage would extract it)"
mkdir -p "$work/local"
cp -r "$work/mirror/ftp/releases/amd64/amd64/13.2-RELEASE" "$work/local/14.1-RELEASE"
printf 'tampered' | dd of="$work/local/14.1-RELEASE/base.txz" bs=1 seek=1000 conv=notrunc 2>/dev/null
"$IOCJAIL" fetch -f -d "$work/local" -r 14.1-RELEASE || true
run "$IOCJAIL" list -r -H

say "destroy the release (-f: no question)"
run "$IOCJAIL" destroy -r -f 13.2-RELEASE
run "$IOCJAIL" list -r

say "errors are one line, no traceback"
"$IOCJAIL" activate no_such_pool || true
"$IOCJAIL" fetch -r 99.0-RELEASE -s "$mirror" || true
