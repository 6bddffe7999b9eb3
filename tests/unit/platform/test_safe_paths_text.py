"""Whole files inside a jail root (read_text, write_text, exists, empty_dir) never follow a symlink
the jail planted (plain directories, no root)."""

from __future__ import annotations

import os

import pytest

from iocjail.platform import safe_paths


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root" / "etc").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    return tmp_path / "root"


def test_write_read_and_exists(root):
    safe_paths.write_text(root, "etc/hosts", "127.0.0.1 x\n")
    assert safe_paths.read_text(root, "etc/hosts") == "127.0.0.1 x\n"
    assert safe_paths.exists(root, "etc/hosts") and not safe_paths.exists(root, "etc/nope")
    safe_paths.write_text(root, "usr/local/etc/x.conf", "a", mode=0o600)  # parents made
    assert (root / "usr/local/etc/x.conf").read_text() == "a"
    assert oct((root / "usr/local/etc/x.conf").stat().st_mode & 0o777) == "0o600"
    assert sorted(os.listdir(root / "etc")) == ["hosts"]  # no temporary file left
    assert safe_paths.read_text(root, "etc/missing") is None


def test_a_symlinked_file_is_replaced_not_followed(root):
    target = root.parent / "outside" / "hosts"
    target.write_text("host's own\n")
    (root / "etc" / "hosts").symlink_to(target)
    assert safe_paths.read_text(root, "etc/hosts") is None  # never read through it either
    assert safe_paths.exists(root, "etc/hosts")  # but it is there: the jail's own rc.conf, say
    safe_paths.write_text(root, "etc/hosts", "jail\n")
    assert target.read_text() == "host's own\n"
    assert not (root / "etc" / "hosts").is_symlink() and (root / "etc" / "hosts").read_text() == "jail\n"


def test_a_symlinked_directory_is_refused(root):
    outside = root.parent / "outside"
    (root / "usr").symlink_to(outside)
    with pytest.raises(safe_paths.UnsafePath, match="refusing usr/local/x in the jail root .*: /usr is a symlink"):
        safe_paths.write_text(root, "usr/local/x", "a")
    with pytest.raises(safe_paths.UnsafePath):
        safe_paths.empty_dir(root, "usr/bin")
    assert list(outside.iterdir()) == []
    assert safe_paths.read_text(root, "usr/x") is None and not safe_paths.exists(root, "usr/x")
    (root / "file").write_text("x")
    with pytest.raises(safe_paths.UnsafePath, match="/file is not a directory"):
        safe_paths.write_text(root, "file/x", "a")


@pytest.mark.parametrize("bad", ["../x", "/etc/../../x", "", ".", "a/../b"])
def test_paths_must_stay_inside(root, bad):
    with pytest.raises(ValueError):
        safe_paths.write_text(root, bad, "a")


def test_empty_dir(root):
    (root / "bin").mkdir()
    (root / "bin" / "sh").write_text("x")
    (root / "bin" / "sub").mkdir()
    (root / "bin" / "sub" / "f").write_text("x")
    outside = root.parent / "outside"
    (outside / "keep").write_text("keep")
    (root / "bin" / "escape").symlink_to(outside)
    (root / "lib").symlink_to(outside)  # a symlinked base directory becomes a real, empty one
    for rel in ("bin", "lib", "usr/lib32"):
        safe_paths.empty_dir(root, rel)
        assert (root / rel).is_dir() and not (root / rel).is_symlink() and list((root / rel).iterdir()) == []
    assert (outside / "keep").read_text() == "keep"


def test_what_is_not_a_regular_file_is_never_read(root):
    """A FIFO planted at the name would block the host's reader for good."""
    os.mkfifo(root / "etc" / "passwd")
    (root / "etc" / "dir").mkdir()
    for rel in ("etc/passwd", "etc/dir"):
        assert safe_paths.read_text(root, rel) is None
        with pytest.raises(safe_paths.UnsafePath, match="it is not a regular file"):
            safe_paths.read_file(root, rel)
    (root / "etc" / "big").write_bytes(b"x" * 100)
    assert safe_paths.read_file(root, "etc/big", 10) == b"x" * 10
