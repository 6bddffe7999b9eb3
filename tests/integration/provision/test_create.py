"""`create` on a real pool: every flag, the files a jail gets, names, and bad input."""

from __future__ import annotations

import json
import os
import re
import uuid

import pytest

from iocjail.model.provision import BASEJAIL_DIRS
from tests.support.cli import iocjail, names, prop, zfs

REL = "13.2-RELEASE"
COMPLETE = "org.freebsd.iocjail:complete"
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def config(iocroot, name, category="jails"):
    return json.loads((iocroot / category / name / "config.json").read_text())


def created(*args: str) -> str:
    result = iocjail("create", *args)
    assert result.exit_code == 0, result.output
    return result.output


def test_thin_create_clones_the_release_and_writes_the_support_files(fetched, iocroot):
    r = f"{fetched}/iocage"
    out = created("-r", REL, "-n", "www1", "ip4_addr=em0|192.0.2.10/24", "boot=on")
    assert out == "www1 successfully created!\n"
    assert prop(f"{r}/jails/www1/root", "origin") == f"{r}/releases/{REL}/root@www1"
    assert prop(f"{r}/jails/www1", "origin") == "-"
    path = iocroot / "jails" / "www1"
    assert config(iocroot, "www1") == {
        "CONFIG_VERSION": "34", "boot": "1", "cloned_release": REL, "host_hostname": "www1",
        "host_hostuuid": "www1", "ip4_addr": "em0|192.0.2.10/24", "jail_zfs_dataset": "iocage/jails/www1/data",
        "release": "13.2-RELEASE-p4"}
    assert (path / "fstab").read_text() == ""
    assert (path / "root" / "etc" / "hosts").read_text() == (
        "::1\t\tlocalhost\n127.0.0.1\t\tlocalhost www1\n192.0.2.10\twww1\n")
    rc_conf = (path / "root" / "etc" / "rc.conf").read_text()
    assert 'cron_flags="$cron_flags -J 15"' in rc_conf and 'syslogd_flags="-c -ss"' in rc_conf
    assert rc_conf.count('enable="NO"') == 4 and 'ipv6_activate_all_interfaces="YES"' in rc_conf
    # the release itself is untouched: the jail's files live in its own clone
    assert "www1" not in (iocroot / "releases" / REL / "root" / "etc" / "hosts").read_text()
    assert iocjail("get", "boot", "www1").output == "1\n"


def test_a_release_rc_conf_is_kept_and_hostnames_with_dots(fetched, iocroot):
    (iocroot / "releases" / REL / "root" / "etc" / "rc.conf").write_text('sshd_enable="YES"\n')
    created("-r", REL, "-n", "db.example", "ip4_addr=192.0.2.5")
    root = iocroot / "jails" / "db.example" / "root"
    assert (root / "etc" / "rc.conf").read_text() == 'sshd_enable="YES"\n'
    hosts = (root / "etc" / "hosts").read_text().splitlines()
    assert hosts[1] == "127.0.0.1\t\tlocalhost db" and hosts[2] == "192.0.2.5\tdb.example\tdb"
    assert config(iocroot, "db.example")["host_hostname"] == "db.example"


def test_count_with_a_name(fetched, iocroot):
    out = created("-r", REL, "-n", "web", "-c", "3", "notes=pool of three")
    assert out.splitlines() == [f"web_{i} successfully created!" for i in (1, 2, 3)]
    for i in (1, 2, 3):
        cfg = config(iocroot, f"web_{i}")
        assert cfg["host_hostname"] == f"web-{i}" and cfg["notes"] == "pool of three"
        assert prop(f"{fetched}/iocage/jails/web_{i}/root", "origin").endswith(f"@web_{i}")


def test_uuid_names(fetched, iocroot):
    name = created("-r", REL).split()[0]
    assert str(uuid.UUID(name)) == name and uuid.UUID(name).version == 4
    assert config(iocroot, name)["host_hostuuid"] == name
    short = created("-r", REL, "-s").split()[0]
    assert re.fullmatch(r"[0-9a-f]{8}", short)
    given = "2b1c3a7e-0f4d-4b7a-9c1e-5d2f8a6b4c3d"
    assert created("-r", REL, "-u", given.upper()) == f"{given} successfully created!\n"
    assert created("-r", REL, "-u", "6ed60d8f-0274-47bf-86d4-b4483cbaa1d2", "-s") == "6ed60d8f successfully created!\n"
    two = created("-r", REL, "-c", "2").split("\n")
    assert len({line.split()[0] for line in two if line}) == 2


