#!/bin/sh
# Run a command (make test's pytest) against a zfs-fuse of its own, so that the tests and the rest of
# the machine cannot see each other's pools, mounts and `activate` marks, and two test runs at once
# never share (and deadlock) one daemon.
#
# As root on Linux with zfs-fuse (no ZFS kernel module): the command runs in private mount, PID and
# network namespaces. There /run/zfs (the daemon's socket), /run/lock/zfs (its lock) and /etc/zfs
# (its zpool.cache) are private, a private zfs-fuse serves them, and everything it mounts stays
# inside; the jails' bridges, veth pairs and `ip netns` names (/run/netns) are private too, so two
# runs that both start a jail with JID 1 on bridge0 cannot take each other's interfaces. /tmp stays
# shared: the checkout itself may live there (a private /tmp hid it: CI failed).
# When the command ends, what pools it left are destroyed and the daemon stopped; should this
# script be killed, the PID namespace dies with it and takes the daemon along.
# Elsewhere (not root, or OpenZFS's kernel module, which has one /dev/zfs per host) the command runs
# as it is, and pools are kept apart by their unique names only.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PATH="$PATH:/usr/sbin:/sbin"

if [ "${IOCJAIL_TEST_SANDBOX:-}" != inside ]; then
    if [ "$(id -u)" = 0 ] && [ ! -e /dev/zfs ] && command -v zfs-fuse >/dev/null 2>&1 \
            && command -v unshare >/dev/null 2>&1; then
        IOCJAIL_TEST_SANDBOX=inside exec unshare --mount --propagation private --pid --fork --mount-proc --net \
            sh "$here/test-sandbox.sh" "$@"
    fi
    [ "$(id -u)" != 0 ] || echo "test-sandbox: no private zfs-fuse here (ZFS kernel module or no zfs-fuse): tests share the host's ZFS" >&2
    exec "$@"
fi

# Inside: PID 1 of a new PID namespace, with a private copy of the mount table.
private=$(mktemp -d /var/tmp/iocjail-sandbox.XXXXXX)
mkdir -p /run/zfs /run/lock/zfs /run/netns /etc/zfs "$private/etc-zfs" "$private/tmp"
chmod 1777 "$private/tmp"
cp -a /etc/zfs/. "$private/etc-zfs/" 2>/dev/null || true
rm -f "$private/etc-zfs/zpool.cache"  # the host's pools are not ours to import
mount -t tmpfs -o mode=0755 iocjail-test /run/zfs
mount -t tmpfs -o mode=0700 iocjail-test /run/lock/zfs
mount --bind "$private/etc-zfs" /etc/zfs
mount -t tmpfs -o mode=0755 iocjail-test /run/netns
mount -t sysfs iocjail-test /sys  # /sys/class/net of this network namespace, not the host's
ip link set lo up                 # the tests' mirrors and servers listen on 127.0.0.1
export ZFS_FUSE_PIDFILE=/run/zfs/zfs-fuse.pid ZFS_FUSE_ARGS=--no-kstat-mount
sh "$here/zfs-fuse-start.sh" >/dev/null

status=0
"$@" || status=$?

# Pools a test left (a crash, a killed run) die here, not on the host.
for p in $(zpool list -H -o name 2>/dev/null); do
    zpool destroy -f "$p" >/dev/null 2>&1 || echo "test-sandbox: could not destroy the pool $p a test left" >&2
done
sh "$here/zfs-fuse-stop.sh"
umount /etc/zfs 2>/dev/null || true
rm -rf "$private"
exit "$status"
