"""The tar adapter: member listing (tarfile) and extraction with the system tar."""

from __future__ import annotations

import os

import pytest

from iocjail.platform import tar
from tests.support.mirror import RELEASES_PATH, tar_xz


def test_members_of_the_tiny_release(mirror_tree):
    archive = mirror_tree / RELEASES_PATH / "13.2-RELEASE" / "base.txz"
    members = {m.name: m for m in tar.members(archive)}
    assert members["./bin/busybox"].kind == "file"
    assert members["./bin/sh"] == tar.Member("./bin/sh", "symlink", "busybox")
    assert members["./etc"].kind == "dir"


def test_members_keep_names_a_real_tar_would_refuse(tmp_path):
    archive = tmp_path / "evil.txz"
    archive.write_bytes(tar_xz([("./ok", b"x", ""), ("../escape", b"y", ""), ("./l", None, "/etc")]))
    assert [(m.name, m.kind) for m in tar.members(archive)] == [
        ("./ok", "file"), ("../escape", "file"), ("./l", "symlink")]


def test_a_broken_archive_is_a_clear_error(tmp_path):
    archive = tmp_path / "base.txz"
    archive.write_bytes(b"\xfd7zXZ\0 garbage")
    with pytest.raises(tar.BadArchive) as err:
        list(tar.members(archive))
    assert str(err.value).startswith("base.txz: not a readable archive: ")


def test_extract_keeps_modes_and_symlinks(mirror_tree, tmp_path):
    archive = mirror_tree / RELEASES_PATH / "13.2-RELEASE" / "base.txz"
    tar.extract(archive, tmp_path)
    assert os.readlink(tmp_path / "bin" / "sh") == "busybox"
    assert os.stat(tmp_path / "tmp").st_mode & 0o7777 == 0o1777
    assert os.access(tmp_path / "bin" / "busybox", os.X_OK)


def test_extract_failure_names_the_archive(tmp_path):
    archive = tmp_path / "base.txz"
    archive.write_bytes(b"not an archive")
    with pytest.raises(tar.ExtractFailed) as err:
        tar.extract(archive, tmp_path)
    assert str(err.value).startswith("extracting base.txz failed: ")
    assert tar.extract_argv(archive, tmp_path) == ["tar", "-x", "-p", "--numeric-owner", "-f", str(archive),
                                                   "-C", str(tmp_path)]
