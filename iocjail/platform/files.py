"""Crash-safe file writes and advisory locks.

A config write is: temp file in the same directory, fsync, rename over the target, fsync the
directory. A crash leaves either the old or the new file, never a torn one.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
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


@contextmanager
def locked(lockfile: Path, what: str, timeout: float = 30.0) -> Iterator[None]:
    """Hold an exclusive fcntl lock on `lockfile`; wait up to `timeout` seconds, then fail clearly."""
    lockfile = Path(lockfile)
    lockfile.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lockfile, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockTimeout(what, lockfile) from err
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
