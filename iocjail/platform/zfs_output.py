"""What zfs(8) and zpool(8) print, typed: `zfs get -H -p` lines grouped into `Dataset`s, and
stderr mapped onto the error classes. Pure: the commands themselves are platform/zfs.py's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from iocjail.errors import CommandFailed, DatasetBusy, DatasetExists, DatasetNotFound, ZfsError, first_line


@dataclass(frozen=True)
class Dataset:
    """One dataset or snapshot and the properties asked for (value `-` means not set)."""

    name: str
    type: str
    props: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    def get(self, prop: str, default: str | None = None) -> str | None:
        value = self.props.get(prop)
        return default if value in (None, "-") else value

    def is_local(self, prop: str) -> bool:
        return self.sources.get(prop) == "local"

    @property
    def is_snapshot(self) -> bool:
        return self.type == "snapshot"

    @property
    def dataset(self) -> str:
        """The filesystem part of the name (`a/b` for `a/b@s`)."""
        return self.name.split("@", 1)[0]

    @property
    def snapshot(self) -> str | None:
        return self.name.split("@", 1)[1] if "@" in self.name else None


@dataclass(frozen=True)
class Pool:
    name: str
    health: str


def _is_under(name: str, root: str) -> bool:
    return name == root or name.startswith(root + "/") or name.startswith(root + "@")


def classify(err: CommandFailed) -> ZfsError:
    """Map zfs's stderr onto a typed error that keeps zfs's own first line as the message."""
    msg = first_line(err.stderr) or f"{' '.join(err.argv[:2])}: exit status {err.returncode}"
    lower = err.stderr.lower()
    if "does not exist" in lower or "no such pool" in lower or "could not find any snapshots" in lower:
        return DatasetNotFound(msg)
    if "already exists" in lower:
        return DatasetExists(msg)
    if "busy" in lower:
        return DatasetBusy(msg)
    return ZfsError(msg)


def parse_get(out: str) -> list[Dataset]:
    """Group `zfs get -H -p -o name,property,value,source` lines by dataset, keeping order."""
    props: dict[str, dict[str, str]] = {}
    sources: dict[str, dict[str, str]] = {}
    for line in out.splitlines():
        if not line:
            continue
        name, prop, rest = line.split("\t", 2)
        value, source = rest.rsplit("\t", 1) if "\t" in rest else (rest, "-")
        props.setdefault(name, {})[prop] = value
        sources.setdefault(name, {})[prop] = source
    return [
        Dataset(name, values.get("type", "-"), values, sources[name]) for name, values in props.items()
    ]


def under(datasets: Iterable[Dataset], root: str) -> list[Dataset]:
    """The datasets at or below `root` (snapshots of it included)."""
    return [d for d in datasets if _is_under(d.name, root)]
