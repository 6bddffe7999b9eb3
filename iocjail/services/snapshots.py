"""Snapshots of jails and templates: `snapshot`, `snaplist`, `snapremove`, `rollback`.

A jail's snapshot is recursive over `jails/N` and its children (iocage's layout: N@s and
N/root@s). Unlike iocage, which removes with `zfs destroy -r -Rf`, nothing here ever destroys a
clone: a snapshot that a clone depends on is refused (or skipped, for `-n ALL`) with the clones'
names, and `rollback` refuses before touching anything when a newer snapshot it would destroy has
clones. Every change holds the jail's lock; `rollback` also needs the jail stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from iocjail.errors import IocjailError, MustBeStopped, NotFound, UsageError
from iocjail.model.datasets import is_under
from iocjail.platform.clock import utc_now
from iocjail.platform.zfs_output import Dataset
from iocjail.site import config, state
from iocjail.site.host import Host
from iocjail.site.jails import JailRef, all_jails, resolve

NAME_FORMAT = "%Y-%m-%d_%H:%M:%S"
SORT_KEYS = ("created", "name", "rsize", "used")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
MAX_NAME = 200
ALL = "ALL"


class SnapshotExists(UsageError):
    template = "snapshot {!r} already exists: {}"


class SnapshotNotFound(NotFound):
    template = "snapshot {!r} of {} not found"


class StopBeforeRollback(MustBeStopped, UsageError):
    """rollback's refusal of a running jail: its own words and a usage error's exit code (2)."""

    template = "{} is running: stop it first (iocjail stop {})"


class HasClones(IocjailError):
    template = "{}: {} depend(s) on it; destroy or promote them first"


class ChangedMeanwhile(IocjailError):
    template = "the snapshots of {} changed while you were asked: nothing was rolled back, run the command again"


@dataclass(frozen=True)
class Snap:
    jail: str
    full: str  # POOL/iocage/jails/N[/root]@NAME
    name: str  # NAME
    root: bool  # a snapshot of N/root (listed as NAME/root)
    created: int | None  # seconds since the epoch
    rsize: int | None  # referenced bytes
    used: int | None
    txg: int  # createtxg: the true order, where creation has one-second resolution

    @property
    def short(self) -> str:
        return f"{self.name}/root" if self.root else self.name


def validate_name(name: str) -> str:
    if not name:
        raise UsageError("a snapshot name cannot be empty")
    if len(name) > MAX_NAME or not _NAME_RE.match(name) or name.startswith("-"):
        raise UsageError(f"invalid snapshot name {name!r}: use letters, digits and _ . : - "
                         f"(at most {MAX_NAME}, not starting with -)")
    if name == ALL:
        raise UsageError("ALL is not a snapshot name: it means every snapshot")
    return name


def default_name(now: datetime | None = None) -> str:
    return (now or utc_now()).astimezone(timezone.utc).strftime(NAME_FORMAT)


def _targets(host: Host, name: str, *, prefix: bool) -> list[JailRef]:
    return all_jails(host) if name == ALL else [resolve(host, name, prefix=prefix)]


def _locks(host: Host, refs: Sequence[JailRef]) -> ExitStack:
    stack = ExitStack()
    for ref in sorted(refs, key=lambda r: r.name):  # one order everywhere: no lock-order deadlock
        stack.enter_context(config.lock(host, ref.name))
    return stack


# -- snapshot --------------------------------------------------------------------------------

def snapshot(host: Host, name: str, snapname: str | None = None, *, now: datetime | None = None) -> list[str]:
    """`zfs snapshot -r` of each target (one jail, or every jail and template for ALL), all with
    the same name. Refused if the name exists anywhere in a target; a failure undoes the others."""
    snap = validate_name(snapname) if snapname is not None else default_name(now)
    refs = _targets(host, name, prefix=True)
    if not refs:
        return []
    with _locks(host, refs):
        existing = host.zfs.list_datasets([r.dataset for r in refs], recursive=True, types=("snapshot",))
        clash = sorted(d.name for d in existing if d.snapshot == snap)
        if clash:
            raise SnapshotExists(snap, ", ".join(clash))
        made: list[str] = []
        try:
            for ref in refs:
                full = f"{ref.dataset}@{snap}"
                host.zfs.snapshot(full, recursive=True)
                made.append(full)
        except BaseException:
            for full in reversed(made):
                _destroy_recursive(host, full)
            raise
    return made


def _destroy_recursive(host: Host, full: str) -> None:
    """Undo a `snapshot -r`, one snapshot at a time (zfs-fuse's `destroy -r` of a snapshot only
    works when the parent has it; this works either way)."""
    dataset, _, snap = full.partition("@")
    for d in host.zfs.snapshots(dataset, recursive=True):
        if d.snapshot == snap:
            host.zfs.destroy(d.name)


# -- snaplist --------------------------------------------------------------------------------

def snaplist(host: Host, name: str, *, sort: str = "created") -> list[Snap]:
    """`N@s` then `N/root@s` of each target (other children are skipped, as iocage does), each
    group sorted by `sort`; one zfs call whatever the number of jails."""
    key = sort.lower()
    if key not in SORT_KEYS:
        raise UsageError(f"cannot sort by {sort!r}: choose one of {', '.join(SORT_KEYS)}")
    refs = _targets(host, name, prefix=True)
    if not refs:
        return []
    found = host.zfs.list_datasets([r.dataset for r in refs], ["creation", "referenced", "used", "createtxg"],
                                   recursive=True, types=("snapshot",))
    out: list[Snap] = []
    for ref in refs:
        own = [_snap(ref, d) for d in found if d.dataset in (ref.dataset, f"{ref.dataset}/root")]
        for root in (False, True):
            out += sorted((s for s in own if s.root == root), key=_sort_key(key))
    return out


def _snap(ref: JailRef, d: Dataset) -> Snap:
    return Snap(ref.name, d.name, d.snapshot or "", d.dataset != ref.dataset, _int(d.get("creation")),
                _int(d.get("referenced")), _int(d.get("used")), _int(d.get("createtxg")) or 0)


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _sort_key(key: str) -> Callable[[Snap], tuple[Any, ...]]:
    if key == "created":
        return lambda s: (s.txg, s.created or 0, s.name)
    if key == "name":
        return lambda s: (s.name, s.txg)
    return lambda s: (getattr(s, key) or 0, s.txg)


# -- snapremove ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Removed:
    destroyed: tuple[str, ...]  # full snapshot names
    skipped: tuple[tuple[str, tuple[str, ...]], ...]  # (snapshot name, clones that depend on it)


def snapremove(host: Host, name: str, snapname: str, *, force: bool = False) -> Removed:
    """Destroy snapshot NAME of the jail and of its children; `ALL` (with `force`) destroys every
    snapshot except those clones depend on, which are reported instead."""
    if snapname == ALL and not force:
        raise UsageError(f"-n ALL destroys every snapshot of {name}: add -f to confirm")
    if snapname != ALL:
        validate_name(snapname)
    ref = resolve(host, name)
    with config.lock(host, ref.name):
        snaps = host.zfs.snapshots(ref.dataset, recursive=True)
        clones = _clones_of(host, {d.name for d in snaps})
        wanted = list(dict.fromkeys(d.snapshot or "" for d in snaps)) if snapname == ALL else [snapname]
        destroyed: list[str] = []
        skipped: list[tuple[str, tuple[str, ...]]] = []
        for snap in wanted:
            members = [d.name for d in snaps if d.snapshot == snap]
            if not members:
                raise SnapshotNotFound(snap, ref.name)
            users = tuple(sorted(c for m in members for c in clones.get(m, ())))
            if users:
                if snapname != ALL:
                    raise HasClones(f"snapshot {snap!r} of {ref.name}", ", ".join(users))
                skipped.append((snap, users))
                continue
            for member in sorted(members, key=lambda m: m.count("/"), reverse=True):
                host.zfs.destroy(member)
                destroyed.append(member)
    return Removed(tuple(destroyed), tuple(skipped))


def _clones_of(host: Host, snapshots: set[str]) -> dict[str, list[str]]:
    """snapshot -> the filesystems anywhere on the pool cloned from it (one zfs call)."""
    out: dict[str, list[str]] = {}
    if not snapshots:
        return out
    for d in host.zfs.list_datasets(host.pool, ["origin"], recursive=True):
        origin = d.get("origin")
        if origin in snapshots:
            out.setdefault(origin, []).append(d.name)
    return out


# -- rollback --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RollbackPlan:
    jail: str
    dataset: str
    snapshot: str
    targets: tuple[str, ...]  # `FS@NAME` to roll back, children (deepest first) then the jail
    newer: tuple[str, ...]  # snapshots `zfs rollback -r` will destroy


def plan_rollback(host: Host, name: str, snapname: str) -> RollbackPlan:
    """What `rollback` would do; refuses (changing nothing) if the jail runs, if the snapshot is
    missing on the jail or on one of its filesystems, or if a newer snapshot has clones."""
    validate_name(snapname)
    ref = resolve(host, name)
    if ref.name in state.running(host):
        raise StopBeforeRollback(ref.name, ref.name)
    found = host.zfs.list_datasets(ref.dataset, ["createtxg"], recursive=True,
                                   types=("filesystem", "volume", "snapshot"))
    filesystems = [d.name for d in found if not d.is_snapshot and is_under(d.name, ref.dataset)]
    snaps = [d for d in found if d.is_snapshot]
    target_txg = {d.dataset: _int(d.get("createtxg")) or 0 for d in snaps if d.snapshot == snapname}
    if ref.dataset not in target_txg:
        raise SnapshotNotFound(snapname, ref.name)
    lacking = [fs for fs in filesystems if fs not in target_txg]
    if lacking:
        raise UsageError(f"cannot roll back {ref.name} to {snapname!r}: {', '.join(lacking)} has no such "
                         "snapshot (made after it?); nothing was rolled back")
    newer = tuple(d.name for d in snaps if d.dataset in target_txg
                  and (_int(d.get("createtxg")) or 0) > target_txg[d.dataset])
    clones = _clones_of(host, set(newer))
    if clones:
        users = sorted(c for users in clones.values() for c in users)
        raise HasClones(f"rolling {ref.name} back to {snapname!r} would destroy {', '.join(sorted(clones))}",
                        ", ".join(users))
    children = sorted((fs for fs in filesystems if fs != ref.dataset), key=lambda n: n.count("/"), reverse=True)
    targets = tuple(f"{fs}@{snapname}" for fs in [*children, ref.dataset])
    return RollbackPlan(ref.name, ref.dataset, snapname, targets, newer)


def rollback(host: Host, plan: RollbackPlan) -> None:
    """Carry out a plan under the jail's lock, after checking nothing changed since it was made
    (the user may have been asked for a while)."""
    with config.lock(host, plan.jail):
        again = plan_rollback(host, plan.jail, plan.snapshot)
        if again != plan:
            raise ChangedMeanwhile(plan.jail)
        for target in plan.targets:
            host.zfs.rollback(target, destroy_newer=True)
