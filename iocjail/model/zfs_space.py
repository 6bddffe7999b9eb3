"""What zfs(8) refuses when `quota` and `reservation` change, known before anything is set.

The rules are OpenZFS's (module/zfs/dsl_dir.c): `dsl_dir_set_quota_check` refuses a quota below
what the dataset uses or reserves; `dsl_dir_set_reservation_check` refuses a reservation that
grows (past what is used) by more than the parent has available, or that exceeds the quota.
`set` checks the end state here, so that a `set` mixing them with other properties is refused as
a whole; zfs stays the judge of everything else (a dedup algorithm the pool lacks).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([KMGTP]?)B?$")
SPACE_PROPS = ("quota", "reservation")


def size_bytes(spec: str) -> int:
    """`none` -> 0, `500M`/`1.5T` (1024-based, as zfs reads them) or raw bytes -> bytes."""
    text = spec.strip().upper()
    if text in ("NONE", "0", "-", ""):
        return 0
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {spec!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Space:
    """A dataset's numbers from `zfs get -p` (0 = no quota / no reservation)."""

    used: int
    quota: int
    reservation: int
    parent_available: int


def refusal(space: Space, new: Mapping[str, str]) -> str | None:
    """Why zfs would refuse the end state of `new` (quota/reservation values), or None."""
    quota = size_bytes(new["quota"]) if "quota" in new else space.quota
    reservation = size_bytes(new["reservation"]) if "reservation" in new else space.reservation
    if "quota" in new and quota and quota < max(space.used, reservation):
        return f"quota {new['quota']} is below what the jail uses or reserves"
    if quota and reservation > quota:
        return f"reservation {new.get('reservation', reservation)} is larger than the quota"
    grows = max(space.used, reservation) - max(space.used, space.reservation)
    if "reservation" in new and grows > space.parent_available:
        return f"reservation {new['reservation']} is larger than the space available"
    return None


def apply_order(space: Space, new: Mapping[str, str]) -> list[str]:
    """The keys of `new` in an order zfs accepts one by one: properties only zfs can judge
    first (a refusal there leaves nothing to undo), then quota and reservation, the quota first
    unless it falls below the old reservation (then the reservation shrinks first)."""
    judged = [k for k in new if k not in SPACE_PROPS]
    space_keys = [k for k in SPACE_PROPS if k in new]
    quota = size_bytes(new["quota"]) if "quota" in new else 0
    if "quota" in new and quota and quota < space.reservation:
        space_keys.reverse()
    return judged + space_keys
