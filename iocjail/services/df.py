"""`df`: space of every jail and template (`jails/N`, `templates/N`) from one zfs call.

The numbers are zfs's exact ones (`-p`); the table formats them as zfs does for humans and
`--json` keeps bytes. An unset quota or reservation (zfs says 0) is None, shown `none`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from iocjail.errors import UsageError
from iocjail.model.sizes import parse_bytes, parse_ratio
from iocjail.site.host import Host
from iocjail.site.jails import CATEGORIES

PROPS = ("compressratio", "reservation", "quota", "used", "available")
SORT_KEYS = ("name", "crt", "res", "qta", "use", "ava")


@dataclass(frozen=True)
class Usage:
    name: str
    crt: float | None  # compressratio
    res: int | None  # reservation in bytes, None when none
    qta: int | None  # quota in bytes, None when none
    use: int | None  # used
    ava: int | None  # available
    template: bool = False


def usage(host: Host, *, sort: str = "name") -> list[Usage]:
    key = sort.lower()
    if key not in SORT_KEYS:
        raise UsageError(f"cannot sort by {sort!r}: choose one of {', '.join(SORT_KEYS)}")
    parents = [host.dataset(c) for c in CATEGORIES]
    rows = []
    for ds in host.zfs.list_datasets(parents, PROPS, depth=1):
        parent, _, name = ds.name.rpartition("/")
        if parent not in parents or not name:
            continue
        rows.append(Usage(name, parse_ratio(ds.get("compressratio")), _unless_zero(ds.get("reservation")),
                          _unless_zero(ds.get("quota")), parse_bytes(ds.get("used")),
                          parse_bytes(ds.get("available")), template=parent.endswith("/templates")))
    return sorted(rows, key=_sort_key(key))


def _unless_zero(value: str | None) -> int | None:
    number = parse_bytes(value)
    return number or None


def _sort_key(key: str) -> Callable[[Usage], tuple[Any, ...]]:
    """Smallest first, "none" first among sizes (it is no limit, but iocage's raw sort puts it
    there too), then by name for a stable order."""
    if key == "name":
        return lambda row: (row.name, row.template)
    return lambda row: (getattr(row, key) is not None, getattr(row, key) or 0, row.name)
