"""iocage's `export -c lzma` container: plain-file members read, anything else refused."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from iocjail.archive.members import UnsafeArchive
from iocjail.archive.opened import OpenedArchive
from iocjail.archive.tarfiles import TarReader

DATA = os.urandom(300_000)


def make(path: Path, *members: tarfile.TarInfo | tuple[str, bytes]) -> Path:
    with tarfile.open(path, "w:xz") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tar.addfile(info, io.BytesIO(member[1]))
    return path


def test_members_are_listed_and_copied(tmp_path):
    reader = TarReader(OpenedArchive(make(tmp_path / "a.tar.xz", ("web_D", b"cfg"), ("web_D_root", DATA))))
    try:
        assert [(e.name, e.file_size) for e in reader.entries()] == [("web_D", 3), ("web_D_root", len(DATA))]
        out, seen = io.BytesIO(), []
        assert reader.copy("web_D_root", out, seen.append) == len(DATA)
        assert out.getvalue() == DATA and sum(seen) == len(DATA)
    finally:
        reader.close()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE, tarfile.CHRTYPE])
def test_members_that_are_not_plain_files_are_refused(tmp_path, kind):
    odd = tarfile.TarInfo("web_D_root")
    odd.type, odd.linkname = kind, "/etc/shadow"
    reader = TarReader(OpenedArchive(make(tmp_path / "a.tar.xz", ("web_D", b"cfg"), odd)))
    try:
        with pytest.raises(UnsafeArchive, match="not a plain file"):
            reader.entries()
    finally:
        reader.close()


def test_damaged_and_foreign_archives_are_refused(tmp_path):
    path = make(tmp_path / "a.tar.xz", ("web_D", DATA))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchive):
        reader = TarReader(OpenedArchive(path))
        try:
            reader.entries()
            reader.copy("web_D", io.BytesIO())
        finally:
            reader.close()
    junk = tmp_path / "junk.tar.xz"
    junk.write_bytes(b"not xz")
    with pytest.raises(UnsafeArchive, match="not a readable tar.xz"):
        TarReader(OpenedArchive(junk))
