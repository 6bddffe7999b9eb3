#!/bin/sh
# A short tour of iocjail on a throw-away file-backed pool: pool, activate, fetch, create, start,
# exec, snapshot, list, export, stop, destroy.
#
# Leaves the machine as it found it: the demo's jails are stopped, the pool and its file are
# destroyed, the active mark of any other pool is given back, its locks and journals live in its
# own work directory (IOCJAIL_RUNDIR), and zfs-fuse is stopped only if this script started it.
set -eu

IOCJAIL=${IOCJAIL:-iocjail}
here=$(cd "$(dirname "$0")" && pwd)
case "$IOCJAIL" in
    */*) PYTHON=${PYTHON:-$(dirname "$IOCJAIL")/python} ;;
    *) PYTHON=${PYTHON:-python3} ;;
esac
PATH="$PATH:/usr/sbin:/sbin"
ACTIVE=org.freebsd.ioc:active
REL=13.2-RELEASE
JAIL=demo1
work=$(mktemp -d "${TMPDIR:-/tmp}/iocjail-demo.XXXXXX")
pool="iocdemo$$"
started=""
mirror_pid=""
pool_made=""
others_active=""
# iocjail normally finds the pool marked active; naming it keeps the demo off any other pool.
export IOCJAIL_POOL="$pool"
export IOCJAIL_RUNDIR="$work/run"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup() {
    status=$?
    trap - EXIT INT TERM
    say "cleaning up"
    [ -z "$mirror_pid" ] || kill "$mirror_pid" 2>/dev/null || true
    if [ -n "$pool_made" ]; then
        # After a failure halfway, a jail may still run: stop it before its pool goes.
        "$IOCJAIL" stop -f ALL >/dev/null 2>&1 || true
        for p in $others_active; do
            # Only where activate left its "no": a mark changed meanwhile by someone else stays.
            [ "$(zfs get -H -o value "$ACTIVE" "$p" 2>/dev/null)" = no ] || continue
            zfs set "$ACTIVE=yes" "$p" 2>/dev/null && echo "gave the active mark back to $p" || true
        done
        i=0
        until zpool destroy -f "$pool" 2>/dev/null || ! zpool list -H "$pool" >/dev/null 2>&1; do
            i=$((i + 1)); [ "$i" -le 10 ] || { echo "demo: could not destroy pool $pool" >&2; break; }
            sleep 0.5
        done
        echo "destroyed pool $pool"
    fi
    rm -rf "$work"
    echo "removed $work"
    if [ "$started" = started ]; then
        "$here/zfs-fuse-stop.sh"
        echo "stopped zfs-fuse (the demo started it)"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting ZFS if needed"
started=$("$here/zfs-fuse-start.sh")
[ "$started" = started ] && note "zfs-fuse was not running: started it (stopped again at the end)" \
    || note "ZFS already answers: left as it is"

say "a 1 GiB file-backed pool: $pool"
# One pool at a time: a pool destroyed meanwhile (by someone else) must not hide the others.
for p in $(zpool list -H -o name); do
    if [ "$(zfs get -H -s local -o value "$ACTIVE" "$p" 2>/dev/null)" = yes ]; then
        others_active="$others_active $p"
    fi
done
run truncate -s 1G "$work/pool.img"
run zpool create -o cachefile=none -m "$work/mnt" "$pool" "$work/pool.img"
pool_made=yes

say "activate it for iocjail (and iocage): the mark, POOL/iocage and its children, defaults.json"
run "$IOCJAIL" activate "$pool"
[ -z "$others_active" ] || note "(the demo gives the mark back to$others_active at the end)"
run zfs get -H -o name,value "$ACTIVE" "$pool"
run zfs list -r -o name,mountpoint "$pool/iocage"

say "list jails (none yet)"
run "$IOCJAIL" list

say "a tiny busybox release, served by a local mirror in the FreeBSD layout (no network needed)"
(cd "$here/.." && "$PYTHON" -m tests.support.mirror build "$work/mirror" --release "$REL" >/dev/null)
(cd "$here/.." && exec "$PYTHON" -m tests.support.mirror serve "$work/mirror" --eol 12.4-RELEASE) >"$work/mirror.url" &
mirror_pid=$!
i=0
until [ -s "$work/mirror.url" ]; do
    i=$((i + 1)); [ "$i" -le 100 ] || { echo "demo: the local mirror did not start" >&2; exit 1; }
    sleep 0.1
done
mirror=$(cat "$work/mirror.url")
note "mirror: $mirror/ftp/releases/amd64/amd64/"

say "fetch it: MANIFEST, base.txz verified by sha256, checked, extracted, marked complete"
run "$IOCJAIL" fetch -r "$REL" -s "$mirror"
run "$IOCJAIL" list -r
run zfs get -H -o name,value org.freebsd.iocjail:complete "$pool/iocage/releases/$REL"

say "fetch again: the cached, verified file is reused"
run "$IOCJAIL" fetch -r "$REL" -s "$mirror"

say "a local fetch from a tampered copy is refused (iocage would extract it)"
mkdir -p "$work/local"
cp -r "$work/mirror/ftp/releases/amd64/amd64/$REL" "$work/local/14.1-RELEASE"
printf 'tampered' | dd of="$work/local/14.1-RELEASE/base.txz" bs=1 seek=1000 conv=notrunc 2>/dev/null
"$IOCJAIL" fetch -f -d "$work/local" -r 14.1-RELEASE || true
run "$IOCJAIL" list -r -H

say "create a jail: a ZFS clone of the release, with a thin config.json"
run "$IOCJAIL" create -r "$REL" -n "$JAIL" notes="made by make demo"
printf '$ %s\n' "$IOCJAIL get -a $JAIL | grep -E '^(host_hostname|notes|release|ip4_addr):'"
"$IOCJAIL" get -a "$JAIL" | grep -E '^(host_hostname|notes|release|ip4_addr):'
note "config.json keeps only what differs from defaults.json:"
cat "$work/mnt/iocage/jails/$JAIL/config.json"

say "properties are checked before anything is written"
"$IOCJAIL" set priority=5x "$JAIL" || true
run "$IOCJAIL" set boot=on priority=10 "$JAIL"

say "start it: on Linux, namespaces (mount, pid, uts, ipc) around the jail's root; /etc/rc runs inside"
run "$IOCJAIL" start "$JAIL"
run "$IOCJAIL" list -l

say "run commands in it: its own hostname, its own pid 1"
run "$IOCJAIL" exec "$JAIL" hostname
run "$IOCJAIL" exec "$JAIL" ps -o pid,args

say "snapshot it, then change it, and list the snapshots and the disk use"
run "$IOCJAIL" snapshot "$JAIL" -n first
run "$IOCJAIL" exec "$JAIL" "echo hello from the jail > /root/hello; cat /root/hello"
run "$IOCJAIL" snaplist "$JAIL"
run "$IOCJAIL" df

say "everything at once: jails, releases, and the datasets behind them"
run "$IOCJAIL" list -l
run "$IOCJAIL" list -r
run zfs list -r -t all -o name,used,origin "$pool/iocage"

say "export it: a zip of the jail's datasets, with its .sha256, under POOL/iocage/images"
run "$IOCJAIL" stop "$JAIL"
run "$IOCJAIL" export "$JAIL"
run ls -l "$work/mnt/iocage/images"
run "$IOCJAIL" start "$JAIL"

say "stop it: what the start did is undone in reverse (journaled), nothing is left running"
run "$IOCJAIL" stop "$JAIL"
run "$IOCJAIL" list

say "roll back to the snapshot (the jail is stopped): /root/hello was written after it"
run "$IOCJAIL" rollback -f "$JAIL" -n first
if [ -e "$work/mnt/iocage/jails/$JAIL/root/root/hello" ]; then
    echo "demo: /root/hello survived the rollback" >&2; exit 1
fi
note "/root/hello is gone"

say "destroy the jail and the release (-f: no question)"
run "$IOCJAIL" destroy -f "$JAIL"
run "$IOCJAIL" destroy -r -f "$REL"
run "$IOCJAIL" list
run "$IOCJAIL" list -r

say "errors are one line, no traceback"
"$IOCJAIL" activate no_such_pool || true
"$IOCJAIL" fetch -r 99.0-RELEASE -s "$mirror" || true
"$IOCJAIL" start no_such_jail || true

say "that was the tour: see README.md and man 8 iocjail (share/man/man8/iocjail.8)"
