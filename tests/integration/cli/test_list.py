"""`list` on jails laid out as iocage leaves them: columns, flags, CORRUPT, and a constant number
of processes whatever the number of jails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iocjail.platform.zfs import Zfs
from iocjail.services import listing
from iocjail.site.config import rundir
from iocjail.site.host import Host
from tests.support.cli import iocjail, mountpoint
from tests.support.jails import make_jail, thin_config

IOCJAIL_BIN = str(Path(sys.executable).parent / "iocjail")
UUID = "0b1f6c35-4b4a-4c9e-9c7b-9b1a2b3c4d5e"


@pytest.fixture
def pool(zpool):
    assert iocjail("activate", zpool.name).exit_code == 0
    yield zpool.name
    journals = rundir() / "jails" / zpool.name
    for path in journals.glob("*.json") if journals.is_dir() else []:
        path.unlink()


def mark_running(pool: str, name: str, jid: int, state: str = "up") -> None:
    """What the lifecycle engine leaves for a started jail: its journal with the JID."""
    directory = rundir() / "jails" / pool
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(json.dumps({"jid": jid, "state": state}))


@pytest.fixture
def jails(pool):
    make_jail(pool, "www1", thin_config("www1", ip4_addr="em0|192.0.2.10/24,em0|192.0.2.11/24", boot="1"))
    make_jail(pool, "db1", thin_config("db1", release="11.2-RELEASE-p1", basejail="1",
                                       ip6_addr="em0|2001:db8::5/64"))
    make_jail(pool, UUID, thin_config(UUID, ip4_addr="vnet0|DHCP", vnet="1", bpf="1"))
    mark_running(pool, "www1", 12)
    return pool


def lines(*args: str) -> list[list[str]]:
    result = iocjail("list", *args)
    assert result.exit_code == 0, result.output
    return [line.split("\t") for line in result.output.splitlines()]


def test_default_columns_and_iocage_value_rules(jails):
    result = iocjail("list")
    assert result.exit_code == 0, result.output
    table = result.output.splitlines()
    assert [c.strip() for c in table[1].strip("|").split("|")] == ["JID", "NAME", "STATE", "RELEASE", "IP4"]
    assert lines("-H") == [
        ["-", "0b1f6c35", "down", "13.2-RELEASE", "DHCP"],
        ["-", "db1", "down", "11.2-RELEASE", "-"],
        ["12", "www1", "up", "13.2-RELEASE", "192.0.2.10,192.0.2.11"],
    ]


def test_long_columns(jails):
    result = iocjail("list", "-l")
    header = [c.strip() for c in result.output.splitlines()[1].strip("|").split("|")]
    assert header == ["JID", "NAME", "BOOT", "STATE", "TYPE", "RELEASE", "IP4", "IP6", "TEMPLATE", "BASEJAIL"]
    assert lines("-l", "-H") == [
        ["-", UUID, "off", "down", "jail", "13.2-RELEASE-p4", "vnet0|DHCP", "-", "-", "no"],
        ["-", "db1", "off", "down", "jail", "11.2-RELEASE-p1", "-", "em0|2001:db8::5/64", "-", "yes"],
        ["12", "www1", "on", "up", "jail", "13.2-RELEASE-p4", "em0|192.0.2.10/24,em0|192.0.2.11/24", "-", "-", "no"],
    ]


def test_json_is_typed_with_full_names(jails):
    result = iocjail("list", "--json")
    data = json.loads(result.output)
    assert data[0] == {"jid": None, "name": UUID, "state": "down", "release": "13.2-RELEASE", "ip4": "DHCP"}
    assert data[2] == {"jid": 12, "name": "www1", "state": "up", "release": "13.2-RELEASE",
                       "ip4": "192.0.2.10,192.0.2.11"}
    long = json.loads(iocjail("list", "-l", "--json").output)
    assert long[1]["basejail"] is True and long[1]["boot"] is False and long[1]["template"] is None
    assert long[2]["boot"] is True and long[2]["ip4"] == "em0|192.0.2.10/24,em0|192.0.2.11/24"


@pytest.mark.parametrize("column,order", [
    ("name", ["0b1f6c35", "db1", "www1"]),
    ("RELEASE", ["db1", "0b1f6c35", "www1"]),  # 11.2 before 13.2, then by name
    ("jid", ["www1", "0b1f6c35", "db1"]),  # running first, none last
    ("state", ["0b1f6c35", "db1", "www1"]),
    ("ip4", ["www1", "0b1f6c35", "db1"]),  # digits before DHCP, none last
])
def test_sort(jails, column, order):
    assert [row[1] for row in lines("-H", "-s", column)] == order


def test_long_only_sort_columns(jails):
    assert [row[1] for row in lines("-H", "-l", "-s", "boot")] == [UUID, "db1", "www1"]
    result = iocjail("list", "-s", "boot")
    assert result.exit_code == 2
    assert result.output == "iocjail: cannot sort by 'boot': choose one of jid, name, state, release, ip4\n"


def test_basejails_only(jails):
    assert [row[1] for row in lines("-H", "-B")] == ["db1"]
    assert [row[1] for row in lines("-H", "-B", "-l")] == ["db1"]


def test_quick_reads_config_files_only(jails):
    assert lines("-q", "-H") == [[UUID, "DHCP"], ["db1", "-"], ["www1", "192.0.2.10,192.0.2.11"]]
    assert lines("-q", "-H", "-s", "ip4")[0] == ["www1", "192.0.2.10,192.0.2.11"]
    assert lines("-q", "-H", "-B") == [["db1", "-"]]
    assert json.loads(iocjail("list", "-q", "--json").output)[1] == {"name": "db1", "ip4": None}
    result = iocjail("list", "-q", "-l")
    assert result.exit_code == 2 and "-q and -l cannot be combined" in result.output


def test_templates_and_the_template_column(pool):
    """TEMPLATE comes from the origin of NAME/root: a template's snapshot, or `-` for a release."""
    r = f"{pool}/iocage"
    zfs = Zfs()
    make_jail(pool, "tpl", thin_config("tpl", template="1"), category="templates")
    zfs.create(f"{r}/releases/13.2-RELEASE/root", parents=True)
    for name, origin in (("fromtpl", f"{r}/templates/tpl/root"), ("thin", f"{r}/releases/13.2-RELEASE/root")):
        zfs.snapshot(f"{origin}@{name}")
        zfs.create(f"{r}/jails/{name}")
        zfs.clone(f"{origin}@{name}", f"{r}/jails/{name}/root")
        (mountpoint(f"{r}/jails/{name}") / "config.json").write_text(json.dumps(thin_config(name)))
    assert [(row[1], row[8]) for row in lines("-l", "-H")] == [("fromtpl", "tpl"), ("thin", "-")]
    assert [row[1] for row in lines("-t", "-H")] == ["tpl"]
    assert lines("-t", "-q", "-H") == [["tpl", "-"]]


