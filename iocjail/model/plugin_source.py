"""What a plugin repository holds besides the manifests (reference §4.2): its INDEX and the
artifact's `overlay/` tree, both validated before anything is used. Pure.

* INDEX: every entry named as a plugin name is, its MANIFEST a file name beside INDEX, its texts
  single lines without control characters; an invalid entry is skipped and named, never used;
* the overlay (`check_overlay`): plain files and directories under relative names, symlinks only
  to relative targets that stay inside the jail's root.

The manifests themselves are model/plugin_manifest.py's.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from iocjail.errors import UsageError
from iocjail.model.plugin_manifest import is_plugin_name, json_object, plain_text


class InvalidIndex(UsageError):
    template = "plugin INDEX {}: {}"


@dataclass(frozen=True)
class IndexEntry:
    key: str  # what `fetch -P KEY` names
    manifest: str  # file name of its manifest, beside INDEX
    name: str
    description: str = ""
    primary_pkg: str | None = None
    official: bool = False
    icon: str | None = None
    license: str | None = None


@dataclass(frozen=True)
class Index:
    entries: tuple[IndexEntry, ...]
    skipped: tuple[str, ...] = field(default=())  # "KEY: why", entries that failed validation

    def find(self, key: str) -> IndexEntry | None:
        return next((e for e in self.entries if e.key == key), None)


# -- INDEX -----------------------------------------------------------------------------------------

def parse_index(text: str | bytes, where: str) -> Index:
    """The INDEX of a plugin repository; an invalid entry is skipped (and named), never used."""
    data = json_object(text, where, InvalidIndex, "must be a JSON object of plugin: entry")
    entries, skipped = [], []
    for key, item in data.items():
        try:
            entries.append(_index_entry(key, item))
        except ValueError as err:
            skipped.append(f"{key}: {err}")
    return Index(tuple(sorted(entries, key=lambda e: e.key)), tuple(skipped))


def _index_entry(key: str, item: Any) -> IndexEntry:
    if not is_plugin_name(key):
        raise ValueError("a plugin name holds letters, digits, '.', '_' and '-'")
    if not isinstance(item, dict):
        raise ValueError("must be an object")
    manifest = item.get("MANIFEST", f"{key}.json")
    if not isinstance(manifest, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}\.json$", manifest):
        raise ValueError("MANIFEST must be a file name NAME.json beside INDEX")
    texts = {k: item.get(k) for k in ("name", "description", "primary_pkg", "icon", "license")}
    for k, v in texts.items():
        if v is not None and (not isinstance(v, str) or any(ord(ch) < 32 or ord(ch) == 127 for ch in v)):
            raise ValueError(f"{k} must be a line of text")
    official = item.get("official", False)
    return IndexEntry(key=key, manifest=manifest, name=texts["name"] or key, description=texts["description"] or "",
                      primary_pkg=texts["primary_pkg"], official=official is True, icon=texts["icon"],
                      license=texts["license"])


# -- the artifact's overlay ------------------------------------------------------------------------

@dataclass(frozen=True)
class OverlayEntry:
    path: str  # relative to overlay/, `/`-separated
    kind: str  # file, dir, symlink or other (a device, a fifo, a socket)
    target: str | None = None  # a symlink's target


def check_overlay(entries: Iterable[OverlayEntry]) -> list[OverlayEntry]:
    """Every entry, in order, if all can be copied into a jail's root; raises UsageError naming
    each one that cannot: an absolute name or one with `..`, something that is neither file,
    directory nor symlink, a symlink whose target is absolute or climbs out of the root."""
    problems, out = [], []
    for entry in entries:
        parts = entry.path.split("/")
        if entry.path.startswith("/") or not entry.path or any(p in ("", ".", "..") for p in parts):
            problems.append(f"{entry.path!r}: not a plain relative path")
        elif entry.kind not in ("file", "dir", "symlink"):
            problems.append(f"{entry.path}: a {entry.kind}, not a file, directory or symlink")
        elif entry.kind == "symlink" and not _contained_link(entry.path, entry.target or ""):
            problems.append(f"{entry.path} -> {entry.target}: a link must stay inside the jail (relative, no "
                            "climbing out with ../)")
        else:
            out.append(entry)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise UsageError(f"plugin overlay refused: {shown}")
    return out


def _contained_link(path: str, target: str) -> bool:
    if not target or target.startswith("/") or not plain_text(target.replace(" ", "")):
        return False
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return joined != ".." and not joined.startswith("../")
