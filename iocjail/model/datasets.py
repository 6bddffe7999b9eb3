"""Pure reasoning over ZFS dataset names and clone origins.

Destroying never uses `zfs destroy -R` (iocage does, and takes dependent clones anywhere on the
pool with it). Instead the order is computed: clones before their origins, and a clone outside
what the user asked to destroy blocks the whole operation with its name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from iocjail.errors import InvalidName

_POOL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]*$")
# zpool(8) refuses these as pool names (they are vdev keywords); so do we, with a clearer message.
_RESERVED_POOLS = frozenset({"mirror", "raidz", "raidz1", "raidz2", "raidz3", "draid", "spare", "log", "cache"})
MAX_POOL_NAME = 240


def validate_pool_name(name: str) -> str:
    if not name:
        raise InvalidName("pool", name, "it is empty")
    if len(name) > MAX_POOL_NAME:
        raise InvalidName("pool", name, f"longer than {MAX_POOL_NAME} characters")
    if not _POOL_RE.match(name):
        raise InvalidName("pool", name, "a pool name starts with a letter and holds only letters, digits, _ . : -")
    if name.lower() in _RESERVED_POOLS or re.match(r"^c[0-9]", name):
        raise InvalidName("pool", name, "it is reserved by zpool")
    return name


def _unit_of(name: str, units: Sequence[str]) -> str | None:
    return next((unit for unit in units if is_under(name, unit)), None)


def _blockers(units: Sequence[str], origins: Mapping[str, str | None]) -> list[str]:
    """Clones outside `units` whose origin is inside them."""
    return sorted(
        name
        for name, origin in origins.items()
        if origin and origin != "-" and _unit_of(name, units) is None and _unit_of(origin, units) is not None
    )


def is_under(name: str, root: str) -> bool:
    """True if `name` is `root`, a descendant of it, or a snapshot of either."""
    return name == root or name.startswith(root + "/") or name.startswith(root + "@")


@dataclass(frozen=True)
class DestroyPlan:
    units: tuple[str, ...]  # destroy each with -r, in this order
    origin_snapshots: tuple[str, ...]  # per-jail origin snapshots left behind, removed afterwards
    blockers: tuple[str, ...]  # clones outside the plan that depend on it (plan must not run)


def plan_destroy(
    targets: Sequence[str],
    origins: Mapping[str, str | None],
    absorb: Callable[[str], str | None] = lambda name: None,
) -> DestroyPlan:
    """Order `targets` (each destroyed with -r) so that clones go before their origins.

    A clone outside the targets that depends on them is a blocker, unless `absorb` maps it to
    a dataset to destroy as well (e.g. "a release takes the jails cloned from it").

    `origins` maps every filesystem of the pool to its `origin` snapshot (None if not a clone).
    An origin snapshot `X@NAME` of a destroyed clone is listed for removal when X survives and
    NAME is the clone's unit name: that is iocage's per-jail snapshot (`releases/R/root@jail`).
    """
    units = list(dict.fromkeys(targets))
    while True:
        blockers = _blockers(units, origins)
        extra = {u for u in map(absorb, blockers) if u is not None and u not in units}
        if not extra:
            break
        units += sorted(extra)

    def unit_of(name: str) -> str | None:
        return _unit_of(name, units)

    after: dict[str, set[str]] = {u: set() for u in units}  # unit -> units that must go first
    for name, origin in origins.items():
        if not origin or origin == "-":
            continue
        origin_unit = unit_of(origin)
        own_unit = unit_of(name)
        if origin_unit is not None and own_unit is not None and own_unit != origin_unit:
            after[origin_unit].add(own_unit)

    order: list[str] = []
    placed: set[str] = set()

    def place(unit: str, trail: tuple[str, ...]) -> None:
        if unit in placed:
            return
        if unit in trail:  # impossible with real ZFS origins; refuse rather than loop
            raise ValueError(f"clone cycle through {unit}")
        for first in sorted(after[unit]):
            place(first, (*trail, unit))
        placed.add(unit)
        order.append(unit)

    for unit in units:
        place(unit, ())

    snapshots = []
    for name, origin in origins.items():
        own_unit = unit_of(name)
        if not origin or origin == "-" or own_unit is None or unit_of(origin) is not None:
            continue
        snap = origin.split("@", 1)[1]
        still_used = any(o == origin and unit_of(n) is None for n, o in origins.items())
        if snap == own_unit.rsplit("/", 1)[-1] and not still_used:
            snapshots.append(origin)
    return DestroyPlan(tuple(order), tuple(dict.fromkeys(snapshots)), tuple(_blockers(units, origins)))
