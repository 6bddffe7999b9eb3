"""Every start first checks that the jail's root is its own root dataset, mounted, reached through
no link, and on top of the mount table at that path (issue 15, item 1): a jail whose `root` was
left a link (by an older import, or by hand) or covered by another mount never starts, on Linux or
FreeBSD, and nothing runs, mounts or stays behind.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from iocjail.model.imported import IMPORT_PROP
from iocjail.site import config
from iocjail.services import jail_root, lifecycle
from iocjail.lifecycle.freebsd.runtime import FreeBSDRuntime
from iocjail.site.host import Host
from iocjail.services.jail_root import UnsafeRoot
from iocjail.site.jails import resolve
from iocjail.platform.zfs import Zfs
from tests.support.cli import iocjail, mountpoint
from tests.support.freebsd_host import FreeBSDHost
from tests.support.jails import make_jail, thin_config

MOUNTINFO = Path("/proc/self/mountinfo")


@pytest.fixture(autouse=True)
def _own_rundir(tmp_path, monkeypatch):
    monkeypatch.setenv("IOCJAIL_RUNDIR", str(tmp_path / "rundir"))


@pytest.fixture
def pool(zpool):
    assert iocjail("activate", zpool.name).exit_code == 0
    make_jail(zpool.name, "other")  # a jail whose root a link may point at
    return zpool.name


def targets() -> list[str]:
    return [line.split()[4] for line in MOUNTINFO.read_text().splitlines()]


def linked_jail(pool: str, target: str) -> Path:
    """What an archive without the root's stream left: no root dataset, `root` a link."""
    ds = f"{pool}/iocage/jails/web"
    Zfs().create(ds, parents=True)
    path = mountpoint(ds)
    (path / "config.json").write_text(json.dumps(thin_config("web"), indent=4, sort_keys=True) + "\n")
    (path / "fstab").write_text("")
    (path / "root").symlink_to(target)
    return path


def _unmounted_then(pool: str, change: Callable[[Path], None]) -> Path:
    path = make_jail(pool, "web")
    subprocess.run(["zfs", "unmount", f"{pool}/iocage/jails/web/root"], check=True)
    change(path / "root")
    return path


def _to_root(root: Path) -> None:
    root.rmdir()
    root.symlink_to("/")


def refused_start(pool: str, why: str) -> None:
    before = targets()
    result = iocjail("start", "web")
    assert result.exit_code == 1, result.output
    assert result.output == f"* Starting web\niocjail: web: refusing to start: {why}\n"
    assert targets() == before  # nothing mounted
    assert not (config.rundir() / "jails" / pool / "web.json").exists()  # no journal, no JID held


@pytest.mark.parametrize("case", ["release", "other jail", "host root", "host dir"])
def test_a_root_that_is_a_link_never_starts(pool, tmp_path, case):
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    target = {"release": "../../releases/13.2-RELEASE/root", "other jail": "../other/root", "host root": "/",
              "host dir": str(host_dir)}[case]
    linked_jail(pool, target)
    refused_start(pool, f"it has no root dataset ({pool}/iocage/jails/web/root)")
    assert list(host_dir.iterdir()) == []


def test_a_root_dataset_unmounted_and_its_path_a_link_never_starts(pool):
    path = _unmounted_then(pool, _to_root)
    refused_start(pool, f"its root is not a plain directory: {path}/root is a symlink (to /)")


def test_a_root_dataset_mounted_elsewhere_never_starts(pool, tmp_path):
    path = make_jail(pool, "web")
    elsewhere = tmp_path / "elsewhere"
    subprocess.run(["zfs", "set", f"mountpoint={elsewhere}", f"{pool}/iocage/jails/web/root"], check=True)
    (path / "root").rmdir() if (path / "root").is_dir() else None
    (path / "root").symlink_to(elsewhere)
    refused_start(pool, f"its root dataset {pool}/iocage/jails/web/root is mounted at {elsewhere}, not at {path}/root")


def test_a_root_dataset_not_mounted_never_starts(pool):
    _unmounted_then(pool, lambda root: None)
    refused_start(pool, f"its root dataset {pool}/iocage/jails/web/root is not mounted")


def test_a_root_covered_by_another_mount_never_starts(pool, tmp_path):
    path = make_jail(pool, "web")
    cover = tmp_path / "cover"
    cover.mkdir()
    subprocess.run(["mount", "--bind", str(cover), str(path / "root")], check=True)
    try:
        source = [line.split(" - ")[1].split()[1] for line in MOUNTINFO.read_text().splitlines()
                  if line.split()[4] == str(path / "root")][-1]
        refused_start(pool, f"its root {path}/root is not its root dataset {pool}/iocage/jails/web/root: "
                            f"{source} is mounted there")
    finally:
        subprocess.run(["umount", str(path / "root")], check=True)


def test_a_jail_whose_import_did_not_finish_never_starts(pool):
    make_jail(pool, "web")
    subprocess.run(["zfs", "set", f"{IMPORT_PROP}=host=x pid=1 start=1 since=now", f"{pool}/iocage/jails/web"],
                   check=True)
    refused_start(pool, "its import did not finish (import it again, or run `iocjail clean --runtime`)")


def test_the_jails_own_mounted_root_passes(pool):
    make_jail(pool, "web")
    host = Host.from_env()
    facts = jail_root.facts(host, resolve(host, "web"))
    assert facts.mounted_here == f"{pool}/iocage/jails/web/root" and facts.unsafe is None
    jail_root.check(host, resolve(host, "web"))


def test_the_freebsd_runtime_refuses_before_any_command(pool, tmp_path):
    linked_jail(pool, "/")
    fb = FreeBSDHost(devfs_sets=(1, 2, 3, 4))
    host = Host(pool_override=Host.from_env().pool_override,
                runtime=FreeBSDRuntime(run=fb.run, logged=fb.logged, interactive=fb.interactive,
                                       etc=tmp_path, conf_dir=str(tmp_path / "conf")))
    with pytest.raises(UnsafeRoot, match="web: refusing to start: it has no root dataset"):
        lifecycle.start(host, "web")
    assert fb.calls == []  # not even jls: refused before a JID is taken
    assert not os.path.exists(tmp_path / "conf" / "jail.ioc-web.conf")
