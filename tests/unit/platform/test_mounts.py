"""The mount tables as the kernel writes them, and the no-follow walk of a jail's root path."""

from __future__ import annotations

import os

from iocjail.platform import mounts
from iocjail.platform.mounts import Mounted

MOUNTINFO = (
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "73 22 0:46 / /iocage rw,relatime - fuse.zfs tank/iocage rw,user_id=0\n"
    "108 73 0:59 / /iocage/jails/web/root rw,relatime shared:7 master:2 - fuse.zfs tank/iocage/jails/web/root rw\n"
    "120 108 8:1 /srv /iocage/jails/web/root rw,relatime - ext4 /dev/sda1 rw\n"
    "121 73 0:60 / /iocage/jails/my\\040jail/root rw - zfs tank/iocage/jails/my\\040jail/root rw\n"
)


def test_mountinfo_fields_with_optional_fields_and_escapes():
    table = mounts.parse_mountinfo(MOUNTINFO)
    assert table[2] == Mounted("tank/iocage/jails/web/root", "/iocage/jails/web/root", "fuse.zfs", 108, 73,
                               "shared:7 master:2")
    assert table[4] == Mounted("tank/iocage/jails/my jail/root", "/iocage/jails/my jail/root", "zfs", 121, 73)


def test_the_last_mount_on_a_path_is_the_one_on_top():
    table = mounts.parse_mountinfo(MOUNTINFO)
    assert mounts.on_top(table, "/iocage/jails/web/root") == Mounted("/dev/sda1", "/iocage/jails/web/root", "ext4",
                                                                     120, 108)
    assert mounts.on_top(table, "/iocage/jails/db/root") is None


def test_freebsd_mount_p():
    text = ("zroot/ROOT/default\t/\tzfs\trw\t0 0\n"
            "zroot/iocage/jails/web/root\t/iocage/jails/web/root\tzfs\trw,nfsv4acls\t0 0\n"
            "/iocage/releases/13.2-RELEASE/root/bin /iocage/jails/web/root/bin nullfs ro 0 0\n")
    table = mounts.parse_mount_p(text)
    assert mounts.on_top(table, "/iocage/jails/web/root") == Mounted("zroot/iocage/jails/web/root",
                                                                     "/iocage/jails/web/root", "zfs")
    assert table[2].fstype == "nullfs"


def test_the_table_of_freebsd_comes_from_mount_p():
    class Out:
        stdout = "zroot/a\t/a\tzfs\trw\t0 0\n"

    calls = []
    assert mounts.table(system="freebsd14", run=lambda argv: calls.append(argv) or Out()) == [
        Mounted("zroot/a", "/a", "zfs")]
    assert calls == [["mount", "-p"]]


def test_unsafe_below_walks_without_following_links(tmp_path):
    base = tmp_path / "iocage"
    (base / "jails" / "web" / "root").mkdir(parents=True)
    assert mounts.unsafe_below(base, base / "jails" / "web" / "root") is None
    (base / "jails" / "db").mkdir()
    os.symlink("/", base / "jails" / "db" / "root")
    assert mounts.unsafe_below(base, base / "jails" / "db" / "root") == f"{base}/jails/db/root is a symlink (to /)"
    os.symlink("web", base / "jails" / "alias")
    assert "jails/alias is a symlink" in (mounts.unsafe_below(base, base / "jails" / "alias" / "root") or "")
    (base / "jails" / "file").mkdir()
    (base / "jails" / "file" / "root").write_text("")
    assert mounts.unsafe_below(base, base / "jails" / "file" / "root") == f"{base}/jails/file/root is not a directory"
    assert mounts.unsafe_below(base, base / "jails" / "gone" / "root") == f"{base}/jails/gone does not exist"
    # the iocroot itself may sit behind the admin's link: the walk starts below it
    os.symlink(base, tmp_path / "link")
    assert mounts.unsafe_below(tmp_path / "link", tmp_path / "link" / "jails" / "web" / "root") is None
