"""Files inside a jail's root, reached without ever following a symlink.

The jail's own root user controls everything under ROOT: a planted `etc -> /etc` must not turn a
write of ROOT/etc/hosts into a write of the host's /etc/hosts. Every path is therefore walked one
component at a time from a directory descriptor of ROOT with O_NOFOLLOW, and anything that is not
a plain directory on the way (a symlink, a file, `..`) is refused. Writes are atomic (a temporary
file in the same directory, then a rename, which replaces a symlink instead of following it).
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from iocjail.errors import IocjailError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(IocjailError):
    template = "refusing {}: {} inside {} is {}"


def _parts(rel: str) -> list[str]:
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"not a plain relative path: {rel!r}")
    return parts


@contextmanager
def _opened(fd: int) -> Iterator[int]:
    try:
        yield fd
    finally:
        os.close(fd)


def _walk(root: Path, parts: list[str], create: bool, what: str) -> int:
    """A descriptor of ROOT/parts..., each component a real directory (made when `create`)."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for i, part in enumerate(parts):
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass  # made meanwhile: the open below checks what it is
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as err:
                if err.errno in (errno.ELOOP, errno.ENOTDIR):  # Linux says ENOTDIR for a symlink
                    link = stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode)
                    kind = "a symlink" if link else "not a directory"
                    raise UnsafePath(what, "/".join(parts[: i + 1]), root, kind) from None
                raise
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def exists(root: Path, rel: str) -> bool:
    """True if ROOT/rel exists as anything (a symlink counts: it is the jail's own file)."""
    parts = _parts(rel)
    try:
        with _opened(_walk(root, parts[:-1], False, f"to look at {rel}")) as fd:
            os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
    except (FileNotFoundError, UnsafePath):
        return False
    return True


def read_text(root: Path, rel: str, limit: int = 1 << 20) -> str | None:
    """ROOT/rel as text, or None when it is missing, a symlink or not a regular file."""
    parts = _parts(rel)
    try:
        with _opened(_walk(root, parts[:-1], False, f"to read {rel}")) as dfd:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dfd)
    except (FileNotFoundError, UnsafePath):
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            return None
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read(limit).decode("utf-8", errors="replace")


def write_text(root: Path, rel: str, text: str, mode: int = 0o644, *, sync: bool = True) -> None:
    """Atomically (re)place ROOT/rel; missing parent directories are made. `sync=False` skips
    the fsync, for files of a jail still being made (a crash loses the whole jail anyway)."""
    parts = _parts(rel)
    with _opened(_walk(root, parts[:-1], True, f"to write {rel}")) as dfd:
        tmp = f".{parts[-1]}.iocjail-{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dfd)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode())
                handle.flush()
                if sync:
                    os.fsync(handle.fileno())
                os.fchmod(handle.fileno(), mode)
            os.rename(tmp, parts[-1], src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except FileNotFoundError:
                pass
            raise


def empty_dir(root: Path, rel: str) -> None:
    """Make ROOT/rel an empty directory: whatever is there (tree, file or symlink) goes first.
    A symlink is removed as a link; nothing outside ROOT is ever touched (fd-based rmtree)."""
    parts = _parts(rel)
    with _opened(_walk(root, parts[:-1], True, f"to empty {rel}")) as dfd:
        try:
            st = os.stat(parts[-1], dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None:
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(parts[-1], dir_fd=dfd)
            else:
                os.unlink(parts[-1], dir_fd=dfd)
        os.mkdir(parts[-1], 0o755, dir_fd=dfd)
