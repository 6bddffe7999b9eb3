"""`make test` runs the ZFS tiers against a private zfs-fuse (scripts/test-sandbox.sh): the host's
pools, mounts and marks are invisible to the tests, and theirs to the host."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.capabilities import STRICT, has_zfs, is_root, require
from tests.support.pools import destroy_children, holders

SANDBOXED = os.environ.get("IOCJAIL_TEST_SANDBOX") == "inside"


def _mounts() -> dict[str, str]:
    out = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        out[fields[4]] = fields[fields.index("-") + 1]
    return out


def test_make_test_runs_in_the_sandbox() -> None:
    """CI runs `make test`: there, the sandbox must be in force (a Makefile that lost it fails)."""
    if not SANDBOXED:
        if STRICT and is_root():
            pytest.fail("IOCJAIL_TEST_STRICT=1 but the tests do not run in scripts/test-sandbox.sh")
        pytest.skip("not run through scripts/test-sandbox.sh (make test)")
    mounts = _mounts()
    assert mounts.get("/run/zfs") == "tmpfs"  # the daemon's socket: private
    assert mounts.get("/run/lock/zfs") == "tmpfs"
    assert "/etc/zfs" in mounts  # its zpool.cache: private
    assert mounts.get("/run/netns") == "tmpfs"  # `ip netns` names, and the network itself: private
    assert "lo" in os.listdir("/sys/class/net")
    assert not any(n.startswith(("eth", "ens", "enp")) for n in os.listdir("/sys/class/net"))
    assert os.getpid() != 1 and Path("/proc/1/comm").read_text().strip() == "sh"  # PID namespace of our own


def test_sandboxed_zfs_sees_only_test_pools(zpool) -> None:  # type: ignore[no-untyped-def]
    if not SANDBOXED:
        pytest.skip("not run through scripts/test-sandbox.sh (make test)")
    pools = subprocess.run(["zpool", "list", "-H", "-o", "name"], capture_output=True, text=True,
                           check=True).stdout.split()
    assert zpool.name in pools
    assert all(p.startswith("iocjt") for p in pools), pools


def test_holders_names_a_process_and_a_mount(tmp_path: Path) -> None:
    require(is_root(), "needs root")
    busy = tmp_path / "busy"
    (busy / "sub").mkdir(parents=True)
    proc = subprocess.Popen(["sleep", "60"], cwd=busy / "sub")
    subprocess.run(["mount", "-t", "tmpfs", "leak", str(busy / "sub")], check=True)
    try:
        found = holders(str(busy))
        assert any(f"pid {proc.pid} (sleep)" in h for h in found), found
        assert f"tmpfs mount on {busy / 'sub'}" in found
        assert holders(str(tmp_path / "elsewhere")) == []
    finally:
        subprocess.run(["umount", str(busy / "sub")], check=True)
        proc.kill()
        proc.wait()


def test_teardown_gives_up_in_bounded_time_and_names_the_holder(zpool, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    require(has_zfs(), "needs ZFS")
    ds = f"{zpool.name}/held"
    subprocess.run(["zfs", "create", ds], check=True)
    mountpoint = subprocess.run(["zfs", "get", "-H", "-o", "value", "mountpoint", ds], capture_output=True,
                                text=True, check=True).stdout.strip()
    proc = subprocess.Popen(["sleep", "60"], cwd=mountpoint)  # what a process left in a jail does
    try:
        with pytest.raises(RuntimeError) as err:
            destroy_children(zpool.name, seconds=1.0)
        assert f"pid {proc.pid} (sleep): " in str(err.value)  # on the mount, or on what a lazy unmount left
    finally:
        proc.kill()
        proc.wait()
    destroy_children(zpool.name, seconds=10.0)
