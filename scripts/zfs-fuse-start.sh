#!/bin/sh
# Start zfs-fuse unless a ZFS (kernel module or zfs-fuse) already answers. Prints "started" when it
# started the daemon, so callers (make demo) know to stop it again.
# ZFS_FUSE_PIDFILE and ZFS_FUSE_ARGS let scripts/test-sandbox.sh start a private daemon.
set -eu
PATH="$PATH:/usr/sbin:/sbin"
pidfile=${ZFS_FUSE_PIDFILE:-/run/zfs-fuse.pid}

if zpool list -H >/dev/null 2>&1; then
    exit 0
fi
if [ -e /proc/filesystems ] && ! grep -qw fuse /proc/filesystems; then
    modprobe fuse 2>/dev/null || true
fi
[ -e /dev/fuse ] || mknod -m 0666 /dev/fuse c 10 229 2>/dev/null || true
[ -e /dev/fuse ] || { echo "zfs-fuse-start: /dev/fuse is missing" >&2; exit 1; }
launched=""
if ! pgrep -x zfs-fuse >/dev/null 2>&1; then
    # A daemon killed with its machine leaves its pidfile, and zfs-fuse refuses to start over it
    # (exit 1, no message); its dead FUSE mounts would make every later mount fail.
    rm -f "$pidfile"
    [ -n "${ZFS_FUSE_PIDFILE:-}" ] || rm -f /var/run/zfs-fuse.pid
    awk '$3 == "fuse.zfs" {print $2}' /proc/mounts | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done
    # shellcheck disable=SC2086
    zfs-fuse --pidfile "$pidfile" ${ZFS_FUSE_ARGS:-} || { echo "zfs-fuse-start: zfs-fuse failed to start (exit $?)" >&2; exit 1; }
    launched=yes
fi
i=0
until zpool list -H >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 100 ]; then
        echo "zfs-fuse-start: zfs-fuse does not answer after 10s" >&2
        exit 1
    fi
    sleep 0.1
done
# Only a daemon this script launched is "started": a busy one that was slow to answer belongs to
# someone else, and whoever stops what it started must not stop that one.
[ -z "$launched" ] || echo started
