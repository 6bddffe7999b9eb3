"""`clone` on a real pool: datasets, rewritten support files, names, refusals."""

from __future__ import annotations

import json

from tests.support.cli import iocjail, names, ok, prop, zfs

REL = "13.2-RELEASE"


def test_clone_copies_the_jail_and_renames_it_inside(fetched, iocroot):
    r = f"{fetched}/iocage"
    ok("create", "-r", REL, "-n", "www1", "ip4_addr=em0|192.0.2.10/24", "notes=www1 front, not www10",
        "vnet0_mac=02aabbccddee 02aabbccddef")
    src = iocroot / "jails" / "www1"
    (src / "root" / "etc" / "rc.conf").write_text('hostname="www1"\nsshd_enable="YES"\n')
    (src / "fstab").write_text(f"/data\t{iocroot}/jails/www1/root/mnt\tnullfs\tro\t0\t0\n")
    (src / "root" / "srv.txt").write_text("site")
    zfs("create", f"{r}/jails/www1/data")
    assert ok("clone", "www1", "-n", "www2", "ip4_addr=em0|192.0.2.11/24") == "www2 successfully cloned!\n"
    for child in ("", "/root", "/data"):
        assert prop(f"{r}/jails/www2{child}", "origin") == f"{r}/jails/www1{child}@www2"
    new = iocroot / "jails" / "www2"
    cfg = json.loads((new / "config.json").read_text())
    assert cfg["host_hostuuid"] == "www2" and cfg["host_hostname"] == "www2"
    assert cfg["jail_zfs_dataset"] == "iocage/jails/www2/data" and cfg["ip4_addr"] == "em0|192.0.2.11/24"
    assert cfg["notes"] == "www2 front, not www10" and "vnet0_mac" not in cfg
    assert cfg["release"] == "13.2-RELEASE-p4" and cfg["cloned_release"] == REL
    assert (new / "fstab").read_text() == f"/data\t{iocroot}/jails/www2/root/mnt\tnullfs\tro\t0\t0\n"
    assert (new / "root" / "etc" / "hosts").read_text().splitlines()[1:] == [
        "127.0.0.1\t\tlocalhost www2", "192.0.2.10\twww2"]
    assert (new / "root" / "etc" / "rc.conf").read_text() == 'hostname="www2"\nsshd_enable="YES"\n'
    assert (new / "root" / "srv.txt").read_text() == "site"
    # the source is untouched
    assert json.loads((src / "config.json").read_text())["host_hostuuid"] == "www1"
    assert "www1" in (src / "root" / "etc" / "hosts").read_text()


def test_clone_count_and_uuid_names(fetched, iocroot):
    ok("create", "-r", REL, "-n", "src")
    out = ok("clone", "src", "-n", "c", "-c", "2")
    assert out == "c_1 successfully cloned!\nc_2 successfully cloned!\n"
    name = ok("clone", "src").split()[0]
    assert len(name) == 36 and json.loads((iocroot / "jails" / name / "config.json").read_text())[
        "host_hostuuid"] == name
    given = "6ed60d8f-0274-47bf-86d4-b4483cbaa1d2"
    assert ok("clone", "src", "-u", given) == f"{given} successfully cloned!\n"


def test_refusals_change_nothing(fetched, mark_running):
    ok("create", "-r", REL, "-n", "src")
    ok("create", "-r", REL, "-n", "tpl", "template=yes")
    before = names(fetched)
    result = iocjail("clone", "tpl", "-n", "x")
    assert result.exit_code == 2 and "templates are not cloned" in result.output and "create -t tpl" in result.output
    for args, message in ((("src", "-n", "src"), "already exists"), (("src", "-n", "a/b"), "invalid jail name"),
                          (("src", "-n", "x", "priority=0"), "priority"), (("nope", "-n", "x"), "not found")):
        result = iocjail("clone", *args)
        assert result.exit_code in (2, 3) and message in result.output, result.output
    mark_running("src")
    result = iocjail("clone", "src", "-n", "x")
    assert result.exit_code == 1 and result.output == "iocjail: jail 'src' is running: stop it first (iocjail stop src)\n"
    assert names(fetched) == before


def test_a_clone_can_be_destroyed_and_then_its_source(fetched):
    r = f"{fetched}/iocage"
    ok("create", "-r", REL, "-n", "src")
    ok("clone", "src", "-n", "cl")
    result = iocjail("destroy", "-f", "src")
    assert result.exit_code == 1 and "use --recursive to destroy: cl" in result.output
    assert ok("destroy", "-f", "cl") == "Destroyed cl\n"
    assert not {f"{r}/jails/src@cl", f"{r}/jails/src/root@cl"} & names(fetched)
    assert ok("destroy", "-f", "src") == "Destroyed src\n"
    assert not any(n.startswith(f"{r}/jails/") for n in names(fetched))
    assert f"{r}/releases/{REL}/root@src" not in names(fetched)
