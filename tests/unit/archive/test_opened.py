"""The archive opened once: its checksum, its members read from that open file, changes noticed."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import threading
import zipfile

import pytest

from iocjail.archive.opened import BLOCK, ArchiveChanged, OpenedArchive
from iocjail.archive.zipfiles import Reader
from iocjail.errors import NotFound

DATA = os.urandom(2 * BLOCK + 12345)  # more than one block, not a multiple of it


def test_sha256_reads_every_block_in_order_and_reports_progress(tmp_path):
    path = tmp_path / "a.zip"
    path.write_bytes(DATA)
    seen: list[int] = []
    with OpenedArchive(path) as archive:
        assert archive.size == len(DATA)
        assert archive.sha256(seen.append) == hashlib.sha256(DATA).hexdigest()
        assert archive.sha256(readers=1, window=1) == hashlib.sha256(DATA).hexdigest()
    assert sum(seen) == len(DATA) and len(seen) == 3
    (tmp_path / "empty").write_bytes(b"")
    with OpenedArchive(tmp_path / "empty") as empty:
        assert empty.sha256() == hashlib.sha256(b"").hexdigest()


def test_missing_paths_and_directories_are_not_archives(tmp_path):
    with pytest.raises(NotFound, match="no such archive"):
        OpenedArchive(tmp_path / "missing.zip")
    with pytest.raises(NotFound, match="not a regular file"):
        OpenedArchive(tmp_path)


def test_what_is_read_is_the_file_that_was_opened_not_what_the_path_names_later(tmp_path):
    path = tmp_path / "a.zip"
    path.write_bytes(DATA)
    with OpenedArchive(path) as archive:
        other = tmp_path / "other"
        other.write_bytes(b"x" * len(DATA))
        os.replace(other, path)  # swapped in after the open: a check-then-reopen would read this
        assert archive.sha256() == hashlib.sha256(DATA).hexdigest()
        out = io.BytesIO()
        assert archive.copy_span(100, 1000, out) == 1000 and out.getvalue() == DATA[100:1100]


def test_a_file_that_grows_or_shrinks_while_read_is_refused(tmp_path):
    path = tmp_path / "a.zip"
    path.write_bytes(DATA)
    with OpenedArchive(path) as archive:
        with path.open("ab") as more:
            more.write(b"tail")
        with pytest.raises(ArchiveChanged, match="it grew while it was read"):
            archive.sha256()
    with OpenedArchive(path) as archive:
        os.truncate(path, BLOCK)
        with pytest.raises(ArchiveChanged, match="it shrank while it was read"):
            archive.sha256()
        with pytest.raises(ArchiveChanged, match="ended"):
            archive.copy_span(BLOCK - 10, 20, io.BytesIO())


def _drain(fd: int, into: bytearray) -> None:
    while chunk := os.read(fd, 1 << 16):
        into.extend(chunk)


def _copy_to_pipe(archive: OpenedArchive, offset: int, length: int, seen: list[int]) -> bytes:
    read_end, write_end = os.pipe()
    got = bytearray()
    reader = threading.Thread(target=_drain, args=(read_end, got))
    reader.start()
    try:
        with os.fdopen(write_end, "wb") as dest:
            assert archive.copy_span(offset, length, dest, seen.append) == length
    finally:
        reader.join()
        os.close(read_end)
    return bytes(got)


@pytest.mark.parametrize("how", ["splice", "no splice", "splice refused", "file object"])
def test_copy_span_gives_the_same_bytes_however_it_copies(tmp_path, how, mocker, monkeypatch):
    """splice(2) into a pipe on Linux; by hand where there is none (FreeBSD), where the file system
    refuses it, or into anything that is not a pipe."""
    path = tmp_path / "a.zip"
    path.write_bytes(DATA)
    if how == "no splice":
        monkeypatch.delattr(os, "splice", raising=False)
    elif how == "splice refused":
        monkeypatch.setattr(os, "splice", mocker.Mock(side_effect=OSError(errno.EINVAL, "Invalid argument")),
                            raising=False)
    spliced = mocker.spy(os, "splice") if how == "splice" and hasattr(os, "splice") else None
    by_hand = mocker.spy(os, "preadv")
    seen: list[int] = []
    with OpenedArchive(path) as archive:
        if how == "file object":
            buffer = io.BytesIO()
            assert archive.copy_span(7, len(DATA) - 7, buffer, seen.append) == len(DATA) - 7
            out = buffer.getvalue()
        else:
            out = _copy_to_pipe(archive, 7, len(DATA) - 7, seen)
    assert out == DATA[7:] and sum(seen) == len(DATA) - 7
    if spliced is not None:
        assert spliced.call_count >= 3 and by_hand.call_count == 0  # the kernel copied all of it
    else:
        assert by_hand.call_count == 3  # a block at a time


def test_a_pipe_whose_reader_is_gone_raises_broken_pipe(tmp_path):
    path = tmp_path / "a.zip"
    path.write_bytes(DATA)
    read_end, write_end = os.pipe()
    os.close(read_end)  # zfs receive that stopped reading
    with OpenedArchive(path) as archive, os.fdopen(write_end, "wb") as dest:
        with pytest.raises(BrokenPipeError):
            archive.copy_span(0, len(DATA), dest)


def test_a_verified_stored_member_is_copied_from_the_open_file(tmp_path, mocker):
    path = tmp_path / "web_D.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("web_D", b"config")
        zf.writestr("web_D_root", DATA)
    with OpenedArchive(path) as archive:
        reader = Reader(archive)
        try:
            reader.entries()
            spans = mocker.spy(archive, "copy_span")
            out = io.BytesIO()
            assert reader.copy("web_D_root", out) == len(DATA) and out.getvalue() == DATA
            assert spans.call_count == 0  # not verified: read through zipfile, its CRC checked
            archive.verified = True
            out = io.BytesIO()
            assert reader.copy("web_D_root", out) == len(DATA) and out.getvalue() == DATA
            assert reader.copy("web_D", io.BytesIO()) == len(b"config")
            assert spans.call_count == 2
        finally:
            reader.close()


def test_short_reads_are_read_on_not_taken_for_a_shrunk_file(tmp_path, monkeypatch):
    path = tmp_path / "a.zip"
    path.write_bytes(DATA)
    real = os.preadv

    def short(fd, buffers, offset):  # type: ignore[no-untyped-def]
        view = buffers[0]
        return real(fd, [view[: max(1, len(view) // 3)]], offset)  # a third at most, as a FUSE daemon may

    monkeypatch.setattr(os, "preadv", short)
    with OpenedArchive(path) as archive:
        assert archive.sha256() == hashlib.sha256(DATA).hexdigest()
