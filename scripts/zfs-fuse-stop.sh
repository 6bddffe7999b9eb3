#!/bin/sh
# Stop a zfs-fuse daemon (only call this if you started it). ZFS_FUSE_PIDFILE as for zfs-fuse-start.sh.
set -eu
pidfile=${ZFS_FUSE_PIDFILE:-/run/zfs-fuse.pid}
pid=$(cat "$pidfile" 2>/dev/null || pgrep -x zfs-fuse || true)
[ -n "$pid" ] || exit 0
kill "$pid" 2>/dev/null || true
i=0
while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
rm -f "$pidfile"
