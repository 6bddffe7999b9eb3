"""The archive being imported, opened once: what its sha256 is checked over is what is read.

Verifying by path and then opening the path again to read it would let a file put there in
between (an archive in a directory someone else can write) be imported unverified. So the file
is opened once; the checksum pass and the zip or tar reader all read that one descriptor.

Members of a verified archive are copied to their consumer (the pipe into `zfs receive`) by
`splice(2)` where the system has it: the bytes never pass through Python, and the receive runs at
the speed of `zfs receive < file`. Their zip CRC is not checked again: the archive's sha256 has
just covered every byte of them, CRC included, and zfs checks its stream's own checksums.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO

from iocjail.errors import IocjailError, NotFound

BLOCK = 4 << 20
Advance = Callable[[int], None]


class ArchiveChanged(IocjailError):
    """The file grew or shrank while it was read: not the archive that was listed or checked."""

    template = "{}: {} while it was read: refusing to import it"


class OpenedArchive:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NotFound(f"{path}: no such archive") from None
        st = os.fstat(self.fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(self.fd)
            raise NotFound(f"{path}: not a regular file")
        self.size = st.st_size
        self.verified = False  # set by the importer once sha256() matched the .sha256

    def __enter__(self) -> OpenedArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def fileobj(self) -> IO[bytes]:
        """A file object over a duplicate of the descriptor, for zipfile or tarfile. Duplicates
        share one file offset: one reader at a time (zipfile seeks before every read); the
        checksum pass and copy_span read at explicit offsets and never move it."""
        return os.fdopen(os.dup(self.fd), "rb")

    def sha256(self, advance: Advance | None = None, *, readers: int = 4, window: int = 8) -> str:
        """The file's sha256. Reads through FUSE (zfs-fuse) are slow one at a time and the daemon
        serves several at once, so `readers` threads read the next `window` blocks ahead, each
        into a buffer of its own that is reused, while this thread hashes them in order (both
        release the GIL): the pass costs about the hashing alone."""
        digest = hashlib.sha256()
        buffers = [bytearray(BLOCK) for _ in range(min(window, max(1, -(-self.size // BLOCK))))]
        with ThreadPoolExecutor(max_workers=readers, thread_name_prefix="sha256-read") as pool:
            pending: deque[tuple[Future[int], bytearray, int, int]] = deque()
            offset = 0

            def read_ahead(buffer: bytearray) -> None:
                nonlocal offset
                if offset < self.size:
                    want = min(BLOCK, self.size - offset)
                    pending.append((pool.submit(os.preadv, self.fd, [memoryview(buffer)[:want]], offset),
                                    buffer, offset, want))
                    offset += want

            for buffer in buffers:
                read_ahead(buffer)
            while pending:
                future, buffer, start, want = pending.popleft()
                got = future.result()
                while got < want:  # a short read is allowed; only the end of the file ends it
                    more = os.preadv(self.fd, [memoryview(buffer)[got:want]], start + got)
                    if more == 0:
                        raise ArchiveChanged(self.path, "it shrank")
                    got += more
                digest.update(memoryview(buffer)[:got])
                if advance is not None:
                    advance(got)
                read_ahead(buffer)
        if os.pread(self.fd, 1, self.size):
            raise ArchiveChanged(self.path, "it grew")
        return digest.hexdigest()

    def copy_span(self, offset: int, length: int, dest: IO[bytes], advance: Advance | None = None) -> int:
        """Bytes [offset, offset+length) of the file into `dest`: by splice(2) when `dest` is a
        pipe on Linux, else read and written a block at a time. A short file raises ArchiveChanged."""
        dest.flush()
        copied = _splice(self.fd, offset, length, dest, advance)
        if copied < length:
            buffer = bytearray(min(BLOCK, length - copied))
            while copied < length:
                view = memoryview(buffer)[: min(len(buffer), length - copied)]
                got = os.preadv(self.fd, [view], offset + copied)
                if got == 0:
                    break
                dest.write(view[:got])
                copied += got
                if advance is not None:
                    advance(got)
            dest.flush()
        if copied != length:
            raise ArchiveChanged(self.path, f"it ended {length - copied} bytes early")
        return copied


def _splice(fd: int, offset: int, length: int, dest: IO[bytes], advance: Advance | None) -> int:
    """What splice(2) could copy (0 where it cannot: no splice, `dest` not a pipe, a file system
    that refuses it); the caller copies the rest by hand."""
    splice = getattr(os, "splice", None)
    try:
        out = dest.fileno()
        if splice is None or not stat.S_ISFIFO(os.fstat(out).st_mode):
            return 0
    except (OSError, ValueError, AttributeError):
        return 0  # no descriptor (a BytesIO): copy by hand
    copied = 0
    while copied < length:
        try:
            got = splice(fd, out, min(BLOCK, length - copied), offset_src=offset + copied)
        except OSError as err:
            if err.errno in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP) and copied == 0:
                return 0
            raise
        if got == 0:
            break
        copied += got
        if advance is not None:
            advance(got)
    return copied
