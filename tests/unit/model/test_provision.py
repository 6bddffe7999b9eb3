"""Provisioning decisions as data: names, the jail's files, configs of clones, templates, renames."""

from __future__ import annotations

import itertools
import re

import pytest

from iocjail.errors import InvalidName, UsageError
from iocjail.model import provision as P


def uuids():
    for i in itertools.count():
        yield f"{i:08x}-0000-4000-8000-000000000000"


def test_names_from_name_count_and_uuid():
    assert P.new_names("www", 1, None, False, uuids()) == ["www"]
    assert P.new_names("www", 3, None, False, uuids()) == ["www_1", "www_2", "www_3"]
    assert P.new_names(None, 2, None, False, uuids()) == ["00000000-0000-4000-8000-000000000000",
                                                         "00000001-0000-4000-8000-000000000000"]
    assert P.new_names(None, 1, None, True, uuids()) == ["00000000"]
    assert P.new_names(None, 1, "6ed60d8f-0274-47bf-86d4-b4483cbaa1d2", True, uuids()) == ["6ed60d8f"]
    for args in (("www", 1, "6ed60d8f-0274-47bf-86d4-b4483cbaa1d2", False), (None, 2, "u", False),
                 ("www", 1, None, True)):
        with pytest.raises(UsageError):
            P.new_names(*args, uuids())


def test_count_and_uuid_parsing():
    assert P.parse_count("1,000") == 1000 and P.parse_count("3") == 3
    for bad in ("0", "-1", "x", "", "1.5", "10001"):
        with pytest.raises(UsageError):
            P.parse_count(bad)
    assert P.parse_uuid("6ED60D8F-0274-47BF-86D4-B4483CBAA1D2") == "6ed60d8f-0274-47bf-86d4-b4483cbaa1d2"
    with pytest.raises(InvalidName, match="version 4"):
        P.parse_uuid("6ed60d8f-0274-17bf-86d4-b4483cbaa1d2")
    with pytest.raises(InvalidName):
        P.parse_uuid("../../etc")


def test_names_must_be_free_and_not_collide_on_the_kernel_name():
    P.check_new_names(["a", "b.c"], ["x", "y"])
    with pytest.raises(P.NameTaken, match="already exists"):
        P.check_new_names(["x"], ["x"])
    with pytest.raises(P.NameTaken, match="collide with 'foo_bar'"):
        P.check_new_names(["foo.bar"], ["foo_bar"])
    with pytest.raises(P.NameTaken, match="collide with 'a.b'"):
        P.check_new_names(["a.b", "a_b"], [])  # within one command too
    for bad in ("a/b", "..", "", "a b", "-a", "default", "ALL", "x" * 65, "a@b", "a\nb"):
        with pytest.raises(InvalidName):
            P.check_new_names([bad], [])


def test_new_config_keys_as_iocage_writes_them():
    cfg = P.new_config("my_jail", release="13.2-RELEASE-p4", cloned_release="13.2-RELEASE")
    assert cfg == {"CONFIG_VERSION": "34", "cloned_release": "13.2-RELEASE", "host_hostname": "my-jail",
                   "host_hostuuid": "my_jail", "jail_zfs_dataset": "iocage/jails/my_jail/data",
                   "release": "13.2-RELEASE-p4"}
    thick = P.new_config("b", release="R", cloned_release=None, basejail=True)
    assert "cloned_release" not in thick and thick["basejail"] == "1"
    assert list(cfg) == sorted(cfg)


def test_from_template_drops_ips_boot_marks_and_macs():
    tpl = {"CONFIG_VERSION": "34", "host_hostname": "tpl", "host_hostuuid": "tpl", "jail_zfs_dataset": "iocage/jails/tpl/data",
           "release": "13.2-RELEASE-p4", "cloned_release": "13.2-RELEASE", "ip4_addr": "192.0.2.1", "ip6_addr": "::1",
           "boot": "1", "type": "template", "template": "1", "vnet0_mac": "02aabbccddee 02aabbccddef",
           "last_started": "2024-01-01 00:00:00", "notes": "keep me", "priority": "5"}
    cfg = P.from_template(tpl, "tpl", "j1", thick=False, basejail=False)
    assert cfg == {"CONFIG_VERSION": "34", "host_hostname": "j1", "host_hostuuid": "j1",
                   "jail_zfs_dataset": "iocage/jails/j1/data", "release": "13.2-RELEASE-p4",
                   "cloned_release": "13.2-RELEASE", "notes": "keep me", "priority": "5", "source_template": "tpl"}
    thick = P.from_template(tpl, "tpl", "j2", thick=True, basejail=True)
    assert "cloned_release" not in thick and thick["basejail"] == "1"


