"""The archive adapter: read an archive's member list, and extract with the system tar.

Members are read with Python's tarfile (exact names, types and link targets, whatever the
compression) so that they can be checked before anything is written; extraction is the
system tar's job (bsdtar on FreeBSD keeps file flags such as schg, which tarfile cannot).
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from iocjail.errors import CommandFailed, IocjailError, first_line
from iocjail.platform import shell


class BadArchive(IocjailError):
    template = "{}: not a readable archive: {}"


class ExtractFailed(IocjailError):
    template = "extracting {} failed: {}"


@dataclass(frozen=True)
class Member:
    name: str
    kind: str  # file, dir, symlink, hardlink, device, other
    linkname: str = ""


def _kind(info: tarfile.TarInfo) -> str:
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    if info.isdir():
        return "dir"
    if info.isfile():
        return "file"
    if info.isdev():
        return "device"
    return "other"


def members(archive: Path) -> Iterator[Member]:
    """Every member of `archive` in order (streamed: a 1 GB base.txz is never held in memory)."""
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for info in tar:
                yield Member(info.name, _kind(info), info.linkname)
    except (tarfile.TarError, EOFError, OSError) as err:  # lzma/zlib errors are OSError or EOFError
        raise BadArchive(archive.name, err) from err


def extract_argv(archive: Path, dest: Path) -> list[str]:
    """Keep permissions and numeric owners; both GNU tar and bsdtar refuse `..` and strip `/`
    by default, on top of the member check done before."""
    return ["tar", "-x", "-p", "--numeric-owner", "-f", str(archive), "-C", str(dest)]


def extract(archive: Path, dest: Path) -> None:
    try:
        shell.run(extract_argv(archive, dest))
    except CommandFailed as err:
        detail = first_line(err.stderr) or f"exit status {err.returncode}"
        raise ExtractFailed(archive.name, detail.removeprefix("tar: ")) from err
