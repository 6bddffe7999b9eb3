"""Streamed zip writing (hashed on the way, ZIP64, no seeking back) and the checks before reading."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import struct
import subprocess
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from iocjail.archive.members import UnsafeArchive
from iocjail.archive.opened import OpenedArchive
from iocjail.archive.zipfiles import Reader, Writer

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
PAYLOAD = bytes(range(256)) * 5000  # 1.2 MiB: more than one chunk


class Pipe(io.RawIOBase):
    """A source that cannot seek or tell its size, like `zfs send`'s stdout."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buf):  # type: ignore[no-untyped-def]
        chunk = self._data.read(min(len(buf), 70000))
        buf[: len(chunk)] = chunk
        return len(chunk)


def write(path: Path, compression: str, members: dict[str, bytes]) -> tuple[str, int]:
    writer = Writer(path, compression, NOW)
    seen: list[int] = []
    for name, data in members.items():
        assert writer.add(name, io.BufferedReader(Pipe(data)), seen.append) == len(data)
    assert sum(seen) == sum(map(len, members.values()))
    return writer.close()


@pytest.mark.parametrize("compression", ["store", "deflate"])
def test_streamed_archive_is_a_valid_zip64_zip_and_its_hash_is_the_files(tmp_path, compression):
    path = tmp_path / "web_2024-05-01.zip"
    members = {"iocage/images/web_2024-05-01": b"config" * 100, "iocage/images/web_2024-05-01_root": PAYLOAD}
    digest, size = write(path, compression, members)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest() == OpenedArchive(path).sha256()
    assert size == path.stat().st_size
    assert path.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert [i.filename for i in zf.infolist()] == list(members)
        for info in zf.infolist():
            assert info.flag_bits & 0x08  # sizes in a data descriptor: nothing was seeked back
            assert _local_extra_id(path, info.header_offset) == 0x0001  # ZIP64 local header: any size
            assert info.compress_type == (zipfile.ZIP_STORED if compression == "store" else zipfile.ZIP_DEFLATED)
            assert zf.read(info) == members[info.filename]
    if shutil.which("unzip"):
        assert subprocess.run(["unzip", "-tq", str(path)], capture_output=True).returncode == 0


def _local_extra_id(path: Path, offset: int) -> int:
    with path.open("rb") as raw:
        raw.seek(offset)
        header = raw.read(30)
        name_len, extra_len = struct.unpack("<2H", header[26:30])
        raw.seek(offset + 30 + name_len)
        return struct.unpack("<H", raw.read(2))[0] if extra_len else -1


def test_reader_copies_members_and_lists_entries(tmp_path):
    path = tmp_path / "a.zip"
    write(path, "deflate", {"web_D": PAYLOAD})
    reader = Reader(OpenedArchive(path))
    try:
        [entry] = reader.entries()
        assert (entry.name, entry.file_size, entry.method) == ("web_D", len(PAYLOAD), zipfile.ZIP_DEFLATED)
        out = io.BytesIO()
        assert reader.copy("web_D", out) == len(PAYLOAD) and out.getvalue() == PAYLOAD
    finally:
        reader.close()


def test_an_existing_file_is_never_overwritten_and_abort_removes_the_part(tmp_path):
    path = tmp_path / "a.zip"
    path.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        Writer(path, "store", NOW)
    assert path.read_bytes() == b"keep"
    other = tmp_path / "b.zip"
    writer = Writer(other, "store", NOW)
    writer.add("x", io.BytesIO(b"data"))
    writer.abort()
    assert not other.exists()


def test_not_a_zip_and_a_truncated_zip_are_refused(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK" + b"\0" * 100)
    with pytest.raises(UnsafeArchive, match="not a readable zip"):
        Reader(OpenedArchive(junk))
    good = tmp_path / "good.zip"
    write(good, "store", {"web_D": PAYLOAD})
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good.read_bytes()[: len(PAYLOAD) // 2])
    with pytest.raises(UnsafeArchive, match="not a readable zip"):
        Reader(OpenedArchive(cut))


def test_a_damaged_member_fails_its_read(tmp_path):
    path = tmp_path / "a.zip"
    write(path, "store", {"web_D": PAYLOAD})
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF  # inside the stored data: the CRC no longer matches
    path.write_bytes(bytes(data))
    reader = Reader(OpenedArchive(path))
    try:
        reader.entries()
        with pytest.raises(UnsafeArchive, match="damaged"):
            reader.copy("web_D", io.BytesIO())
    finally:
        reader.close()


def _raw_zip(local_name: bytes, data: bytes, central: list[tuple[bytes, int, int]], method: int = 0) -> bytes:
    """A zip built by hand: one local member, then central records (name, header offset, flags)."""
    crc = zlib.crc32(data)
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data), len(data),
                        len(local_name), 0) + local_name + data
    cd = b""
    for name, offset, flags in central:
        cd += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 0, crc, len(data), len(data),
                          len(name), 0, 0, 0, 0, 0, offset) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), len(cd), len(local), 0)
    return local + cd + end


def _entries(tmp_path: Path, raw: bytes):  # type: ignore[no-untyped-def]
    path = tmp_path / "x.zip"
    path.write_bytes(raw)
    reader = Reader(OpenedArchive(path))
    try:
        return reader.entries()
    finally:
        reader.close()


def test_hand_built_zip_reads(tmp_path):
    assert [e.name for e in _entries(tmp_path, _raw_zip(b"web_D", b"abc", [(b"web_D", 0, 0)]))] == ["web_D"]


def test_overlapping_members_are_refused_before_any_read(tmp_path):
    """Two directory entries sharing one member's data: the non-recursive zip bomb."""
    raw = _raw_zip(b"web_D", b"x" * 1000, [(b"web_D", 0, 0), (b"web_D", 0, 0)])
    with pytest.raises(UnsafeArchive, match="overlap"):
        _entries(tmp_path, raw)


def test_a_directory_entry_that_disagrees_with_the_local_header_is_refused(tmp_path):
    raw = _raw_zip(b"web_D", b"abc", [(b"web_D_root", 0, 0)])
    with pytest.raises(UnsafeArchive, match="named differently"):
        _entries(tmp_path, raw)


def test_encrypted_and_unknown_methods_are_refused(tmp_path):
    with pytest.raises(UnsafeArchive, match="encrypted"):
        _entries(tmp_path, _raw_zip(b"web_D", b"abc", [(b"web_D", 0, 1)]))
    path = tmp_path / "bz.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr("web_D", b"abc")
    reader = Reader(OpenedArchive(path))
    try:
        with pytest.raises(UnsafeArchive, match="compression method 12"):
            reader.entries()
    finally:
        reader.close()


def test_a_write_error_in_the_writer_thread_reaches_the_caller():
    from iocjail.archive.zipfiles import _HashingSink

    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data):  # type: ignore[no-untyped-def]
            raise OSError(28, "No space left on device")

    sink = _HashingSink(Full())  # type: ignore[arg-type]
    try:
        with pytest.raises(OSError, match="No space left"):
            for _ in range(100):  # the error shows at a later write, or at the latest at flush
                sink.write(b"x" * 1000)
            sink.flush()
    finally:
        sink.stop()
    assert not sink._thread.is_alive()
