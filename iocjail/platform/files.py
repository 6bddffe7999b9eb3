"""Crash-safe file writes and advisory locks.

A config write is: temp file in the same directory, fsync, rename over the target, fsync the
directory. A crash leaves either the old or the new file, never a torn one.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from iocjail.errors import IocjailError


class LockTimeout(IocjailError):
    template = "{} is busy: another iocjail command holds its lock ({}); try again"
    exit_code = 75


def atomic_write(path: Path, data: bytes | str, mode: int = 0o644, *, durable: bool = True) -> None:
    """Write whole or not at all. `durable=False` skips the fsyncs, for files that do not outlive
    a reboot anyway (the runtime journals): still never torn, much cheaper."""
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as err:  # some FUSE filesystems refuse fsync on directories
        if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.ENOSYS):
            raise
    finally:
        os.close(fd)


class _Held:
    """One lock file as this process holds it: fcntl locks belong to the process (a second lock of
    the same file succeeds at once, and closing any descriptor of it drops them all), so threads and
    nested holders are counted here, and the file is locked once, by the outermost holder."""

    def __init__(self) -> None:
        self.owner = threading.RLock()  # excludes the other threads; the holding thread may nest
        self.depth = 0
        self.fd: int | None = None


_HELD: dict[str, _Held] = {}
_HELD_GUARD = threading.Lock()


@contextmanager
def locked(lockfile: Path, what: str, timeout: float = 30.0) -> Iterator[None]:
    """Hold an exclusive lock on `lockfile` against other processes and other threads; wait up to
    `timeout` seconds, then fail clearly. Re-entrant within a thread: a nested `locked` of the same
    file neither waits nor lets go of the outer one."""
    lockfile = Path(os.path.abspath(lockfile))
    with _HELD_GUARD:
        held = _HELD.setdefault(str(lockfile), _Held())
    deadline = time.monotonic() + timeout
    if not held.owner.acquire(timeout=max(timeout, 0)):
        raise LockTimeout(what, lockfile)
    try:
        if held.depth == 0:
            held.fd = _lock_file(lockfile, what, deadline)
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0 and held.fd is not None:
                os.close(held.fd)
                held.fd = None
    finally:
        held.owner.release()


def _lock_file(lockfile: Path, what: str, deadline: float) -> int:
    lockfile.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lockfile, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockTimeout(what, lockfile) from err
                time.sleep(0.05)
    except BaseException:
        os.close(fd)
        raise