def test_clone_config_replaces_whole_names_only():
    src = {"host_hostname": "www1", "host_hostuuid": "www1", "jail_zfs_dataset": "iocage/jails/www1/data",
           "notes": "www1 and www10 and www1.example.com", "vnet0_mac": "02aabbccddee 02aabbccddef",
           "last_started": "2024-01-01 00:00:00", "exec_start": "/bin/sh /etc/rc"}
    cfg = P.clone_config(src, "www1", "web")
    assert cfg == {"host_hostname": "web", "host_hostuuid": "web", "jail_zfs_dataset": "iocage/jails/web/data",
                   "notes": "web and www10 and web.example.com", "exec_start": "/bin/sh /etc/rc"}
    custom = P.clone_config({"host_hostname": "shop.example.com", "host_hostuuid": "shop"}, "shop", "shop_2")
    assert custom["host_hostname"] == "shop_2.example.com"
    assert P.clone_config({"host_hostname": "my-jail"}, "my_jail", "new_one")["host_hostname"] == "new-one"


def test_renamed_config():
    cfg = {"host_hostname": "old-one", "host_hostuuid": "old_one", "jail_zfs_dataset": "iocage/jails/old_one/data",
           "notes": "old_one stays"}
    assert P.renamed_config(cfg, "old_one", "new") == {
        "host_hostname": "new", "host_hostuuid": "new", "jail_zfs_dataset": "iocage/jails/new/data",
        "notes": "old_one stays"}
    kept = P.renamed_config({"host_hostname": "mail.example", "host_hostuuid": "a",
                             "jail_zfs_dataset": "tank/jails/ab/x iocage/jails/a/data"}, "a", "b")
    assert kept["host_hostname"] == "mail.example"
    assert kept["jail_zfs_dataset"] == "tank/jails/ab/x iocage/jails/b/data"


def test_hosts_file():
    source = "::1\t\tlocalhost\n127.0.0.1\t\tlocalhost\n"
    assert P.hosts_file(source, "www1", "none") == "::1\t\tlocalhost\n127.0.0.1\t\tlocalhost www1\n"
    assert P.hosts_file(source, "db.lan", "em0|192.0.2.5/24,em1|198.51.100.1").splitlines()[1:] == [
        "127.0.0.1\t\tlocalhost db", "192.0.2.5\tdb.lan\tdb"]
    assert P.hosts_file(source, "d", "vnet0|DHCP").count("\n") == 2  # no address line for DHCP
    assert "127.0.0.1" in P.hosts_file(None, "x", "none")


def test_rc_conf_hostname():
    text = '# x\nhostname="www1"\nsshd_enable="YES"\n'
    assert P.rc_conf_hostname(text, "web") == '# x\nhostname="web"\nsshd_enable="YES"\n'
    assert P.rc_conf_hostname('sshd_enable="YES"\n', "web") is None
    assert 'cron_flags="$cron_flags -J 15"' in P.DEFAULT_RC_CONF


def test_basejail_lines_and_dirs():
    assert len(P.BASEJAIL_DIRS) == 14 and P.BASEJAIL_DIRS[-1] == "usr/lib32"
    assert "usr/lib32" not in P.basejail_dirs("13.2-STABLE") and len(P.basejail_dirs("13.2-RELEASE")) == 14
    text = P.basejail_fstab("/i/releases/R/root", "/i/jails/b/root", ("bin", "usr/bin"), "2024-05-01 10:00:00")
    assert text == ("/i/releases/R/root/bin\t/i/jails/b/root/bin\tnullfs\tro\t0\t0 # Added by iocage on 2024-05-01 10:00:00\n"
                    "/i/releases/R/root/usr/bin\t/i/jails/b/root/usr/bin\tnullfs\tro\t0\t0 "
                    "# Added by iocage on 2024-05-01 10:00:00\n")


def test_fstab_moved():
    text = ("# comment /i/jails/a/root\n"
            "/i/jails/a/root/x\t/i/jails/a/root/mnt\tnullfs\tro\t0\t0 # Added by iocage on 2024-01-01 00:00:00\n"
            "/data /i/jails/ab/root/mnt nullfs rw 0 0\n"
            "/i/templates/a/root/bin /i/jails/a/root/bin nullfs ro 0 0\n\n")
    moved = P.fstab_moved(text, "/i/jails/a", "/i/jails/b")
    assert moved.splitlines() == [
        "# comment /i/jails/a/root",
        "/i/jails/b/root/x\t/i/jails/b/root/mnt\tnullfs\tro\t0\t0 # Added by iocage on 2024-01-01 00:00:00",
        "/data /i/jails/ab/root/mnt nullfs rw 0 0",
        "/i/templates/a/root/bin /i/jails/b/root/bin nullfs ro 0 0",
        ""]


def test_pkglist():
    assert P.parse_pkglist('{"pkgs": ["nginx", "www/php83", "nginx", "py311-pip"]}', "f") == (
        "nginx", "www/php83", "py311-pip")
    for text, message in (("[1]", "expected"), ('{"pkgs": "nginx"}', "expected"), ('{"pkgs": [1]}', "invalid"),
                          ('{"pkgs": ["-f"]}', "invalid"), ('{"pkgs": ["a b"]}', "invalid"),
                          ('{"pkgs": []}', "empty"), ("nope", "not valid JSON")):
        with pytest.raises(UsageError, match=message):
            P.parse_pkglist(text, "f")


def test_replace_word():
    assert P.replace_word("a www1 www10 xwww1 www1.b www1_x", "www1", "w") == "a w www10 xwww1 w.b www1_x"
    assert P.replace_word("a.b a_b", "a.b", "c") == "c a_b"
    assert re.escape("x") == "x"