def test_thick_is_a_full_copy(fetched, iocroot):
    r = f"{fetched}/iocage"
    created("-r", REL, "-n", "thick", "-T")
    assert prop(f"{r}/jails/thick/root", "origin") == "-"
    assert f"{r}/releases/{REL}/root@thick" not in names(fetched)
    assert f"{r}/jails/thick/root@thick" not in names(fetched)
    assert "cloned_release" not in config(iocroot, "thick")  # iocage drops it for copies
    root = iocroot / "jails" / "thick" / "root"
    assert os.readlink(root / "bin" / "sh") == "busybox"
    assert (root / "etc" / "hosts").read_text().splitlines()[1].endswith(" thick")


def test_empty(fetched, iocroot):
    out = created("-e", "-n", "devuan", "ip4_addr=203.0.113.229")
    assert out == "devuan successfully created!\n"
    cfg = config(iocroot, "devuan")
    assert cfg["release"] == "EMPTY" and cfg["cloned_release"] == "EMPTY" and cfg["ip4_addr"] == "203.0.113.229"
    assert list((iocroot / "jails" / "devuan" / "root").iterdir()) == []
    assert (iocroot / "jails" / "devuan" / "fstab").read_text() == ""


def test_basejail_copies_and_mounts_the_base_directories(fetched, iocroot):
    r = f"{fetched}/iocage"
    created("-r", REL, "-n", "base1", "-b")
    assert prop(f"{r}/jails/base1/root", "origin") == "-"
    cfg = config(iocroot, "base1")
    assert cfg["basejail"] == "1" and "cloned_release" not in cfg
    lines = (iocroot / "jails" / "base1" / "fstab").read_text().splitlines()
    release = iocroot / "releases" / REL / "root"
    present = [d for d in BASEJAIL_DIRS if (release / d).is_dir()]
    assert "bin" in present and "boot" not in present  # the busybox release has no /boot: not mounted
    assert len(lines) == len(present)
    for line, d in zip(lines, present, strict=True):
        assert re.fullmatch(
            re.escape(f"{iocroot}/releases/{REL}/root/{d}\t{iocroot}/jails/base1/root/{d}\tnullfs\tro\t0\t0")
            + f" # Added by iocage on {STAMP}", line), line
    root = iocroot / "jails" / "base1" / "root"
    assert all((root / d).is_dir() and not (root / d).is_symlink() and not list((root / d).iterdir())
               for d in present)
    assert not (root / "boot").exists()
    assert (root / "etc" / "rc").is_file() and (root / "etc" / "hosts").is_file()  # etc is the jail's own


def test_clone_basejail(fetched, iocroot):
    r = f"{fetched}/iocage"
    created("-r", REL, "-n", "base2", "-B")
    assert prop(f"{r}/jails/base2/root", "origin") == f"{r}/releases/{REL}/root@base2"
    cfg = config(iocroot, "base2")
    assert cfg["basejail"] == "1" and cfg["cloned_release"] == REL
    release = iocroot / "releases" / REL / "root"
    present = [d for d in BASEJAIL_DIRS if (release / d).is_dir()]
    assert len((iocroot / "jails" / "base2" / "fstab").read_text().splitlines()) == len(present) > 3
    assert list((iocroot / "jails" / "base2" / "root" / "bin").iterdir()) == []
    assert (iocroot / "releases" / REL / "root" / "bin" / "busybox").is_file()  # the release keeps its own


def test_from_a_template(fetched, iocroot):
    r = f"{fetched}/iocage"
    created("-r", REL, "-n", "tpl", "ip4_addr=192.0.2.9", "boot=on", "notes=made from tpl", "priority=20")
    assert iocjail("set", "template=yes", "tpl").exit_code == 0
    out = created("-t", "tpl", "-n", "fromtpl", "ip6_addr=2001:db8::5")
    assert out == "fromtpl successfully created!\n"
    assert prop(f"{r}/jails/fromtpl/root", "origin") == f"{r}/templates/tpl/root@fromtpl"
    cfg = config(iocroot, "fromtpl")
    assert cfg["source_template"] == "tpl" and cfg["notes"] == "made from tpl" and cfg["priority"] == "20"
    assert cfg["ip6_addr"] == "2001:db8::5" and cfg["host_hostuuid"] == "fromtpl"
    assert {"ip4_addr", "boot", "type", "template"}.isdisjoint(cfg)
    hosts = (iocroot / "jails" / "fromtpl" / "root" / "etc" / "hosts").read_text().splitlines()
    assert hosts[1].endswith(" fromtpl")
    # thick and basejail from a template
    created("-t", "tpl", "-n", "thicktpl", "-T")
    assert prop(f"{r}/jails/thicktpl/root", "origin") == "-"
    assert f"{r}/templates/tpl/root@thicktpl" not in names(fetched)
    created("-t", "tpl", "-n", "basetpl", "-b")
    first = (iocroot / "jails" / "basetpl" / "fstab").read_text().splitlines()[0]
    assert first.startswith(f"{iocroot}/templates/tpl/root/bin\t{iocroot}/jails/basetpl/root/bin\tnullfs\tro")


