"""Host-side access to paths inside a jail's root that never follows a link the jail planted.

The jail's root user owns everything under ROOT: `/etc/resolv.conf` may be a symlink to
`/../../../etc/passwd`, `/etc` itself may point at the host's `/etc`. Every function here walks the
path one component at a time from ROOT with `O_NOFOLLOW`, refuses `..`, symlinks and anything not a
directory on the way, and acts on the last component relative to its parent's descriptor:

* `write_file` creates a temporary file in the parent and renames it over the name, so a symlink
  (or anything else) at the name is replaced, never followed;
* `resolve` checks a mount target (every component a real directory) and returns its path;
* `pinned` holds the checked target open and names it by its descriptor (`/proc/PID/fd/N`), so a
  mount lands on that very directory even if the running jail swaps a path component for a
  symlink between the check and the mount;
* `read_file`, `mkdir`, `mknod`, `symlink`, `exists`, `empty_dir` likewise; `read_text` and
  `write_text` are the whole-file forms services use for config files in a jail (text, None
  where the file is missing or not a plain file, parents made on writing).
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
    """``args`` = (root, path inside the root, why)."""

    template = "refusing {1} in the jail root {0}: {2}"


def parts_of(rel: str) -> list[str]:
    """The components of a path inside the root (leading `/` allowed); `..` and `.` refused."""
    parts = [p for p in str(rel).split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise ValueError(f"{rel!r}: '.' and '..' are not allowed")
    return parts


@contextmanager
def _dir_fd(root: Path, parts: list[str], rel: str, *, create: bool = False) -> Iterator[int]:
    """A descriptor of ROOT/parts..., every component a real directory (no symlink)."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for index, part in enumerate(parts):
            try:
                nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise UnsafePath(root, rel, f"/{'/'.join(parts[:index + 1])} does not exist") from None
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass  # made meanwhile: the open below checks what it is
                nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as err:
                if err.errno in (errno.ELOOP, errno.ENOTDIR):
                    what = "a symlink" if _is_link(fd, part) else "not a directory"
                    raise UnsafePath(root, rel, f"/{'/'.join(parts[:index + 1])} is {what}") from None
                raise
            os.close(fd)
            fd = nfd
        yield fd
    finally:
        os.close(fd)


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def _split(rel: str) -> tuple[list[str], str]:
    parts = parts_of(rel)
    if not parts:
        raise ValueError("the jail root itself is not a file")
    return parts[:-1], parts[-1]


def resolve(root: Path, rel: str, *, kind: str = "dir") -> Path:
    """ROOT/rel after checking every component: real directories, the last one of `kind`
    (`dir`, `file` or `any`, never a symlink); raises UnsafePath otherwise. For mount targets."""
    parents, name = _split(rel)
    with _dir_fd(root, parents, rel) as fd:
        try:
            st = os.lstat(name, dir_fd=fd)
        except FileNotFoundError:
            raise UnsafePath(root, rel, "it does not exist") from None
    _check_kind(root, rel, st.st_mode, kind)
    return Path(root, *parents, name)


def _check_kind(root: Path, rel: str, mode: int, kind: str) -> None:
    """Never a symlink; a directory for `dir`, anything else for `file`, either for `any`."""
    if stat.S_ISLNK(mode):
        raise UnsafePath(root, rel, "it is a symlink")
    if kind == "dir" and not stat.S_ISDIR(mode):
        raise UnsafePath(root, rel, "it is not a directory")
    if kind == "file" and stat.S_ISDIR(mode):
        raise UnsafePath(root, rel, "it is a directory")


@contextmanager
def pinned(root: Path, rel: str, *, kind: str = "dir") -> Iterator[str]:
    """ROOT/rel checked as `resolve` does and held open (O_PATH) while the block runs; yields
    `/proc/PID/fd/N`, which names that inode whatever happens to the path meanwhile. Give it to
    mount(8) with `--no-canonicalize` (else mount resolves it back into a path)."""
    parents, name = _split(rel)
    with _dir_fd(root, parents, rel) as parent:
        try:
            fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        except FileNotFoundError:
            raise UnsafePath(root, rel, "it does not exist") from None
    try:
        _check_kind(root, rel, os.fstat(fd).st_mode, kind)
        yield f"/proc/{os.getpid()}/fd/{fd}"
    finally:
        os.close(fd)


