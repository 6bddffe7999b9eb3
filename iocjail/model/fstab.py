"""A jail's fstab as data: parsing, the ENTRY arguments of `fstab`, and the checks that need no disk.

The file is iocage's: one mount per line, six tab-separated fields, the destination a host path
under the jail's root (`{iocroot}/jails/NAME/root/...`), whitespace and backslashes inside a path
written as octal escapes (`\\040`, fstab(5)), and an optional trailing `# comment` (iocage appends
`# Added by iocage on DATE`). Blank and comment lines are kept verbatim when the file is
rewritten, and indexes count entries only, so `fstab -l` and `fstab -r INDEX` always agree.

Destinations are accepted in two forms: inside the jail (`/usr/src`) or as the host path under
the jail's root (what iocage stores and prints). A `.` or `..` component is refused outright:
nothing is normalised away, so what is checked is what jail(8) will mount on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from iocjail.errors import UsageError

FIELDS = ("source", "destination", "fstype", "options", "dump", "pass")
_ESCAPE_RE = re.compile(r"\\([0-7]{3}|.)", re.DOTALL)
_NEEDS_ESCAPE = frozenset(" \t\n\\#")


class FstabError(UsageError):
    """One or more problems with fstab entries; each message reads like iocage's."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(*problems)
        self.problems = list(problems)

    def __str__(self) -> str:
        return "; ".join(self.problems)


def encode(text: str) -> str:
    """A field as fstab(5) stores it: whitespace, `#` and backslash as octal escapes."""
    return "".join(f"\\{ord(c):03o}" if c in _NEEDS_ESCAPE else c for c in text)


def decode(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code, 8)) if len(code) == 3 else code

    return _ESCAPE_RE.sub(one, text)


@dataclass(frozen=True)
class Entry:
    """One mount, fields decoded; `destination` is always the host path once `absolute()` ran."""

    source: str
    destination: str
    fstype: str
    options: str
    dump: str
    passno: str
    comment: str = ""

    @property
    def fields(self) -> tuple[str, str, str, str, str, str]:
        return (self.source, self.destination, self.fstype, self.options, self.dump, self.passno)

    def text(self) -> str:
        """The line as written to the file (tab-separated, encoded, comment after ` # `)."""
        body = "\t".join(encode(f) for f in self.fields)
        return f"{body} # {self.comment}" if self.comment else body

    def display(self) -> str:
        """The entry for `fstab -l`: encoded fields separated by spaces, comment dropped."""
        return " ".join(encode(f) for f in self.fields)


@dataclass(frozen=True)
class Line:
    """A line of the file: an entry, or a blank/comment line kept as it was (`entry` None)."""

    text: str
    entry: Entry | None = None


def parse_line(text: str) -> Entry | None:
    """An entry, None for a blank or comment line; ValueError for anything else."""
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return None
    tokens = stripped.split()
    fields: list[str] = []
    comment = ""
    for position, token in enumerate(tokens):
        if token.startswith("#"):
            comment = " ".join(tokens[position:])[1:].strip()
            break
        fields.append(token)
    if len(fields) != 6:
        raise ValueError(f"expected 6 fields, found {len(fields)}")
    src, dst, fstype, options, dump, passno = (decode(f) for f in fields)
    return Entry(src, dst, fstype, options, dump, passno, comment)


def parse(text: str) -> list[Line]:
    """Every line of a file; FstabError naming each malformed line (counted from 0, as iocage)."""
    lines, problems = [], []
    for number, raw in enumerate(text.splitlines()):
        try:
            lines.append(Line(raw, parse_line(raw)))
        except ValueError:
            problems.append(f"Malformed fstab at line {number}: {raw!r}")
    if problems:
        raise FstabError(problems)
    return lines


def render(lines: Sequence[Line]) -> str:
    return "".join(line.text + "\n" for line in lines)


def entries(lines: Sequence[Line]) -> list[Entry]:
    return [line.entry for line in lines if line.entry is not None]


def entry_positions(lines: Sequence[Line]) -> list[int]:
    """The position in `lines` of entry number 0, 1, …"""
    return [pos for pos, line in enumerate(lines) if line.entry is not None]