def test_template_errors(fetched):
    created("-r", REL, "-n", "plain")
    result = iocjail("create", "-t", "plain", "-n", "x")
    assert result.exit_code == 2 and "is a jail, not a template" in result.output
    result = iocjail("create", "-t", "nope", "-n", "x")
    assert result.exit_code == 3 and result.output == "iocjail: jail 'nope' not found\n"


def test_created_as_a_template(fetched, iocroot):
    r = f"{fetched}/iocage"
    out = created("-r", REL, "-n", "tpl2", "template=yes")
    assert out == "tpl2 successfully created!\ntpl2: created as a template\n"
    assert f"{r}/templates/tpl2" in names(fetched) and f"{r}/jails/tpl2" not in names(fetched)
    with pytest.raises(OSError):  # readonly (zfs-fuse misreports the property while mounted)
        (iocroot / "templates" / "tpl2" / "probe").write_text("x")
    cfg = config(iocroot, "tpl2", "templates")
    assert cfg["type"] == "template" and cfg["template"] == "1"


def test_pkglist_is_recorded_and_a_failed_install_keeps_the_jail(fetched, iocroot, tmp_path):
    pkgs = tmp_path / "pkgs.json"
    pkgs.write_text('{"pkgs": ["nginx", "www/php83", "nginx"]}')
    result = iocjail("create", "-r", REL, "-n", "p1", "-p", str(pkgs))
    # a Linux jail without pkg_command has no package manager: the jail stays, the packages are named
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[0] == "p1 successfully created!"
    assert result.output.splitlines()[1].startswith("p1: packages not installed (nginx, www/php83): p1: no package "
                                                    "manager")
    assert json.loads((iocroot / "jails" / "p1" / "pkglist.json").read_text()) == {"pkgs": ["nginx", "www/php83"]}
    assert iocjail("get", "state", "p1").output == "down\n"


def test_pkglist_with_template_yes_is_refused_before_anything_is_made(fetched, tmp_path):
    before = names(fetched)
    (tmp_path / "p.json").write_text('{"pkgs": ["nginx"]}')
    result = iocjail("create", "-r", REL, "-n", "t1", "-p", str(tmp_path / "p.json"), "template=yes")
    assert result.exit_code == 2 and "-p cannot be combined with template=yes" in result.output
    assert names(fetched) == before


def test_properties_imply_and_zfs_properties(fetched, iocroot):
    r = f"{fetched}/iocage"
    created("-r", REL, "-n", "d1", "dhcp=on", "quota=1G")
    cfg = config(iocroot, "d1")
    assert (cfg["dhcp"], cfg["vnet"], cfg["bpf"]) == ("1", "1", "1") and "quota" not in cfg
    assert zfs("get", "-H", "-p", "-o", "value", "quota", f"{r}/jails/d1").strip() == str(1 << 30)


BAD = [
    (("-r", REL, "-n", "x", "priority=5x"), 2, "priority"),
    (("-r", REL, "-n", "x", "nat=1", "bpf=1"), 2, "nat and bpf"),
    (("-r", REL, "-n", "x", "host_hostuuid=y"), 2, "cannot be changed"),
    (("-r", REL, "-n", "x", "nope=1"), 2, "unknown property"),
    (("-r", REL, "-n", "x", "novalue"), 2, "KEY=VALUE"),
    (("-r", REL, "-n", "../x"), 2, "invalid jail name"),
    (("-r", REL, "-n", "a/b"), 2, "invalid jail name"),
    (("-r", REL, "-n", "a b"), 2, "invalid jail name"),
    (("-r", REL, "-n", ""), 2, "it is empty"),
    (("-r", REL, "-n", "-x"), 2, "invalid jail name"),
    (("-r", REL, "-n", "default"), 2, "reserved"),
    (("-r", REL, "-n", "x" * 65), 2, "longer than"),
    (("-r", REL, "-n", "x", "-c", "0"), 2, "invalid count"),
    (("-r", REL, "-n", "x", "-c", "many"), 2, "invalid count"),
    (("-r", REL, "-u", "not-a-uuid"), 2, "UUID"),
    (("-r", REL, "-u", "6ed60d8f-0274-17bf-86d4-b4483cbaa1d2"), 2, "version 4"),
    (("-r", REL, "-u", "6ed60d8f-0274-47bf-86d4-b4483cbaa1d2", "-c", "2"), 2, "-c"),
    (("-r", REL, "-n", "x", "-s"), 2, "-s"),
    (("-n", "x"), 2, "give -r RELEASE"),
    (("-r", REL, "-e", "-n", "x"), 2, "cannot be combined"),
    (("-r", REL, "-n", "x", "-b", "-B"), 2, "cannot be combined"),
    (("-r", REL, "-n", "x", "-B", "-T"), 2, "-B"),
    (("-r", "14.1-RELEASE", "-n", "x"), 3, "fetch it first"),
    (("-r", "../14.1", "-n", "x"), 2, "invalid release name"),
    (("-t", "../t", "-n", "x"), 2, "invalid jail name"),
]


