"""Zip archives as streams: written once, front to back, hashed on the way; read with checks first.

Writing: members of unknown size (a `zfs send` running) go through `ZipFile.open(…, "w",
force_zip64=True)` into a writer that hashes what it passes on and cannot seek. zipfile then
puts each member's CRC and sizes in a ZIP64 data descriptor after its data instead of seeking
back, so the bytes hashed are the bytes of the file and no second pass is needed for `.sha256`.

Reading: before any member is read, `entries()` checks what zipfile only notices while reading:
encrypted members, methods other than store/deflate, local headers that disagree with the
central directory, and members whose data overlap (the non-recursive zip bomb).
"""

from __future__ import annotations

import hashlib
import os
import queue
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

from iocjail.archive.members import DEFLATED, STORED, Entry, UnsafeArchive
from iocjail.archive.opened import OpenedArchive

CHUNK = 1 << 20
COMPRESSION = {"store": zipfile.ZIP_STORED, "deflate": zipfile.ZIP_DEFLATED}
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile's structFileHeader
_LOCAL_MAGIC = b"PK\x03\x04"

Advance = Callable[[int], None]


def _pump(source: IO[bytes], dest: IO[bytes], advance: Advance | None) -> int:
    """Copy `source` to its end into `dest` in CHUNKs, telling `advance`; the bytes copied."""
    copied = 0
    while chunk := source.read(CHUNK):
        dest.write(chunk)
        copied += len(chunk)
        if advance is not None:
            advance(len(chunk))
    return copied


class _HashingSink:
    """Write-only and unseekable on purpose (see the module doc): hash, count, pass on.

    Hashing and writing run in a thread of their own (both release the GIL), so the disk write
    of one chunk overlaps the read and CRC of the next: export then runs near the speed of
    `zfs send > file`. `flush()` waits for what is queued and raises the thread's error.
    """

    def __init__(self, handle: IO[bytes], depth: int = 8) -> None:
        self._handle = handle
        self._hash = hashlib.sha256()
        self.size = 0
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="zip-writer", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            data = self._queue.get()
            try:
                if data is None:
                    return
                if self._error is None:
                    self._hash.update(data)
                    self._handle.write(data)
            except BaseException as err:  # handed to the writer's thread at its next call
                self._error = err
            finally:
                self._queue.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, data: bytes) -> int:
        self._raise()
        self._queue.put(bytes(data))  # a copy: zipfile may reuse a buffer it hands over
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self._queue.join()
        self._raise()
        self._handle.flush()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def close(self) -> None:
        pass  # the Writer closes the file, after syncing it

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class Writer:
    """An archive being written to `path` (created, never overwritten)."""

    def __init__(self, path: Path, compression: str, now: datetime) -> None:
        if compression not in COMPRESSION:
            raise ValueError(f"unknown compression {compression!r}")
        self.path = path
        self._method = COMPRESSION[compression]
        self._stamp = now.timetuple()[:6]
        # 0600: the streams hold the jail's whole tree, its password hashes and keys included
        self._file = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), "wb")
        self._sink = _HashingSink(self._file)
        self._zip = zipfile.ZipFile(self._sink, "w", compression=self._method, allowZip64=True)

    def add(self, name: str, source: IO[bytes], advance: Advance | None = None) -> int:
        """Copy `source` to its end into member `name`; returns the bytes copied."""
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = self._method
        info.external_attr = 0o600 << 16  # a stream of root's data: root's alone, as a file
        with self._zip.open(info, "w", force_zip64=True) as dest:
            return _pump(source, dest, advance)

    def close(self) -> tuple[str, int]:
        """Finish the central directory, sync, and return (sha256 hex, size)."""
        try:
            self._zip.close()
            self._sink.flush()
        finally:
            self._sink.stop()
        os.fsync(self._file.fileno())
        self._file.close()
        return self._sink.hexdigest(), self._sink.size

    def abort(self) -> None:
        """Drop the partial archive (the zip is not finished: its half file goes)."""
        try:
            try:
                self._zip.close()  # else its finalizer writes to the closed file later
            except Exception:  # noqa: BLE001 - the archive is being dropped anyway
                pass
            self._sink.stop()
            self._file.close()
        finally:
            self.path.unlink(missing_ok=True)


class Reader:
    """An archive open for import. `entries()` first: it refuses what must not be read."""

    def __init__(self, archive: OpenedArchive) -> None:
        self.path = archive.path
        self._archive = archive
        self._file = archive.fileobj()
        try:
            self._zip = zipfile.ZipFile(self._file, "r")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as err:
            self._file.close()
            raise UnsafeArchive(str(self.path), f"not a readable zip archive ({err})") from None
        self._data: dict[str, tuple[int, int]] = {}  # stored member -> (offset of its data, size)

    def close(self) -> None:
        self._zip.close()
        self._file.close()

    def entries(self) -> list[Entry]:
        infos = self._zip.infolist()
        end_of_data = getattr(self._zip, "start_dir", self._archive.size)
        spans: list[tuple[int, int, str]] = []
        with self._archive.fileobj() as raw:
            for info in infos:
                self._check_info(info)
                start, end = self._span(raw, info)
                if end > end_of_data:
                    raise UnsafeArchive(str(self.path), f"member {info.filename!r} runs past the end of the data")
                spans.append((start, end, info.filename))
                if info.compress_type == STORED:
                    self._data[info.filename] = (end - info.compress_size, info.compress_size)
        spans.sort()
        for (_, end, name), (start, _, other) in zip(spans, spans[1:]):
            if start < end:
                raise UnsafeArchive(str(self.path), f"members {name!r} and {other!r} overlap (zip bomb)")
        return [Entry(i.filename, i.file_size, i.compress_size, i.compress_type) for i in infos]

    def _check_info(self, info: zipfile.ZipInfo) -> None:
        if info.flag_bits & 0x1:
            raise UnsafeArchive(str(self.path), f"member {info.filename!r} is encrypted")
        if info.compress_type not in (STORED, DEFLATED):
            raise UnsafeArchive(str(self.path), f"member {info.filename!r} uses compression method "
                                                f"{info.compress_type} (only store and deflate are read)")

    def _span(self, raw: IO[bytes], info: zipfile.ZipInfo) -> tuple[int, int]:
        """Where the member's local header starts and its data ends, from the local header."""
        raw.seek(info.header_offset)
        header = raw.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_MAGIC:
            raise UnsafeArchive(str(self.path), f"member {info.filename!r} has no local header where the "
                                                "directory says")
        fields = _LOCAL_HEADER.unpack(header)
        name_len, extra_len = fields[10], fields[11]
        raw_name = raw.read(name_len)
        if raw_name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace"):
            raise UnsafeArchive(str(self.path), f"member {info.filename!r} is named differently in its local header")
        start = info.header_offset
        return start, start + _LOCAL_HEADER.size + name_len + extra_len + info.compress_size

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """The member's uncompressed bytes; a bad CRC or a short member raises UnsafeArchive."""
        try:
            with self._zip.open(name, "r") as member:
                yield member
        except (zipfile.BadZipFile, EOFError, zlib.error) as err:
            raise UnsafeArchive(str(self.path), f"member {name!r} is damaged ({err})") from None

    def copy(self, name: str, dest: IO[bytes], advance: Advance | None = None) -> int:
        """The member's bytes into `dest`. A stored member of a verified archive goes straight
        from the file (see archive/opened.py); any other is read through zipfile, its CRC checked."""
        span = self._data.get(name)
        if span is not None and self._archive.verified:
            return self._archive.copy_span(*span, dest, advance)
        with self.open(name) as member:
            return _pump(member, dest, advance)