# -- the ENTRY arguments -------------------------------------------------------------------------

def from_args(args: Sequence[str]) -> Entry:
    """`SRC DST FS OPTS DUMP PASS` as six arguments or one quoted argument, or a lone path P,
    which means `P P nullfs ro 0 0` (P mounted read-only at the same path inside the jail)."""
    fields = list(args)
    if len(fields) == 1:
        fields = [decode(f) for f in fields[0].split()]
    if len(fields) == 1:
        path = fields[0]
        return Entry(path, path, "nullfs", "ro", "0", "0")
    if len(fields) != 6 or any(not f for f in fields):
        raise UsageError("an fstab entry is SRC DST FSTYPE OPTIONS DUMP PASS (six fields, separate "
                         f"or in one quoted argument) or a lone path; got {len(fields)} field(s)")
    return Entry(*fields)


def is_index(args: Sequence[str]) -> bool:
    return len(args) == 1 and args[0].strip().isdigit()


# -- destinations --------------------------------------------------------------------------------

def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


def host_destination(destination: str, jail_root: str) -> str:
    """The host path of a destination given inside the jail (`/usr/src`) or already under the
    jail's root; a relative destination is returned as it is (the checks refuse it)."""
    if not destination.startswith("/"):
        return destination
    root = "/" + "/".join(_parts(jail_root))
    parts = _parts(destination)
    if parts[: len(_parts(root))] == _parts(root):
        return "/" + "/".join(parts)
    return "/".join([root, *parts]) if parts else root


def inside_parts(destination: str, jail_root: str) -> list[str] | None:
    """The components of a host destination below the jail's root, or None if not below it."""
    root, parts = _parts(jail_root), _parts(destination)
    if not destination.startswith("/") or parts[: len(root)] != root:
        return None
    return parts[len(root):]


def absolute(entry: Entry, jail_root: str) -> Entry:
    """`entry` with its destination as the host path under `jail_root`."""
    return Entry(entry.source, host_destination(entry.destination, jail_root), entry.fstype, entry.options,
                 entry.dump, entry.passno, entry.comment)


def check(entry: Entry, jail_root: str) -> list[str]:
    """Problems found without looking at the disk (the destination is a host path by now)."""
    problems = []
    if entry.fstype == "nullfs" and not entry.source.startswith("/"):
        problems.append(f"Source: {entry.source} must use an absolute path!")
    dest = entry.destination
    inner = inside_parts(dest, jail_root)
    if not dest.startswith("/"):
        problems.append(f"Destination: {dest} must use an absolute path!")
    elif inner is None:
        problems.append(f"Destination: {dest} must include jail's mountpoint! ({jail_root})")
    elif any(p in (".", "..") for p in inner):
        problems.append(f"Destination: {dest} must not contain '.' or '..' components")
    elif not inner:
        problems.append(f"Destination: {dest} is the jail's root itself: mount below it")
    for label, value in (("Dump", entry.dump), ("Pass", entry.passno)):
        if not value.isdecimal():
            problems.append(f"{label}: {value} must be a digit!")
        elif len(value) > 1:
            problems.append(f"{label}: {value} must be one digit long!")
    for label, value in (("Type", entry.fstype), ("Options", entry.options)):
        if not value or any(c.isspace() or c == "#" for c in value):
            problems.append(f"{label}: {value!r} must be one word!")
    return problems


def duplicates(all_entries: Sequence[Entry]) -> list[str]:
    """Destinations mounted on more than once (compared as host paths, slashes normalised)."""
    seen: set[str] = set()
    dupes: list[str] = []
    for entry in all_entries:
        key = "/" + "/".join(_parts(entry.destination))
        if key in seen and entry.destination not in dupes:
            dupes.append(entry.destination)
        seen.add(key)
    return [f"Destination: {d} already exists!" for d in dupes]


def same_mount(a: Entry, b: Entry) -> bool:
    """Equal but for the comment and slash spelling of the destination (for `fstab -r ENTRY`)."""
    norm = ("/" + "/".join(_parts(a.destination)), "/" + "/".join(_parts(b.destination)))
    return a.fields[:1] + a.fields[2:] == b.fields[:1] + b.fields[2:] and norm[0] == norm[1]
