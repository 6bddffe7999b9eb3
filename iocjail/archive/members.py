"""iocage's export archive format: file and member names, and the datasets members map to. Pure.

iocage (`ioc_image.py`) sends each dataset of `jails/N` (or `templates/N`) on its own, as a full
stream of `@ioc-export-DATE`, into files `IOCROOT/images/N_DATE` (N itself) and
`IOCROOT/images/N_DATE_<child path with / as _>` (`N_DATE_root`), zips them with their absolute
paths minus the leading `/` as member names, and writes the archive's sha256 hex (no name, no
newline) to `N_DATE.sha256`. Its import splits the stem at the last `_` into N and DATE and maps a
member to N (the rest is DATE) or `N/<rest with _ read as />`.

iocjail writes exactly those names, so iocage can import its archives, and reads them by the same
rule anchored on the member's last path component (iocage's substring search misreads an iocroot
that contains `N_`). A member name is never used as a host path: it only selects a dataset, checked
component by component, and anything that is not one stream per dataset of one jail is refused,
as is an archive without the root's stream (iocage and iocjail always export `root`, a dataset; an
archive without it would leave the jail's `root` to whatever its own stream holds, a symlink too).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from iocjail.errors import IocjailError, UsageError

SNAPSHOT_PREFIX = "ioc-export-"
MAX_MEMBERS = 256  # a jail has a handful of datasets; thousands of members is not an export
MAX_REL = 200  # dataset path below the jail: ZFS names stop at 255 characters in all
# Deflate cannot expand more than 1032:1; a member declaring more is lying about its size.
MAX_DEFLATE_RATIO = 1032
_COMPONENT_RE = re.compile(r"^[A-Za-z0-9.:-]+$")  # no `_`: iocage's names read it as `/`
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
STORED, DEFLATED = 0, 8  # zip compression methods


class UnsafeArchive(IocjailError):
    """``args`` = (archive, why): refused before (or instead of) changing anything."""

    template = "{}: {}: refusing to import it"


class NotExportable(UsageError):
    template = "cannot export {}: {}"


@dataclass(frozen=True)
class Entry:
    """What the import needs to know about one archive member, whatever the container."""

    name: str
    file_size: int  # declared uncompressed size
    compress_size: int
    method: int = STORED


@dataclass(frozen=True)
class Planned:
    member: str
    rel: str  # dataset path below the jail's dataset; "" for the jail's own
    size: int


# -- names -----------------------------------------------------------------------------------

def date_of(now: datetime) -> str:
    """iocage's date in archive names: the UTC day, `YYYY-MM-DD`."""
    return now.astimezone(timezone.utc).strftime("%Y-%m-%d")


def snapshot_name(date: str) -> str:
    return f"{SNAPSHOT_PREFIX}{date}"


def stem(name: str, date: str) -> str:
    return f"{name}_{date}"


def split_stem(stem_: str) -> tuple[str, str]:
    """`web_2024-05-01` -> (`web`, `2024-05-01`), as iocage splits it (at the last `_`)."""
    name, sep, date = stem_.rpartition("_")
    if not sep or not name or not date:
        raise UsageError(f"{stem_!r} is not an export archive name (NAME_YYYY-MM-DD.zip)")
    return name, date


def member_name(iocroot: str, stem_: str, rel: str) -> str:
    """The member name iocage gives the stream of dataset `rel` (`""` for the jail itself)."""
    base = posixpath.normpath("/" + iocroot.strip("/") + "/images").lstrip("/")
    return f"{base}/{stem_}" + (f"_{rel.replace('/', '_')}" if rel else "")


def check_exportable(jail: str, rels: Iterable[str]) -> None:
    """Children whose names iocage's format cannot carry (a `_` comes back as `/`)."""
    for rel in rels:
        if rel and "_" in rel:
            raise NotExportable(jail, f"its dataset {rel!r} has a '_' in its name, which an iocage archive "
                                      "reads back as '/' (rename the dataset)")


def format_checksum(hexdigest: str) -> str:
    return hexdigest  # iocage: the hex alone, no file name, no newline


def parse_checksum(text: str, where: str) -> str:
    """The hex digest of a `.sha256` file: iocage's bare hex, or `sha256sum`/`sha256 -r` lines."""
    words = text.split()
    if not words or not _SHA256_RE.match(words[0]):
        raise UsageError(f"{where} does not hold a sha256 checksum")
    return words[0].lower()


# -- members -> datasets ---------------------------------------------------------------------

def _name_problem(name: str) -> str | None:
    if not name or "\0" in name or "\\" in name:
        return "not a plain member name"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute name"
    if ".." in name.split("/"):
        return "'..' in its name"
    if name.endswith("/"):
        return "a directory, not a stream"
    return None


