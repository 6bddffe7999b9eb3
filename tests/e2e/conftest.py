"""Real Linux jails on the test pool: the tiny busybox release fetched from the loopback mirror,
a thin jail cloned from it, and snapshots of the host (mounts, links, processes, runtime files)
to prove that a stop or a failed start leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from iocjail.platform.zfs import Zfs
from iocjail.site.config import rundir
from tests.conftest import _reset_pool, empty_dataset
from tests.support.capabilities import has_unshare, require
from tests.support.cli import iocjail, mountpoint
from tests.support.jails import thin_config

REL = "13.2-RELEASE"


@dataclass(frozen=True)
class JailHost:
    pool: str
    iocroot: Path

    def jail_path(self, name: str) -> Path:
        return self.iocroot / "jails" / name

    def root(self, name: str) -> Path:
        return self.jail_path(name) / "root"

    def make(self, name: str, **props: str) -> Path:
        """A thin jail as `create -r 13.2-RELEASE -n NAME` leaves it: a clone of the release."""
        zfs = Zfs()
        release = f"{self.pool}/iocage/releases/{REL}/root"
        zfs.snapshot(f"{release}@{name}")
        zfs.create(f"{self.pool}/iocage/jails/{name}")
        zfs.clone(f"{release}@{name}", f"{self.pool}/iocage/jails/{name}/root")
        path = self.jail_path(name)
        cfg = thin_config(name, **props)
        (path / "config.json").write_text(json.dumps(cfg, indent=4, sort_keys=True) + "\n")
        (path / "fstab").write_text("")
        return path

    def config(self, name: str, **props: str) -> None:
        path = self.jail_path(name) / "config.json"
        cfg = json.loads(path.read_text())
        cfg.update(props)
        path.write_text(json.dumps(cfg, indent=4, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def release_stream(zpool_session, mirror_session, tmp_path_factory) -> Path:
    """The fetched release as a zfs stream, made once: each test receives it in a few ms
    instead of fetching again (the pool is reset after every test)."""
    require(has_unshare(), "needs root and unshare (util-linux) for Linux jails")
    pool = zpool_session.name
    os.environ["IOCJAIL_POOL"] = pool
    try:
        assert iocjail("activate", pool).exit_code == 0
        result = iocjail("fetch", "-r", REL, "-s", mirror_session.url)
        assert result.exit_code == 0, result.output
        stream = tmp_path_factory.mktemp("release") / "release.zfs"
        Zfs().snapshot(f"{pool}/iocage/releases@e2e", recursive=True)
        with open(stream, "wb") as out:
            subprocess.run(["zfs", "send", "-R", f"{pool}/iocage/releases@e2e"], stdout=out, check=True)
    finally:
        os.environ.pop("IOCJAIL_POOL", None)
        _reset_pool(pool)
    return stream


@pytest.fixture
def jails(zpool, release_stream) -> Iterator[JailHost]:
    """An activated pool holding the release, and every jail stopped again at the end."""
    assert iocjail("activate", zpool.name).exit_code == 0
    for attempt in range(3):  # zfs-fuse now and then answers a receive with "I/O error"
        with open(release_stream, "rb") as stream:
            done = subprocess.run(["zfs", "receive", "-F", f"{zpool.name}/iocage/releases"], stdin=stream,
                                  capture_output=True, text=True)
        if done.returncode == 0:
            break
        # a receive that failed halfway leaves datasets and snapshots the next `receive -F` refuses
        empty_dataset(f"{zpool.name}/iocage/releases")
        time.sleep(0.5)
    assert done.returncode == 0, done.stderr
    host = JailHost(zpool.name, mountpoint(f"{zpool.name}/iocage"))
    yield host
    iocjail("stop", "-f", "ALL")


# -- the host as a test compares it ----------------------------------------------------------
# Other test sessions may run on this machine at the same time (their own pools and jails): the
# snapshot keeps what can belong to this test's pool, and every namespace/link it could create.

@dataclass(frozen=True)
class HostState:
    mounts: tuple[str, ...]  # mountinfo lines (point, propagation, fstype) under the pool
    links: tuple[str, ...]  # the host's network interfaces
    processes: tuple[str, ...]  # processes naming the pool (holders, unshare, nsenter)
    runtime: tuple[str, ...]  # files of the runtime directory (journals)


def _mounts(under: str) -> tuple[str, ...]:
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[4].startswith(under):
            out.append(f"{fields[4]} {fields[6] if fields[6] != '-' else ''} {line.split(' - ')[1].split()[0]}")
    return tuple(out)


def _cmdlines(needle: str) -> tuple[str, ...]:
    out = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmd:
            out.append(f"{pid} {cmd.strip()}")
    return tuple(sorted(out))


def links() -> tuple[str, ...]:
    return tuple(sorted(os.listdir("/sys/class/net")))


def host_state(pool: str, mnt: Path) -> HostState:
    runtime = tuple(sorted(str(p.relative_to(rundir())) for p in (rundir() / "jails").rglob("*")
                           if p.is_file())) if (rundir() / "jails").exists() else ()
    return HostState(_mounts(str(mnt)), links(), _cmdlines(pool), runtime)


def pid_namespace_members(ns: str) -> list[int]:
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") == ns:
                found.append(int(pid))
        except OSError:
            pass
    return found


def assert_same_host(before: HostState, after: HostState, *, jids: tuple[int, ...] = (),
                     bridges: tuple[str, ...] = ()) -> None:
    """Nothing of this test's jails is left: mounts under the pool, journals, processes naming
    the pool, and the veth ends (`vnetN.JID`) and bridges they made."""
    assert after.mounts == before.mounts
    assert after.runtime == before.runtime
    assert after.processes == before.processes
    new = set(after.links) - set(before.links)
    assert {name for name in new if name in bridges or any(name.endswith(f".{jid}") for jid in jids)} == set()
