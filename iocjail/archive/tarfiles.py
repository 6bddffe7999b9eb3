"""iocage's other export container, `export -c lzma`: the same stream files in a `.tar.xz`.

Read only (iocjail writes zip). Every member must be a plain file: a link, a device or a
directory is refused, like any name the zip reader would refuse (members.plan). The member
sizes in the tar headers bound what is read, as a zip's declared sizes do; xz's own block checks
catch damaged data. Listing the members decompresses the archive once before any is read.
"""

from __future__ import annotations

import lzma
import tarfile
import zlib
from collections.abc import Callable
from typing import IO

from iocjail.archive.members import STORED, Entry, UnsafeArchive
from iocjail.archive.opened import OpenedArchive

CHUNK = 1 << 20
_ERRORS = (tarfile.TarError, lzma.LZMAError, EOFError, zlib.error)

Advance = Callable[[int], None]


class TarReader:
    def __init__(self, archive: OpenedArchive) -> None:
        self.path = archive.path
        self._file = archive.fileobj()
        try:
            self._tar = tarfile.open(fileobj=self._file, mode="r:xz")
        except _ERRORS as err:
            self._file.close()
            raise UnsafeArchive(str(self.path), f"not a readable tar.xz archive ({err})") from None
        self._members: dict[str, tarfile.TarInfo] = {}

    def close(self) -> None:
        self._tar.close()
        self._file.close()

    def entries(self) -> list[Entry]:
        try:
            members = self._tar.getmembers()
        except _ERRORS as err:
            raise UnsafeArchive(str(self.path), f"not a readable tar.xz archive ({err})") from None
        out = []
        for member in members:
            if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or member.issparse():
                raise UnsafeArchive(str(self.path), f"member {member.name!r} is not a plain file")
            self._members.setdefault(member.name, member)
            out.append(Entry(member.name, member.size, member.size, STORED))
        return out

    def copy(self, name: str, dest: IO[bytes], advance: Advance | None = None) -> int:
        member = self._members[name]  # entries() first: only checked members are read
        copied = 0
        try:
            source = self._tar.extractfile(member)
            assert source is not None  # a regular file always has data
            with source:
                while chunk := source.read(CHUNK):
                    dest.write(chunk)
                    copied += len(chunk)
                    if advance is not None:
                        advance(len(chunk))
        except _ERRORS as err:
            raise UnsafeArchive(str(self.path), f"member {name!r} is damaged ({err})") from None
        if copied != member.size:
            raise UnsafeArchive(str(self.path), f"member {name!r} is short ({copied} of {member.size} bytes)")
        return copied