def _rel_problem(rel: str) -> str | None:
    if len(rel) > MAX_REL:
        return "dataset path too long"
    for part in rel.split("/"):
        if part in ("", ".", "..") or not _COMPONENT_RE.match(part):
            return f"no dataset can be called {part!r}"
    return None


def rel_of(member: str, stem_: str) -> str | None:
    """The dataset path a well-formed member maps to ("" = the jail), None if it maps to none."""
    base = member.rpartition("/")[2]
    if not base.startswith(stem_):
        return None
    rest = base[len(stem_):]
    if rest == "":
        return ""
    if not rest.startswith("_"):
        return None
    return rest[1:].replace("_", "/")


def plan(archive: str, name: str, date: str, entries: Sequence[Entry]) -> tuple[Planned, ...]:
    """Every member mapped to its dataset, parents first; UnsafeArchive for anything else."""
    if not entries:
        raise UnsafeArchive(archive, "it holds no member")
    if len(entries) > MAX_MEMBERS:
        raise UnsafeArchive(archive, f"{len(entries)} members: an export holds one per dataset")
    stem_ = stem(name, date)
    directories = set()
    by_rel: dict[str, Planned] = {}
    for entry in entries:
        why = _name_problem(entry.name)
        if why is not None:
            raise UnsafeArchive(archive, f"member {entry.name!r}: {why}")
        directory = entry.name.rpartition("/")[0]
        if directory and directory != "images" and not directory.endswith("/images"):
            raise UnsafeArchive(archive, f"unexpected member {entry.name!r} (not an images/ stream)")
        directories.add(directory)
        rel = rel_of(entry.name, stem_)
        if rel is None:
            raise UnsafeArchive(archive, f"unexpected member {entry.name!r} (not a stream of {stem_})")
        if rel and (why := _rel_problem(rel)) is not None:
            raise UnsafeArchive(archive, f"member {entry.name!r}: {why}")
        if rel in by_rel:
            raise UnsafeArchive(archive, f"duplicate dataset {_label(name, rel)!r} "
                                         f"({by_rel[rel].member!r} and {entry.name!r})")
        by_rel[rel] = Planned(entry.name, rel, entry.file_size)
    if len(directories) > 1:
        raise UnsafeArchive(archive, f"members from several directories ({', '.join(sorted(directories))})")
    if "" not in by_rel:
        raise UnsafeArchive(archive, f"no stream of the jail itself ({stem_})")
    for rel in by_rel:
        parent = rel.rpartition("/")[0]
        if rel and parent not in by_rel:
            raise UnsafeArchive(archive, f"unexpected member {by_rel[rel].member!r} "
                                         f"(its parent dataset {_label(name, parent)!r} is not in the archive)")
    if "root" not in by_rel:  # else its `root` is whatever the jail's stream holds: a link anywhere
        raise UnsafeArchive(archive, f"no stream of the jail's root ({stem_}_root): every export holds one")
    order = sorted(by_rel.values(), key=lambda p: (p.rel.count("/") + bool(p.rel), p.rel))
    return tuple(order)


def _label(name: str, rel: str) -> str:
    return f"{name}/{rel}" if rel else name


def source_iocroot(entries: Sequence[Planned]) -> str | None:
    """The exporting host's iocroot, read from the members' directory (None if they have none)."""
    directory = entries[0].member.rpartition("/")[0] if entries else ""
    if not directory:
        return None
    return "/" + directory[: -len("images")].rstrip("/") if directory != "images" else None


def check_sizes(archive: str, entries: Sequence[Entry], available: int) -> int:
    """Refuse zip bombs: sizes a member cannot have, or more data than the pool can hold.

    The reader never yields more than a member's declared size, so the declared total bounds
    what an import can write. Returns that total.
    """
    total = 0
    for entry in entries:
        if entry.method == STORED and entry.file_size != entry.compress_size:
            raise UnsafeArchive(archive, f"member {entry.name!r} is stored but declares "
                                         f"{entry.file_size} bytes for {entry.compress_size}")
        if entry.method == DEFLATED and entry.file_size > MAX_DEFLATE_RATIO * entry.compress_size + 1024:
            raise UnsafeArchive(archive, f"member {entry.name!r} declares {entry.file_size} bytes from "
                                         f"{entry.compress_size} compressed: more than deflate can expand (zip bomb)")
        total += entry.file_size
    if total > available:
        raise UnsafeArchive(archive, f"its streams hold {total} bytes, more than the {available} bytes free "
                                     "on the pool (zip bomb, or not enough space)")
    return total
