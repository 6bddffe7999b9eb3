"""FreeBSD: the jail's root user renames the parent of a mount the start made (linprocfs on
/compat/linux/proc), so the step's own unmount no longer finds it by path. The stop's last
action finds it in `mount -p` (FreeBSD keeps the name a file system was mounted on) and
unmounts it by that name; one it cannot unmount fails the stop and keeps the journal."""

from __future__ import annotations

import pytest

from iocjail.lifecycle.engine import StopIncomplete
from iocjail.services import lifecycle
from tests.integration.lifecycle.test_freebsd_runtime import _own_rundir, etc, freebsd, jail, journal_path, pool
from tests.support.freebsd_host import SYSCTLS, FreeBSDHost

__all__ = ["_own_rundir", "etc", "pool"]  # fixtures
LINUX = {**SYSCTLS, "compat.linux.osrelease": "5.15.0"}  # linprocfs needs the linux64 module


def _started(pool, etc, tmp_path, fb):
    host = freebsd(fb, etc, tmp_path)
    path = jail(pool, "www1", mount_procfs="1", mount_linprocfs="1")
    (path / "root" / "proc").mkdir()  # as a FreeBSD release has it (compat/linux/proc: made by the step)
    lifecycle.start(host, "www1")
    root = path / "root"
    assert [m[1] for m in fb.mounts] == [f"{root}/proc", f"{root}/compat/linux/proc"]
    (root / "compat").rename(root / "compat.old")  # what `mv /compat /compat.old` in the jail does
    return host, root


def test_stop_unmounts_a_mount_whose_parent_the_jail_renamed(pool, etc, tmp_path):
    fb = FreeBSDHost(sysctls=LINUX)
    host, root = _started(pool, etc, tmp_path, fb)
    fb.calls.clear()
    lifecycle.stop(host, "www1")
    # procfs's own unmount found /proc; the one of compat/linux/proc, refused on the renamed
    # path, is left to the last action: mount -p, umount of the name the table keeps, mount -p
    assert fb.calls[-3:] == [("mount", "-p"), ("umount", f"{root}/compat/linux/proc"), ("mount", "-p")]
    assert fb.mounts == []
    assert not journal_path(pool, "www1").exists()


def test_a_mount_left_fails_the_stop_and_keeps_the_journal(pool, etc, tmp_path):
    fb = FreeBSDHost(sysctls=LINUX, fail=("umount",))  # umount(8) refuses every unmount (busy)
    host, root = _started(pool, etc, tmp_path, fb)
    with pytest.raises(StopIncomplete) as info:
        lifecycle.stop(host, "www1")
    assert str(info.value.errors[-1]) == \
        f"exec.prepare: still mounted under the jail's root: {root}/proc, {root}/compat/linux/proc"
    assert journal_path(pool, "www1").exists()