def test_unreadable_config_is_corrupt_not_fatal(jails):
    (mountpoint(f"{jails}/iocage/jails/db1") / "config.json").write_text("{ not json")
    make_jail(jails, "nocfg")
    (mountpoint(f"{jails}/iocage/jails/nocfg") / "config.json").unlink()
    rows = {row[1]: row for row in lines("-H")}
    assert rows["db1"] == ["-", "db1", "CORRUPT", "N/A", "N/A"]
    assert rows["nocfg"] == ["-", "nocfg", "CORRUPT", "N/A", "N/A"]
    assert rows["www1"][2] == "up"
    assert {row[1]: row for row in lines("-l", "-H")}["db1"][2:] == ["N/A", "CORRUPT"] + ["N/A"] * 6
    assert json.loads(iocjail("list", "--json").output)[1]["release"] is None
    assert lines("-q", "-H")[1] == ["db1", "N/A"]


def test_an_old_config_is_shown_migrated_but_not_rewritten(pool):
    old = {"CONFIG_VERSION": "27", "host_hostuuid": "old1", "release": "12.1-RELEASE-p3", "ip4_addr": "none",
           "boot": "on", "basejail": "no", "host_hostname": "old1"}
    path = make_jail(pool, "old1", old)
    before = (path / "config.json").read_bytes()
    assert lines("-l", "-H") == [["-", "old1", "on", "down", "jail", "12.1-RELEASE-p3", "-", "-", "-", "no"]]
    assert (path / "config.json").read_bytes() == before
    assert not (path / "config_backup.json").exists()


