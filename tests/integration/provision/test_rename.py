"""`rename OLD NEW`: datasets, origin snapshots, config, fstab, dependants, log."""

from __future__ import annotations

import json

from tests.support.cli import iocjail, names, ok, prop

REL = "13.2-RELEASE"


def cfg(iocroot, category, name):
    return json.loads((iocroot / category / name / "config.json").read_text())


def test_rename_a_thin_jail(fetched, iocroot):
    r = f"{fetched}/iocage"
    ok("create", "-r", REL, "-n", "wwww1")
    (iocroot / "jails" / "wwww1" / "fstab").write_text(f"/data {iocroot}/jails/wwww1/root/mnt nullfs ro 0 0\n")
    (iocroot / "log" / "wwww1-console.log").write_text("booted\n")
    assert ok("rename", "wwww1", "www1") == "Jail: wwww1 renamed to www1\n"
    assert f"{r}/jails/www1/root" in names(fetched) and f"{r}/jails/wwww1" not in names(fetched)
    assert prop(f"{r}/jails/www1/root", "origin") == f"{r}/releases/{REL}/root@www1"
    assert f"{r}/releases/{REL}/root@wwww1" not in names(fetched)
    c = cfg(iocroot, "jails", "www1")
    assert (c["host_hostuuid"], c["host_hostname"], c["jail_zfs_dataset"]) == ("www1", "www1", "iocage/jails/www1/data")
    assert (iocroot / "jails" / "www1" / "fstab").read_text() == f"/data {iocroot}/jails/www1/root/mnt nullfs ro 0 0\n"
    assert (iocroot / "log" / "www1-console.log").read_text() == "booted\n"
    assert not (iocroot / "log" / "wwww1-console.log").exists()
    # a custom hostname is the user's: kept
    ok("set", "host_hostname=shop.example.com", "www1")
    ok("rename", "www1", "shop")
    assert cfg(iocroot, "jails", "shop")["host_hostname"] == "shop.example.com"


def test_rename_a_template_updates_what_was_made_from_it(fetched, iocroot):
    r = f"{fetched}/iocage"
    ok("create", "-r", REL, "-n", "tpl", "template=yes")
    ok("create", "-t", "tpl", "-n", "thin")
    # -B (a clone), not -b: zfs-fuse leaks a hold on whatever `zfs send` read (the copy of -b), and the
    # template could never be renamed again there (see the note on issue 9 and bench/RESULTS.md)
    ok("create", "-t", "tpl", "-n", "base", "-B")
    ok("create", "-r", REL, "-n", "other")
    other_before = (iocroot / "jails" / "other" / "config.json").read_bytes()
    assert ok("rename", "tpl", "tmpl") == "Jail: tpl renamed to tmpl\n"
    assert prop(f"{r}/templates/tmpl/root", "origin") == f"{r}/releases/{REL}/root@tmpl"
    assert prop(f"{r}/jails/thin/root", "origin") == f"{r}/templates/tmpl/root@thin"
    assert cfg(iocroot, "jails", "thin")["source_template"] == "tmpl"
    assert cfg(iocroot, "jails", "base")["source_template"] == "tmpl"
    fstab = (iocroot / "jails" / "base" / "fstab").read_text()
    mounted = len(fstab.splitlines())
    assert mounted >= 4 and fstab.count(f"{iocroot}/templates/tmpl/root/") == mounted  # every line moved
    assert "/templates/tpl/" not in fstab
    assert cfg(iocroot, "templates", "tmpl")["type"] == "template"
    assert (iocroot / "jails" / "other" / "config.json").read_bytes() == other_before
    for probe in (iocroot / "templates" / "tmpl" / "x", iocroot / "templates" / "tmpl" / "root" / "x"):
        try:
            probe.write_text("x")
        except OSError:
            continue
        raise AssertionError(f"{probe.parent} is writable: the template lost readonly")


def test_rename_a_clone_moves_its_origin_snapshots(fetched):
    r = f"{fetched}/iocage"
    ok("create", "-r", REL, "-n", "src")
    ok("clone", "src", "-n", "cl")
    ok("rename", "cl", "cl2")
    assert prop(f"{r}/jails/cl2", "origin") == f"{r}/jails/src@cl2"
    assert prop(f"{r}/jails/cl2/root", "origin") == f"{r}/jails/src/root@cl2"
    assert not {f"{r}/jails/src@cl", f"{r}/jails/src/root@cl"} & names(fetched)
    assert ok("destroy", "-f", "cl2") == "Destroyed cl2\n"
    assert not {f"{r}/jails/src@cl2", f"{r}/jails/src/root@cl2"} & names(fetched)


def test_refusals_change_nothing(fetched, mark_running):
    ok("create", "-r", REL, "-n", "a")
    ok("create", "-r", REL, "-n", "b.c")
    before = names(fetched)
    for args, code, message in ((("a", "b.c"), 2, "already exists"), (("a", "b_c"), 2, "collide"),
                                (("a", "x/y"), 2, "invalid jail name"), (("a", "a"), 2, "already called"),
                                (("nope", "x"), 3, "not found"), (("a", "default"), 2, "reserved")):
        result = iocjail("rename", *args)
        assert result.exit_code == code and message in result.output, result.output
    mark_running("a")
    result = iocjail("rename", "a", "z")
    assert result.exit_code == 1 and "is running: stop it first" in result.output
    assert names(fetched) == before
