"""Shell completion on a real pool: jail, template, release, pool and snapshot names."""

from __future__ import annotations

import pytest

from iocjail.cli import complete
from iocjail.cli.main import cli
from iocjail.platform.zfs import Zfs
from tests.support.cli import iocjail
from tests.support.jails import make_jail

REL = "13.2-RELEASE"


def completions(*words: str, incomplete: str = "") -> list[str]:
    return [item.value for item in complete.Bash(cli, {}, "iocjail", "_IOCJAIL_COMPLETE")
            .get_completions(list(words), incomplete)]


@pytest.fixture
def pool(zpool):
    """www1, www2 (with snapshots a and b) and the template tpl, a fetched and an unfinished release."""
    assert iocjail("activate", zpool.name).exit_code == 0
    zfs = Zfs()
    iocage = f"{zpool.name}/iocage"
    zfs.create(f"{iocage}/releases/{REL}/root", parents=True)
    zfs.create(f"{iocage}/releases/14.1-RELEASE/root", parents=True)
    zfs.set(f"{iocage}/releases/14.1-RELEASE", {"org.freebsd.iocjail:complete": "no"})
    for name in ("www1", "www2"):
        make_jail(zpool.name, name)
    make_jail(zpool.name, "tpl", category="templates")
    zfs.snapshot(f"{iocage}/jails/www2@a", recursive=True)
    zfs.snapshot(f"{iocage}/jails/www2@b", recursive=True)
    return zpool.name


def test_jail_names(pool):
    assert completions("start") == ["www1", "www2", "ALL"]
    assert completions("stop", "www1", incomplete="w") == ["www1", "www2"]
    assert completions("exec", incomplete="www2") == ["www2"]
    assert completions("clone") == ["www1", "www2"]  # templates are not cloned
    assert completions("pkg") == completions("exec") == ["www1", "www2", "ALL"]
    assert completions("console") == ["www1", "www2"]


def test_jails_and_templates(pool):
    assert completions("destroy") == ["tpl", "www1", "www2"]
    assert completions("rename") == completions("fstab") == ["tpl", "www1", "www2"]
    assert completions("snapshot") == ["tpl", "www1", "www2", "ALL"]
    assert completions("get", "-a") == ["tpl", "www1", "www2", "default"]
    assert completions("get", "boot", incomplete="t") == ["tpl"]
    assert completions("set", "boot=1", incomplete="www") == ["www1", "www2"]
    assert completions("create", "-t") == ["tpl"]


def test_release_names_are_the_complete_ones(pool):
    assert completions("create", "-r") == [REL]
    assert completions("destroy", "-r") == [REL]
    assert completions("upgrade", "www1", "-r") == [REL]  # fetched and complete releases only


def test_snapshot_names_of_the_jail_named_before(pool):
    assert completions("rollback", "www2", "-n") == ["a", "b"]
    assert completions("snapremove", "www2", "-n", incomplete="b") == ["b"]
    assert completions("rollback", "www1", "-n") == []
    assert completions("rollback", "nosuchjail", "-n") == []


def test_pools_and_the_pool_option(pool, monkeypatch):
    assert pool in completions("activate")
    monkeypatch.delenv("IOCJAIL_POOL")
    assert completions("--pool", pool, "start") == ["www1", "www2", "ALL"]
