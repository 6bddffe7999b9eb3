"""Writes into a jail root never follow a symlink the jail planted (no root needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iocjail.platform import safe_paths as S


@pytest.fixture
def world(tmp_path):
    """A fake host (`host/etc/passwd`) and a jail root beside it."""
    host = tmp_path / "host"
    (host / "etc").mkdir(parents=True)
    (host / "etc" / "passwd").write_text("root:x:0:0\n")
    root = tmp_path / "jails" / "www1" / "root"
    (root / "etc").mkdir(parents=True)
    return host, root


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in directory.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize("target", [
    "/../../../etc/passwd", "../../../../host/etc/passwd", "HOST/etc/passwd", "/etc/passwd", "missing-file"])
def test_a_symlink_at_the_name_is_replaced_never_followed(world, target):
    host, root = world
    before = snapshot(host)
    link = root / "etc" / "resolv.conf"
    link.symlink_to(target.replace("HOST", str(host)))
    S.write_file(root, "etc/resolv.conf", b"nameserver 192.0.2.1\n")
    assert snapshot(host) == before
    assert not link.is_symlink() and link.read_text() == "nameserver 192.0.2.1\n"
    assert oct(link.stat().st_mode & 0o777) == oct(0o644)


@pytest.mark.parametrize("how", ["absolute", "relative"])
def test_a_symlinked_directory_on_the_way_is_refused(world, how):
    host, root = world
    before = snapshot(host)
    os.rmdir(root / "etc")
    (root / "etc").symlink_to(str(host / "etc") if how == "absolute" else "../../../host/etc")
    with pytest.raises(S.UnsafePath, match="/etc is a symlink"):
        S.write_file(root, "etc/resolv.conf", b"x")
    with pytest.raises(S.UnsafePath, match="symlink"):
        S.write_file(root, "/etc/passwd", b"x")
    with pytest.raises(S.UnsafePath):
        S.read_file(root, "etc/passwd")
    assert snapshot(host) == before and not (host / "etc" / "resolv.conf").exists()


def test_dot_dot_is_refused(world):
    _, root = world
    with pytest.raises(ValueError):
        S.write_file(root, "etc/../../../host/etc/passwd", b"x")


def test_resolve_checks_mount_targets(world):
    host, root = world
    (root / "usr" / "src").mkdir(parents=True)
    assert S.resolve(root, "/usr/src") == root / "usr" / "src"
    (root / "mnt").symlink_to(str(host))
    with pytest.raises(S.UnsafePath, match="it is a symlink"):
        S.resolve(root, "/mnt")
    with pytest.raises(S.UnsafePath, match="/mnt is a symlink"):
        S.resolve(root, "/mnt/etc")
    with pytest.raises(S.UnsafePath, match="does not exist"):
        S.resolve(root, "/nope")
    (root / "file").write_text("")
    with pytest.raises(S.UnsafePath, match="not a directory"):
        S.resolve(root, "/file")
    assert S.resolve(root, "/file", kind="file") == root / "file"


def test_read_mkdir_symlink(world):
    _, root = world
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    assert S.read_file(root, "etc/passwd").startswith(b"root:")
    assert S.read_file(root, "etc/nothing") is None
    (root / "etc" / "shadow").symlink_to("/etc/shadow")
    with pytest.raises(S.UnsafePath, match="symlink"):
        S.read_file(root, "etc/shadow")
    S.mkdir(root, "dev")
    S.mkdir(root, "dev")  # exists: fine
    S.symlink(root, "dev/fd", "/proc/self/fd")
    assert os.readlink(root / "dev" / "fd") == "/proc/self/fd"
    with pytest.raises(S.UnsafePath):
        S.mkdir(root, "dev/fd")


def test_a_replacing_symlink_replaces_a_planted_link_and_never_follows_it(world):
    host, root = world
    before = snapshot(host)
    (root / "etc" / "rc.local").symlink_to(str(host / "etc" / "passwd"))
    S.symlink(root, "etc/rc.local", "rc.conf", replace=True)
    assert os.readlink(root / "etc" / "rc.local") == "rc.conf"
    assert snapshot(host) == before and sorted(p.name for p in (root / "etc").iterdir()) == ["rc.local"]
    (root / "etc" / "sub").mkdir()
    with pytest.raises(S.UnsafePath, match="is a directory"):
        S.symlink(root, "etc/sub", "x", replace=True)
    with pytest.raises(FileExistsError):
        S.symlink(root, "etc/rc.local", "other")  # without replace, an existing name stays


def test_pinned_names_the_checked_directory_even_after_the_path_is_swapped(tmp_path):
    root = tmp_path / "root"
    (root / "mnt" / "data").mkdir(parents=True)
    (tmp_path / "host").mkdir()
    inode = (root / "mnt" / "data").stat().st_ino
    with S.pinned(root, "/mnt/data") as held:
        assert held.startswith(f"/proc/{os.getpid()}/fd/")
        # the jail's root swaps the checked path for a link to the host, after the check
        os.rename(root / "mnt", root / "mnt.real")
        (root / "mnt").symlink_to(tmp_path / "host")
        assert os.stat(held).st_ino == inode  # still the directory that was checked
        assert not (root / "mnt" / "data").exists()  # by its path, it is gone
    with pytest.raises(OSError):
        os.stat(held)  # let go when the block ends


def test_pinned_refuses_links_and_the_wrong_kind(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "file").write_text("x")
    (root / "link").symlink_to(tmp_path)
    for rel, kind, why in (("/link", "dir", "symlink"), ("/etc/file", "dir", "not a directory"),
                           ("/etc", "file", "is a directory"), ("/link/x", "dir", "symlink"),
                           ("/nope", "dir", "does not exist")):
        with pytest.raises(S.UnsafePath, match=why):
            with S.pinned(root, rel, kind=kind):
                pass