def test_starting_state_is_shown_as_the_engine_wrote_it(jails):
    mark_running(jails, "db1", 13, state="starting")
    assert lines("-H")[1][:3] == ["13", "db1", "starting"]


def test_empty_and_release_list_still_work(pool):
    assert iocjail("list").output.splitlines()[1].split() == "| JID | NAME | STATE | RELEASE | IP4 |".split()
    assert len(iocjail("list").output.splitlines()) == 4  # the header alone, as iocage shows it
    assert iocjail("list", "-H").output == ""
    assert iocjail("list", "--json").output == "[]\n"
    assert iocjail("list", "-r", "-H").output == ""
    result = iocjail("list", "-r", "-t")
    assert result.exit_code == 2 and "-r and -t cannot be combined" in result.output


# -- a constant number of processes ---------------------------------------------------------------

def cheap_jails(pool: str, first: int, stop: int) -> None:
    """Jails j{first}..j{stop-1} (dataset + config.json, no root): what `list` reads, made quickly."""
    parent = f"{pool}/iocage/jails"
    for i in range(first, stop):
        subprocess.run(["zfs", "create", f"{parent}/j{i:04d}"], check=True, capture_output=True)
    base = mountpoint(parent)
    for i in range(first, stop):
        name = f"j{i:04d}"
        (base / name / "config.json").write_text(json.dumps(thin_config(name, ip4_addr=f"10.1.{i // 250}.{i % 250}")))


def processes_for_list(pool: str, monkeypatch: pytest.MonkeyPatch, **options: object) -> tuple[list[str], int]:
    """Every process `list` starts, whoever starts it: subprocess.Popen itself is counted."""
    started: list[str] = []
    real = subprocess.Popen

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, args, *rest, **kwargs):
            started.append(" ".join(args[:2]) if isinstance(args, (list, tuple)) else str(args))
            super().__init__(args, *rest, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(subprocess, "Popen", Counting)
        rows = listing.jails(Host(pool_override=pool), **options)  # type: ignore[arg-type]
    return started, len(rows)


def test_list_costs_the_same_processes_for_1_and_200_jails(pool, monkeypatch):
    cheap_jails(pool, 0, 1)
    short_1, rows_1 = processes_for_list(pool, monkeypatch)
    long_1, _ = processes_for_list(pool, monkeypatch, long=True)
    cheap_jails(pool, 1, 200)
    subprocess.run(["zfs", "create", f"{pool}/iocage/jails/j0000/root"], check=True)
    mark_running(pool, "j0100", 100)
    short_200, rows_200 = processes_for_list(pool, monkeypatch)
    long_200, _ = processes_for_list(pool, monkeypatch, long=True)
    assert (rows_1, rows_200) == (1, 200)
    assert short_1 == short_200 and long_1 == long_200
    assert 1 <= len(short_200) <= 4 and 1 <= len(long_200) <= 4, long_200  # a few batched zfs calls
    assert all(p.split()[0] in ("zfs", "zpool") for p in short_200 + long_200), short_200
    assert lines("-H")[100][:3] == ["100", "j0100", "up"]


def test_the_installed_command_lists(jails):
    out = subprocess.run([IOCJAIL_BIN, "list", "-H"], capture_output=True, text=True,
                         env={**os.environ, "IOCJAIL_POOL": jails})
    assert out.returncode == 0, out.stderr
    assert [line.split("\t")[1] for line in out.stdout.splitlines()] == ["0b1f6c35", "db1", "www1"]
