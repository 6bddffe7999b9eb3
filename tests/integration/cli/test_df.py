"""`df` on a real pool: columns, quota and reservation set through `set`, sorting, -H, --json."""

from __future__ import annotations

import json
import os

import pytest

from iocjail.platform import shell
from iocjail.platform.zfs import Zfs
from iocjail.services import df
from iocjail.site.host import Host
from tests.support.cli import iocjail, mountpoint, zfs
from tests.support.jails import make_jail, thin_config


@pytest.fixture
def pool(zpool):
    assert iocjail("activate", zpool.name).exit_code == 0
    make_jail(zpool.name, "www1")
    make_jail(zpool.name, "db1")
    make_jail(zpool.name, "tpl", thin_config("tpl", template="1"), category="templates")
    # db1 holds 3 MiB of incompressible data, so USE sorts it last
    (mountpoint(f"{zpool.name}/iocage/jails/db1/root") / "blob").write_bytes(os.urandom(3 << 20))
    # `used` counts data once its transaction group is synced; a property change forces that sync
    zfs("set", "org.iocjail.test:synced=yes", f"{zpool.name}/iocage/jails/db1/root")
    return zpool.name


def rows(*args: str) -> list[list[str]]:
    result = iocjail("df", *args)
    assert result.exit_code == 0, result.output
    return [line.split("\t") for line in result.output.splitlines()]


def test_columns_and_human_sizes(pool):
    result = iocjail("df")
    assert result.exit_code == 0, result.output
    header = [c.strip() for c in result.output.splitlines()[1].strip("|").split("|")]
    assert header == ["NAME", "CRT", "RES", "QTA", "USE", "AVA"]
    table = {r[0]: r for r in rows("-H")}
    assert set(table) == {"www1", "db1", "tpl"}
    assert table["www1"][1:4] == ["1.00x", "none", "none"]
    assert table["www1"][4] == zfs("get", "-H", "-o", "value", "used", f"{pool}/iocage/jails/www1").strip()
    assert table["db1"][4].endswith("M")


def test_quota_and_reservation_set_through_set_show_up(pool):
    result = iocjail("set", "quota=1G", "reservation=10M", "www1")
    assert result.exit_code == 0, result.output
    assert zfs("get", "-H", "-p", "-o", "value", "quota", f"{pool}/iocage/jails/www1").strip() == str(1 << 30)
    table = {r[0]: r for r in rows("-H")}
    assert table["www1"][2:4] == ["10M", "1G"]
    data = {d["name"]: d for d in json.loads(iocjail("df", "--json").output)}
    assert data["www1"]["qta"] == 1 << 30 and data["www1"]["res"] == 10 << 20
    assert data["db1"]["qta"] is None and data["db1"]["res"] is None
    assert isinstance(data["db1"]["use"], int) and data["db1"]["use"] > 3 << 20
    assert data["db1"]["crt"] == 1.0 and data["tpl"]["template"] is True


@pytest.mark.parametrize("column", ["use", "USE"])
def test_sort_smallest_first(pool, column):
    assert rows("-H", "-s", column)[-1][0] == "db1"


def test_sort_by_quota_puts_none_first(pool):
    assert iocjail("set", "quota=2G", "db1").exit_code == 0
    assert iocjail("set", "quota=1G", "www1").exit_code == 0
    assert [r[0] for r in rows("-H", "-s", "qta")] == ["tpl", "www1", "db1"]
    assert [r[0] for r in rows("-H")] == ["db1", "tpl", "www1"]


def test_bad_sort_column(pool):
    result = iocjail("df", "-s", "size")
    assert result.exit_code == 2
    assert result.output == "iocjail: cannot sort by 'size': choose one of name, crt, res, qta, use, ava\n"


def test_iocage_long_flag_is_accepted(pool):
    assert rows("-H", "-l") == rows("-H")


def test_one_zfs_query_whatever_the_number_of_jails(pool):
    calls: list[list[str]] = []

    def counting(argv, **kwargs):
        calls.append(list(argv))
        return shell.run(argv, **kwargs)

    found = df.usage(Host(zfs=Zfs(counting), pool_override=pool))
    assert len(found) == 3
    assert [c[:2] for c in calls] == [["zpool", "list"], ["zfs", "get"]]
