from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from iocjail.platform.zfs import ACTIVE_PROP, Zfs
from tests.support import mirror as mirror_support
from tests.support.capabilities import STRICT, has_unshare, has_zfs, is_root, require
from tests.support.pools import TestPool, create_pool, destroy_children, destroy_pool


def pytest_report_header(config: pytest.Config) -> list[str]:
    tiers = {"unit": True, "integration (root+zfs)": is_root() and has_zfs(), "e2e (namespaces)": has_unshare()}
    line = ", ".join(f"{k}: {'on' if v else 'OFF'}" for k, v in tiers.items())
    return [f"iocjail tiers: {line}; strict={'yes' if STRICT else 'no'}"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under IOCJAIL_TEST_STRICT=1 a skip of any origin is a failure."""
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under IOCJAIL_TEST_STRICT=1: {reason}"


@pytest.fixture(scope="session")
def zpool_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestPool]:
    """A fresh file-backed pool for the whole session, destroyed (with its file) however tests end."""
    require(is_root(), "needs root")
    require(has_zfs(), "needs ZFS (zfs-fuse could not be started)")
    workdir = Path(os.environ.get("IOCJAIL_TEST_POOLDIR") or tmp_path_factory.mktemp("pools"))
    pool = create_pool(workdir)
    try:
        yield pool
    finally:
        destroy_pool(pool)


@pytest.fixture
def zpool(zpool_session: TestPool, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestPool]:
    """The session pool, returned to a clean state after each test (iocage tree and marks gone).

    IOCJAIL_POOL points iocjail at it, so another pool marked active on the machine (a
    developer's, or a concurrent test run's) cannot capture the test's commands. Tests of the
    active-mark scan itself use the `scan` fixture, which removes the override.
    """
    monkeypatch.setenv("IOCJAIL_POOL", zpool_session.name)
    yield zpool_session
    _reset_pool(zpool_session.name)


@pytest.fixture
def scan(zpool: TestPool, monkeypatch: pytest.MonkeyPatch) -> TestPool:
    """The test pool, with iocjail finding the active pool by its mark, as users run it."""
    monkeypatch.delenv("IOCJAIL_POOL", raising=False)
    return zpool


@pytest.fixture(scope="session", autouse=True)
def _private_rundir_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Session fixtures (the e2e release fetch) run before function-scoped ones: their locks must
    not land in /var/run/iocjail either."""
    before = os.environ.get("IOCJAIL_RUNDIR")
    os.environ["IOCJAIL_RUNDIR"] = str(tmp_path_factory.getbasetemp() / "run")
    yield
    if before is None:
        os.environ.pop("IOCJAIL_RUNDIR", None)
    else:
        os.environ["IOCJAIL_RUNDIR"] = before


@pytest.fixture(autouse=True)
def _private_rundir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Locks and journals of tests live in a temporary directory, never in /var/run/iocjail."""
    monkeypatch.setenv("IOCJAIL_RUNDIR", str(tmp_path_factory.getbasetemp() / "run"))


def empty_dataset(name: str) -> None:
    """Destroy every child (dependent clones included) and snapshot of `name`, keeping it;
    bounded, and naming what holds a busy dataset (tests/support/pools.py)."""
    destroy_children(name)


def _reset_pool(name: str) -> None:
    """Destroy everything a test made (dependent clones included) and drop the active mark."""
    empty_dataset(name)
    Zfs().inherit(name, ACTIVE_PROP)


@pytest.fixture
def second_pool(zpool_session: TestPool, tmp_path: Path) -> Iterator[TestPool]:
    pool = create_pool(tmp_path, size="128M")
    try:
        yield pool
    finally:
        destroy_pool(pool)


@pytest.fixture
def busybox() -> str:
    path = shutil.which("busybox")
    require(path is not None, "needs busybox-static")
    assert path is not None
    return path


# -- the loopback release mirror (tests/support/mirror.py) ------------------------------------

LINUX_USERLAND = "busybox-linux-1"


@pytest.fixture(scope="session")
def mirror_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mirror directory in the FreeBSD layout: 13.2-RELEASE (userland -p4), 14.1-RELEASE,
    12.4-RELEASE (listed EOL), and a Linux userland (rootfs.tar.gz) under linux/."""
    path = shutil.which("busybox")
    require(path is not None, "needs busybox-static")
    root = tmp_path_factory.mktemp("mirror")
    mirror_support.build_release(root, "13.2-RELEASE", "13.2-RELEASE-p4")
    mirror_support.build_release(root, "14.1-RELEASE", "14.1-RELEASE-p2")
    eol = root / mirror_support.RELEASES_PATH / "12.4-RELEASE"
    shutil.copytree(root / mirror_support.RELEASES_PATH / "13.2-RELEASE", eol)
    linux = root / "linux" / LINUX_USERLAND
    linux.mkdir(parents=True)
    mirror_support.pack(mirror_support.build_root(linux / ".root", "busybox-linux-1"), linux / "rootfs.tar.gz")
    shutil.rmtree(linux / ".root")
    mirror_support.write_manifest(linux)
    return root


@pytest.fixture(scope="session")
def mirror_session(mirror_tree: Path) -> Iterator[mirror_support.MirrorServer]:
    server = mirror_support.MirrorServer(mirror_tree, eol={"12.4-RELEASE"}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mirror(mirror_session: mirror_support.MirrorServer) -> Iterator[mirror_support.MirrorServer]:
    """The session's loopback mirror, its faults and request log cleared after each test."""
    mirror_session.clear()
    yield mirror_session
    mirror_session.clear()
