"""Which archive members may be extracted into a release root. Pure.

The system tar extracts (bsdtar keeps FreeBSD file flags), but only after every member has been
checked here: no absolute names, no `..` component, no hard link pointing outside the archive,
and nothing stored below a member that is a symlink (a crafted archive's way of writing through
`etc -> /etc`). Symlink *targets* may be absolute: they resolve inside the jail at run time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from iocjail.errors import IocjailError

SYMLINK = "symlink"
HARDLINK = "hardlink"


class UnsafeMember(IocjailError):
    template = "{}: unsafe member {!r} ({}): refusing to extract"


class MemberLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def linkname(self) -> str: ...


@dataclass(frozen=True)
class Member:
    name: str
    kind: str = "file"  # file, dir, symlink, hardlink, device, fifo
    linkname: str = ""


def _parts(name: str) -> list[str]:
    return [p for p in name.split("/") if p not in ("", ".")]


def problem(name: str) -> str | None:
    """Why `name` may not be extracted, or None."""
    if "\0" in name:
        return "NUL in name"
    if name.startswith("/"):
        return "absolute path"
    if ".." in name.split("/"):
        return "'..' component"
    return None


def check(archive: str, members: Iterable[MemberLike]) -> int:
    """Raise UnsafeMember for the first bad member; return how many members were checked."""
    symlinks: set[str] = set()
    count = 0
    for member in members:
        count += 1
        why = problem(member.name)
        if why is None and member.kind == HARDLINK:
            why = problem(member.linkname)
            why = f"hard link target: {why}" if why else None
        parts = _parts(member.name)
        if why is None:
            for depth in range(1, len(parts)):
                if "/".join(parts[:depth]) in symlinks:
                    why = f"stored below symlink {'/'.join(parts[:depth])!r}"
                    break
        if why is not None:
            raise UnsafeMember(archive, member.name, why)
        if member.kind == SYMLINK and parts:
            symlinks.add("/".join(parts))
        elif parts:
            symlinks.discard("/".join(parts))  # a later member replaced the symlink
    return count
