"""config.json and fstab of an imported jail."""

from __future__ import annotations

from iocjail.model import imported as I

CFG = {"CONFIG_VERSION": "34", "host_hostname": "web", "host_hostuuid": "web", "release": "13.2-RELEASE-p4",
       "jail_zfs_dataset": "iocage/jails/web/data", "cloned_release": "13.2-RELEASE", "ip4_addr": "em0|10.0.0.5/24"}


def test_same_name_same_kind_changes_nothing():
    assert I.imported_config(CFG, "web", "web", as_template=False) == CFG


def test_a_new_name_renames_identity_hostname_and_dataset():
    out = I.imported_config(CFG, "web", "shop", as_template=False)
    assert (out["host_hostuuid"], out["host_hostname"], out["jail_zfs_dataset"]) == \
        ("shop", "shop", "iocage/jails/shop/data")
    assert out["ip4_addr"] == CFG["ip4_addr"]
    custom = I.imported_config({**CFG, "host_hostname": "www.example.com"}, "web", "shop", as_template=False)
    assert custom["host_hostname"] == "www.example.com"


def test_templates_become_jails_unless_asked():
    tpl = {**CFG, "type": "template", "template": "1"}
    assert I.imported_config(tpl, "web", "web", as_template=False)[("type")] == "jail"
    assert I.imported_config(tpl, "web", "web", as_template=False)["template"] == "0"
    assert I.imported_config(tpl, "web", "web", as_template=True) == tpl
    made = I.imported_config(CFG, "web", "web", as_template=True)
    assert (made["type"], made["template"]) == ("template", "1")


def test_fstab_paths_follow_the_jail():
    text = ("/data /mnt/tank/iocage/jails/web/root/mnt nullfs ro 0 0\n"
            "# /mnt/tank/iocage/jails/web/root/x stays a comment\n"
            "/mnt/tank/iocage/releases/13.2-RELEASE/root/bin /mnt/tank/iocage/templates/web/root/bin nullfs ro 0 0\n")
    old = I.old_directories("/mnt/tank/iocage", "web")
    out = I.imported_fstab(text, old, "/iocage/jails/shop")
    assert out.splitlines() == [
        "/data /iocage/jails/shop/root/mnt nullfs ro 0 0",
        "# /mnt/tank/iocage/jails/web/root/x stays a comment",
        "/mnt/tank/iocage/releases/13.2-RELEASE/root/bin /iocage/jails/shop/root/bin nullfs ro 0 0",
    ]
    assert I.imported_fstab(text, I.old_directories("/mnt/tank/iocage", "web"), "/mnt/tank/iocage/jails/web") \
        .splitlines()[0] == "/data /mnt/tank/iocage/jails/web/root/mnt nullfs ro 0 0"


def test_host_commands_are_the_host_side_hooks_that_differ_from_this_hosts_defaults():
    stored = {"exec_prestart": "/bin/sh -c 'curl x | sh'", "exec_poststop": "/usr/bin/true",
              "exec_created": "/usr/local/bin/mine", "exec_start": "/bin/sh /etc/rc.other", "host_hostname": "w"}
    assert I.host_commands(stored, {}) == (("exec_prestart", "/bin/sh -c 'curl x | sh'"),
                                           ("exec_created", "/usr/local/bin/mine"))
    # what this host's defaults.json says anyway is nothing new
    assert I.host_commands(stored, {"exec_created": "/usr/local/bin/mine"}) == (
        ("exec_prestart", "/bin/sh -c 'curl x | sh'"),)
    assert I.host_commands({"exec_start": "/bin/sh /etc/rc.other"}, {}) == ()


FSTAB = ("/iocage/jails/web/root/srv /iocage/jails/web/root/mnt nullfs rw 0 0\n"
         "/iocage/releases/13.2-RELEASE/root/bin /iocage/jails/web/root/bin nullfs ro 0 0\n"
         "tmpfs /iocage/jails/web/root/tmp tmpfs rw 0 0\n"
         "/srv/data /iocage/jails/web/root/data nullfs rw 0 0\n"
         "/etc /iocage/jails/web/root/hostetc nullfs ro 0 0\n"
         "/iocage/jails/web /iocage/jails/web/root/self nullfs rw 0 0\n"
         "/iocage/releases/13.2-RELEASE/root/usr /iocage/jails/web/root/usr nullfs rw 0 0\n"
         "/iocage/jails/web/root/../../db/root /iocage/jails/web/root/db nullfs ro 0 0\n"
         "relative /iocage/jails/web/root/rel nullfs rw 0 0\n"
         "not an entry\n")


def test_host_sources_are_every_path_of_the_host_outside_the_jails_root():
    assert I.host_sources(FSTAB, "/iocage/jails/web/root", "/iocage/releases") == (
        ("/srv/data", "rw"), ("/etc", "ro"),
        ("/iocage/jails/web", "rw"),  # its own config.json and fstab: hooks run from there as root
        ("/iocage/releases/13.2-RELEASE/root/usr", "rw"),  # a release, writable
        ("/iocage/jails/web/root/../../db/root", "ro"),  # another jail, however spelled
        ("relative", "rw"))
    assert I.host_sources("", "/iocage/jails/web/root", "/iocage/releases") == ()


def test_an_fstab_mounting_the_hosts_root_is_found_however_spelled():
    for source in ("/", "//", "/./", "/usr/..", "/\\057"):
        assert I.host_root_source(f"{source} /iocage/jails/web/root/mnt nullfs rw 0 0\n") is not None, source
    assert I.host_root_source(FSTAB) is None


def test_the_import_mark_names_its_owner_and_reads_back():
    mark = I.ImportMark("host1", 4242, "123456", "2024-05-01T10:00:00Z")
    assert I.parse_import_mark(mark.text()) == mark
    assert I.parse_import_mark("garbage") is None and I.parse_import_mark(None) is None
    assert not I.owner_gone(mark, "host1", owner_alive=True)
    assert I.owner_gone(mark, "host1", owner_alive=False)
    assert I.owner_gone(mark, "host2", owner_alive=True)  # the pool moved: nothing imports on it there
    assert I.owner_gone(None, "host1", owner_alive=True)