def write_file(root: Path, rel: str, data: bytes, mode: int = 0o644, *, parents: bool = False,
               sync: bool = False) -> None:
    """Replace ROOT/rel with `data`: a symlink at the name is replaced, never followed.
    `parents` makes missing directories on the way; `sync` fsyncs the data before the rename."""
    dirs, name = _split(rel)
    with _dir_fd(root, dirs, rel, create=parents) as fd:
        try:
            if stat.S_ISDIR(os.lstat(name, dir_fd=fd).st_mode):
                raise UnsafePath(root, rel, "it is a directory")
        except FileNotFoundError:
            pass
        tmp = f".{name}.iocjail-{secrets.token_hex(4)}"
        wfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=fd)
        try:
            os.fchmod(wfd, mode)  # the umask cut the mode given to open
            with os.fdopen(wfd, "wb") as handle:
                handle.write(data)
                if sync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=fd)
            except OSError:
                pass
            raise


def read_file(root: Path, rel: str, limit: int | None = None) -> bytes | None:
    """ROOT/rel's content (its first `limit` bytes), None if it does not exist; a symlink
    anywhere, or anything but a regular file at the name (a FIFO would hang the reader), is
    refused. Opened non-blocking so that such a file is seen before any read."""
    parents, name = _split(rel)
    try:
        with _dir_fd(root, parents, rel) as fd:
            rfd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=fd)
    except FileNotFoundError:
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UnsafePath(root, rel, "it is a symlink") from None
        raise
    if not stat.S_ISREG(os.fstat(rfd).st_mode):
        os.close(rfd)
        raise UnsafePath(root, rel, "it is not a regular file")
    with os.fdopen(rfd, "rb") as handle:
        return handle.read() if limit is None else handle.read(limit)


def read_text(root: Path, rel: str, limit: int = 1 << 20) -> str | None:
    """ROOT/rel as text (its first `limit` bytes), or None when it is missing, behind or at a
    symlink, or not a regular file: for files a jail may have made anything of."""
    try:
        data = read_file(root, rel, limit)
    except UnsafePath:
        return None
    return None if data is None else data.decode("utf-8", errors="replace")


def write_text(root: Path, rel: str, text: str, mode: int = 0o644, *, sync: bool = True) -> None:
    """Atomically (re)place ROOT/rel, missing directories made. `sync=False` skips the fsync,
    for files of a jail still being made (a crash loses the whole jail anyway)."""
    write_file(root, rel, text.encode(), mode, parents=True, sync=sync)


def exists(root: Path, rel: str) -> bool:
    """True if ROOT/rel exists as anything (a symlink counts: it is the jail's own file)."""
    parents, name = _split(rel)
    try:
        with _dir_fd(root, parents, rel) as fd:
            os.lstat(name, dir_fd=fd)
    except (FileNotFoundError, UnsafePath):
        return False
    return True


def empty_dir(root: Path, rel: str) -> None:
    """Make ROOT/rel an empty directory: whatever is there (tree, file or symlink) goes first.
    A symlink is removed as a link; nothing outside ROOT is ever touched (fd-based rmtree)."""
    parents, name = _split(rel)
    with _dir_fd(root, parents, rel, create=True) as fd:
        try:
            st = os.lstat(name, dir_fd=fd)
        except FileNotFoundError:
            st = None
        if st is not None:
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(name, dir_fd=fd)
            else:
                os.unlink(name, dir_fd=fd)
        os.mkdir(name, 0o755, dir_fd=fd)


def mkdir(root: Path, rel: str, mode: int = 0o755) -> None:
    parents, name = _split(rel)
    with _dir_fd(root, parents, rel) as fd:
        try:
            os.mkdir(name, mode, dir_fd=fd)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(name, dir_fd=fd).st_mode):
                raise UnsafePath(root, rel, "it exists and is not a directory") from None


def mknod(root: Path, rel: str, mode: int, major: int, minor: int) -> None:
    """A character device node (in the tmpfs iocjail mounted on ROOT/dev)."""
    parents, name = _split(rel)
    with _dir_fd(root, parents, rel) as fd:
        os.mknod(name, stat.S_IFCHR | mode, os.makedev(major, minor), dir_fd=fd)
        os.chmod(name, mode, dir_fd=fd)  # mknod's mode is cut by the umask


def symlink(root: Path, rel: str, target: str, *, replace: bool = False) -> None:
    """ROOT/rel -> target; `replace`: made under a temporary name and renamed over whatever file
    or symlink is at the name (never followed), as write_file does."""
    parents, name = _split(rel)
    with _dir_fd(root, parents, rel) as fd:
        if not replace:
            os.symlink(target, name, dir_fd=fd)
            return
        try:
            if stat.S_ISDIR(os.lstat(name, dir_fd=fd).st_mode):
                raise UnsafePath(root, rel, "it is a directory")
        except FileNotFoundError:
            pass
        tmp = f".{name}.iocjail-{secrets.token_hex(4)}"
        os.symlink(target, tmp, dir_fd=fd)
        try:
            os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            os.unlink(tmp, dir_fd=fd)
            raise