@pytest.mark.parametrize("args,code,message", BAD)
def test_bad_input_creates_nothing(fetched, args, code, message):
    before = names(fetched)
    result = iocjail("create", *args)
    assert result.exit_code == code, result.output
    assert message in result.output and result.output.startswith("iocjail: ")
    assert len(result.output.splitlines()) == 1
    assert names(fetched) == before


def test_existing_and_colliding_names(fetched):
    created("-r", REL, "-n", "foo.bar")
    before = names(fetched)
    result = iocjail("create", "-r", REL, "-n", "foo.bar")
    assert result.exit_code == 2 and result.output == "iocjail: jail 'foo.bar' already exists\n"
    result = iocjail("create", "-r", REL, "-n", "foo_bar")
    assert result.exit_code == 2 and "would collide with 'foo.bar'" in result.output
    result = iocjail("create", "-r", REL, "-n", "foo", "-c", "2", "-u", "x")
    assert result.exit_code == 2
    assert names(fetched) == before


def test_release_name_case_and_incomplete_release(fetched, iocroot):
    created("-r", "13.2-release", "-n", "lower")
    assert config(iocroot, "lower")["cloned_release"] == REL
    zfs("set", f"{COMPLETE}=no", f"{fetched}/iocage/releases/{REL}")
    before = names(fetched)
    result = iocjail("create", "-r", REL, "-n", "x")
    assert result.exit_code == 1 and "incomplete" in result.output
    assert names(fetched) == before


def test_bad_pkglist_creates_nothing(fetched, tmp_path):
    before = names(fetched)
    for text, message in (("[]", "expected"), ('{"pkgs": ["ok", "rm -rf /"]}', "invalid package"),
                          ("{", "not valid JSON"), ('{"pkgs": []}', "empty")):
        (tmp_path / "p.json").write_text(text)
        result = iocjail("create", "-r", REL, "-n", "x", "-p", str(tmp_path / "p.json"))
        assert result.exit_code == 2 and message in result.output, result.output
    result = iocjail("create", "-r", REL, "-n", "x", "-p", str(tmp_path / "missing.json"))
    assert result.exit_code == 2 and "cannot read package list" in result.output
    assert names(fetched) == before


def test_writes_never_follow_symlinks_planted_in_the_source(fetched, iocroot, tmp_path):
    outside = tmp_path / "outside-hosts"
    outside.write_text("host file\n")
    rel_etc = iocroot / "releases" / REL / "root" / "etc"
    (rel_etc / "hosts").unlink()
    (rel_etc / "hosts").symlink_to(outside)
    created("-r", REL, "-n", "s1")
    hosts = iocroot / "jails" / "s1" / "root" / "etc" / "hosts"
    assert not hosts.is_symlink() and "s1" in hosts.read_text()
    assert outside.read_text() == "host file\n"

    outdir = tmp_path / "outside-etc"
    outdir.mkdir()
    rel_root = iocroot / "releases" / REL / "root"
    os.rename(rel_root / "etc", rel_root / "etc.real")
    (rel_root / "etc").symlink_to(outdir)
    before = names(fetched)
    result = iocjail("create", "-r", REL, "-n", "s2")
    assert result.exit_code == 1 and "refusing etc/hosts in the jail root" in result.output
    assert "/etc is a symlink" in result.output
    assert list(outdir.iterdir()) == [] and names(fetched) == before


def test_thin_create_costs_three_zfs_commands(fetched, monkeypatch):
    """One query, the snapshot, the clone: what bench/create.py compares with doing it by hand.
    The query and the snapshot run at once (no zpool call either: IOCJAIL_POOL is trusted)."""
    from iocjail.platform import shell, zfs as zfs_module
    from iocjail.services import create as service
    from iocjail.site.host import Host

    calls: list[list[str]] = []

    def counting(argv, **kwargs):
        calls.append(list(argv))
        return shell.run(argv, **kwargs)

    host = Host(zfs=zfs_module.Zfs(run=counting), pool_override=fetched)
    service.create(host, service.CreateRequest(release=REL, name="counted"))
    assert sorted(c[1] for c in calls[:2]) == ["get", "snapshot"] and calls[2][1] == "clone", calls
    assert len(calls) == 3 and all(c[0] == "zfs" for c in calls)
