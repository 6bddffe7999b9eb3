"""The MANIFEST of a FreeBSD release directory. Pure.

One line per distribution set, tab-separated: file name, sha256, number of files, set name,
description, default selection, e.g.

    base.txz	0b9c…	28357	base	"Base system (MANDATORY)"	on

Only the first two columns matter here; any mirror directory (a Linux userland included) that
lists its tarballs this way can be fetched and verified.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from iocjail.errors import IocjailError

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class BadManifest(IocjailError):
    template = "{}: line {}: {}"


class NotInManifest(IocjailError):
    template = "MANIFEST of {} does not list {}: refusing to fetch a file that cannot be verified"


@dataclass(frozen=True)
class Entry:
    name: str
    sha256: str


def parse(text: str, source: str = "MANIFEST") -> dict[str, Entry]:
    """File name -> Entry. Blank lines and `#` comments are skipped; anything else malformed
    is an error naming the line (a MANIFEST that cannot be read verifies nothing)."""
    entries: dict[str, Entry] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise BadManifest(source, number, "expected tab-separated file name and sha256")
        name, digest = fields[0].strip(), fields[1].strip().lower()
        if not name or "/" in name or name in (".", ".."):
            raise BadManifest(source, number, f"bad file name {name!r}")
        if not _SHA256_RE.match(digest):
            raise BadManifest(source, number, f"bad sha256 for {name}")
        if name in entries and entries[name].sha256 != digest:
            raise BadManifest(source, number, f"{name} listed twice with different sums")
        entries[name] = Entry(name, digest)
    if not entries:
        raise BadManifest(source, 1, "no files listed")
    return entries


def select(entries: Mapping[str, Entry], wanted: Iterable[str], required: Iterable[str],
           release: str) -> list[Entry]:
    """The entries to fetch: every `required` file must be listed; the other `wanted` ones are
    taken when listed (lib32.txz is absent on some arches and on non-FreeBSD mirrors)."""
    must = set(required)
    chosen = []
    for name in dict.fromkeys([*wanted, *required]):
        if name in entries:
            chosen.append(entries[name])
        elif name in must:
            raise NotInManifest(release, name)
    return chosen


def render(entries: Iterable[Entry]) -> str:
    """A MANIFEST in the FreeBSD format (the test mirror and local fetch tests write these)."""
    return "".join(f"{e.name}\t{e.sha256}\t0\t{e.name.split('.', 1)[0]}\t\"\"\ton\n" for e in entries)
