"""`snapshot`, `snaplist`, `snapremove`, `rollback` on a real pool, jails and templates alike."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

from iocjail.errors import CommandFailed, ZfsError
from iocjail.platform import shell
from iocjail.platform.zfs import Zfs
from iocjail.services import snapshots as service
from iocjail.site.config import rundir
from iocjail.site.host import Host
from tests.support.cli import iocjail, names, ok, zfs
from tests.support.jails import make_jail, thin_config


@pytest.fixture
def pool(zpool):
    assert iocjail("activate", zpool.name).exit_code == 0
    return zpool.name


@pytest.fixture
def www1(pool):
    path = make_jail(pool, "www1")
    (path / "root" / "motd").write_text("one\n")
    return path


def snaps(pool: str) -> set[str]:
    return {n for n in names(pool) if "@" in n}


def test_snapshot_is_recursive_and_named_after_utc_time_by_default(pool, www1):
    out = ok("snapshot", "www1")
    match = re.fullmatch(rf"Snapshot: {pool}/iocage/jails/www1@(\d{{4}}-\d\d-\d\d_\d\d:\d\d:\d\d) created.\n", out)
    assert match
    name = match.group(1)
    assert abs(datetime.strptime(name, service.NAME_FORMAT).replace(tzinfo=timezone.utc).timestamp()
               - datetime.now(timezone.utc).timestamp()) < 120
    assert snaps(pool) == {f"{pool}/iocage/jails/www1@{name}", f"{pool}/iocage/jails/www1/root@{name}"}
    assert service.default_name(datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2020-01-02_03:04:05"


def test_snapshot_name_taken_or_invalid_changes_nothing(pool, www1):
    ok("snapshot", "www1", "-n", "s1")
    before = snaps(pool)
    result = iocjail("snapshot", "www1", "-n", "s1")
    assert result.exit_code == 2 and result.output.startswith("iocjail: snapshot 's1' already exists: ")
    for bad in ("has space", "a@b", "a/b", "-x", "ALL", ""):
        result = iocjail("snapshot", "www1", "-n", bad)
        assert result.exit_code == 2, (bad, result.output)
    assert snaps(pool) == before
    assert iocjail("snapshot", "nope").exit_code == 3


def test_snapshot_all_covers_jails_and_templates_or_nothing(pool, www1):
    make_jail(pool, "db1")
    make_jail(pool, "tpl", thin_config("tpl", template="1"), category="templates")
    zfs("set", "readonly=on", f"{pool}/iocage/templates/tpl")
    out = ok("snapshot", "ALL", "-n", "nightly").splitlines()
    assert out == [f"Snapshot: {pool}/iocage/{c}/{n}@nightly created." for c, n in
                   (("jails", "db1"), ("templates", "tpl"), ("jails", "www1"))]
    assert len([s for s in snaps(pool) if s.endswith("@nightly")]) == 6
    zfs("snapshot", f"{pool}/iocage/jails/www1/root@weekly")
    before = snaps(pool)
    result = iocjail("snapshot", "ALL", "-n", "weekly")
    assert result.exit_code == 2 and "www1/root@weekly" in result.output
    assert snaps(pool) == before


def test_a_failed_snapshot_all_undoes_the_ones_it_made(pool, www1):
    make_jail(pool, "db1")
    before = snaps(pool)
    made = []

    def failing_second(argv, **kwargs):  # the second `zfs snapshot` fails, as a full pool would
        if argv[:2] == ["zfs", "snapshot"]:
            made.append(argv)
            if len(made) == 2:
                raise CommandFailed(list(argv), 1, "cannot create snapshot: out of space")
        return shell.run(argv, **kwargs)

    with pytest.raises(ZfsError, match="out of space"):
        service.snapshot(Host(zfs=Zfs(failing_second), pool_override=pool), "ALL", "s1")
    assert len(made) == 2 and snaps(pool) == before


@pytest.fixture
def history(pool, www1):
    """www1@s1 and root@s1, then a data child with its own snapshot (not listed), then s2."""
    ok("snapshot", "www1", "-n", "s1")
    (www1 / "root" / "motd").write_text("two\n" * 5000)
    zfs("create", f"{pool}/iocage/jails/www1/data")
    zfs("snapshot", f"{pool}/iocage/jails/www1/data@only-data")
    ok("snapshot", "www1", "-n", "s2")
    return www1


def test_snaplist_jail_then_root_in_creation_order(pool, history):
    result = ok("snaplist", "www1")
    header = [c.strip() for c in result.splitlines()[1].strip("|").split("|")]
    assert header == ["NAME", "CREATED", "RSIZE", "USED"]
    rows = [line.split("\t") for line in ok("snaplist", "-H", "www1").splitlines()]
    assert [r[0] for r in rows] == ["s1", "s2", "s1/root", "s2/root"]
    assert re.fullmatch(r"\w{3} \w{3} [ \d]\d \d\d:\d\d \d{4}", rows[0][1])
    assert [r[0] for r in (line.split("\t") for line in ok("snaplist", "-H", "-l", "www1").splitlines())] == [
        f"{pool}/iocage/jails/www1@s1", f"{pool}/iocage/jails/www1@s2",
        f"{pool}/iocage/jails/www1/root@s1", f"{pool}/iocage/jails/www1/root@s2"]
    data = json.loads(ok("snaplist", "--json", "www1"))
    assert data[2]["name"] == "s1/root" and data[2]["snapshot"] == f"{pool}/iocage/jails/www1/root@s1"
    assert isinstance(data[2]["created"], int) and isinstance(data[2]["rsize"], int)
    assert data[3]["rsize"] > data[2]["rsize"]  # s2 saw the bigger motd


def test_snaplist_sort_and_all(pool, history):
    by_name = [line.split("\t")[0] for line in ok("snaplist", "-H", "-s", "NAME", "www1").splitlines()]
    assert by_name == ["s1", "s2", "s1/root", "s2/root"]
    by_rsize = [line.split("\t")[0] for line in ok("snaplist", "-H", "-s", "rsize", "www1").splitlines()]
    assert by_rsize[2:] == ["s1/root", "s2/root"]
    result = iocjail("snaplist", "-s", "size", "www1")
    assert result.exit_code == 2 and "choose one of created, name, rsize, used" in result.output
    make_jail(pool, "db1")
    ok("snapshot", "db1", "-n", "d1")
    rows = [line.split("\t")[:2] for line in ok("snaplist", "-H", "ALL").splitlines()]
    assert rows == [["db1", "d1"], ["db1", "d1/root"], ["www1", "s1"], ["www1", "s2"], ["www1", "s1/root"],
                    ["www1", "s2/root"]]


def test_snapremove_one_and_missing(pool, history):
    out = ok("snapremove", "www1", "-n", "s1")
    assert out.splitlines() == [f"Snapshot: {pool}/iocage/jails/www1/root@s1 destroyed.",
                                f"Snapshot: {pool}/iocage/jails/www1@s1 destroyed."]
    assert not any(s.endswith("@s1") for s in snaps(pool))
    result = iocjail("snapremove", "www1", "-n", "s1")
    assert result.exit_code == 3 and result.output == "iocjail: snapshot 's1' of www1 not found\n"
    assert iocjail("snapremove", "www", "-n", "s2").exit_code == 3  # no prefix matching for removal


def test_snapremove_never_destroys_a_clone(pool, history):
    zfs("clone", f"{pool}/iocage/jails/www1/root@s1", f"{pool}/elsewhere")
    before = snaps(pool)
    result = iocjail("snapremove", "www1", "-n", "s1")
    assert result.exit_code == 1
    assert result.output == f"iocjail: snapshot 's1' of www1: {pool}/elsewhere depend(s) on it; destroy or promote them first\n"
    assert snaps(pool) == before
    result = iocjail("snapremove", "www1", "-n", "ALL")
    assert result.exit_code == 2 and "add -f" in result.output and snaps(pool) == before
    result = iocjail("snapremove", "www1", "-n", "ALL", "-f")
    assert result.exit_code == 0, result.output
    assert f"Skipped snapshot s1: clones depend on it ({pool}/elsewhere)" in result.stderr
    assert {s.split("/")[-1] for s in snaps(pool)} == {"www1@s1", "root@s1"}
    assert f"{pool}/elsewhere" in names(pool)


def test_rollback_asks_restores_and_destroys_newer_snapshots(pool, history):
    motd = history / "root" / "motd"
    Zfs().destroy(f"{pool}/iocage/jails/www1/data", recursive=True)  # it has no s1: see the refusals
    before = snaps(pool)
    result = iocjail("rollback", "www1", "-n", "s1", input="n\n")
    assert result.exit_code == 1
    assert ("This will destroy ALL data created including ALL snapshots taken after the snapshot s1"
            in result.output)
    assert "Are you sure? [y/N]" in result.output and snaps(pool) == before
    result = iocjail("rollback", "www1", "-n", "s1", input="y\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Rolled back to: {pool}/iocage/jails/www1\n"
    assert motd.read_text() == "one\n"
    assert not any(s.endswith("@s2") for s in snaps(pool))


def test_rollback_refusals_change_nothing(pool, history):
    before = snaps(pool)
    result = iocjail("rollback", "www1", "-n", "s1", "-f")
    assert result.exit_code == 2 and f"{pool}/iocage/jails/www1/data has no such snapshot" in result.output
    Zfs().destroy(f"{pool}/iocage/jails/www1/data", recursive=True)
    before = snaps(pool)
    assert iocjail("rollback", "www1", "-n", "nope", "-f").exit_code == 3
    zfs("clone", f"{pool}/iocage/jails/www1/root@s2", f"{pool}/elsewhere")
    result = iocjail("rollback", "www1", "-n", "s1", "-f")
    assert result.exit_code == 1 and f"would destroy {pool}/iocage/jails/www1/root@s2" in result.output
    assert f"{pool}/elsewhere depend(s) on it" in result.output
    Zfs().destroy(f"{pool}/elsewhere")
    journal = rundir() / "jails" / pool / "www1.json"
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text(json.dumps({"jid": 4, "state": "up"}))
    try:
        result = iocjail("rollback", "www1", "-n", "s1", "-f")
    finally:
        journal.unlink()
    assert result.exit_code == 2 and result.output == "iocjail: www1 is running: stop it first (iocjail stop www1)\n"
    assert snaps(pool) == before
    assert (history / "root" / "motd").read_text().startswith("two")


def test_rollback_refuses_a_plan_that_went_stale(pool, history):
    Zfs().destroy(f"{pool}/iocage/jails/www1/data", recursive=True)
    host = Host.from_env()
    plan = service.plan_rollback(host, "www1", "s1")
    assert plan.targets == (f"{pool}/iocage/jails/www1/root@s1", f"{pool}/iocage/jails/www1@s1")
    ok("snapshot", "www1", "-n", "s3")  # while the user was being asked
    with pytest.raises(service.ChangedMeanwhile):
        service.rollback(host, plan)
    assert any(s.endswith("www1@s3") for s in snaps(pool))


def test_templates_snapshot_and_roll_back(pool):
    path = make_jail(pool, "tpl", thin_config("tpl", template="1"), category="templates")
    (path / "root" / "f").write_text("v1")
    zfs("set", "readonly=on", f"{pool}/iocage/templates/tpl")
    ok("snapshot", "tpl", "-n", "base")
    zfs("set", "readonly=off", f"{pool}/iocage/templates/tpl")
    (path / "root" / "f").write_text("v2")
    zfs("set", "readonly=on", f"{pool}/iocage/templates/tpl")
    assert [line.split("\t")[0] for line in ok("snaplist", "-H", "tpl").splitlines()] == ["base", "base/root"]
    ok("rollback", "tpl", "-n", "base", "-f")
    assert (path / "root" / "f").read_text() == "v1"
    ok("snapremove", "tpl", "-n", "base")
    assert snaps(pool) == set()
