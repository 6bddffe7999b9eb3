"""`destroy NAME…`: jails and templates, by exact name, never with `zfs destroy -R`.

The plan (one `zfs get -r` of the pool) orders the datasets so clones go before their origins.
Jails cloned from a target (by `clone`, or from a template by `create -t`) block it, named,
unless `recursive`; a clone outside the iocage tree always blocks.

Order of the changes, so that a failure at any point leaves either the jail as it was or nothing:
1. `templates/T@NAME` left by iocage's recursive template snapshot (nothing uses it);
2. the jail's origin snapshots (`releases/R/root@NAME`, `templates/T/root@NAME`, `jails/S@NAME`)
   with `destroy -d`: marked only, ZFS removes each with its last clone;
3. each unit with `destroy -r` (the jail and what it still holds);
4. log/NAME-console.log.

Running jails among them are stopped first, as iocage does, after the confirmation; a stop that
fails destroys nothing.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

from iocjail.errors import JailNotFound, JailNotRunning
from iocjail.lifecycle.engine import Reporter
from iocjail.model.datasets import is_under, plan_destroy
from iocjail.model.values import kernel_name
from iocjail.platform.zfs import TYPES
from iocjail.site import config, state
from iocjail.services import lifecycle, releases
from iocjail.site.host import Host
from iocjail.services.templates import refuse_running

CATEGORIES = ("jails", "templates")


class NotFoundExactly(JailNotFound):
    template = "jail {!r} not found: destroy takes full names (did you mean {}?)"


@dataclass(frozen=True)
class JailDestroyPlan:
    names: tuple[str, ...]  # as asked, deduplicated
    units: tuple[str, ...]  # destroyed with -r, in this order
    origin_snapshots: tuple[str, ...]  # destroyed with -d first
    leftover_snapshots: tuple[str, ...]  # templates/T@NAME
    dependants: tuple[str, ...]  # jails that go too (--recursive), `NAME` or `NAME (template)`
    labels: tuple[str, ...]  # every jail destroyed, in order
    running: tuple[str, ...] = ()  # stopped first


def _unit(host: Host, name: str) -> str | None:
    """`POOL/iocage/jails/NAME` for anything at or below it (likewise templates)."""
    for category in CATEGORIES:
        parent = host.dataset(category)
        if name.startswith(parent + "/"):
            return f"{parent}/{name[len(parent) + 1:].split('/', 1)[0].split('@', 1)[0]}"
    return None


def _label(host: Host, unit: str) -> str:
    return f"{unit.rsplit('/', 1)[1]} (template)" if unit.startswith(host.dataset("templates") + "/") else \
        unit.rsplit("/", 1)[1]


def plan(host: Host, names: list[str], *, recursive: bool) -> JailDestroyPlan:
    tree = host.zfs.list_datasets(host.pool, ["origin"], recursive=True, types=TYPES)
    snapshots = {d.name for d in tree if d.is_snapshot}
    origins = {d.name: d.get("origin") for d in tree if not d.is_snapshot}
    wanted = list(dict.fromkeys(names))
    targets = [_find(host, origins, name) for name in wanted]
    direct = plan_destroy(targets, origins)
    if direct.blockers and not recursive:
        labels = sorted({_label(host, u) if (u := _unit(host, b)) else b for b in direct.blockers})
        raise releases.HasDependants(", ".join(wanted), ", ".join(labels))
    full = plan_destroy(targets, origins, lambda clone: _unit(host, clone))
    if full.blockers:
        raise releases.OutsideDependants(", ".join(wanted), ", ".join(full.blockers))
    leftovers = []
    users = {o for n, o in origins.items() if o and not any(is_under(n, u) for u in full.units)}
    for snap in full.origin_snapshots:
        origin_ds, tag = snap.split("@", 1)
        parent = origin_ds.rsplit("/", 1)[0]
        candidate = f"{parent}@{tag}"
        if origin_ds.endswith("/root") and _unit(host, parent) == parent and candidate in snapshots \
                and candidate not in users and candidate not in full.origin_snapshots:
            leftovers.append(candidate)
    dependants = tuple(sorted(_label(host, u) for u in full.units if u not in targets))
    up = state.running(host)
    running = tuple(n for u in full.units if (n := u.rsplit("/", 1)[1]) in up)
    return JailDestroyPlan(tuple(wanted), full.units, full.origin_snapshots, tuple(leftovers), dependants,
                           tuple(_label(host, u) for u in full.units), running)


def _find(host: Host, datasets: dict[str, str | None], name: str) -> str:
    """Exact names only: a prefix gets the full names suggested, never acted on."""
    for category in CATEGORIES:
        candidate = host.dataset(category, name)
        if name and "/" not in name and "@" not in name and candidate in datasets:
            return candidate
    similar = sorted({u.rsplit("/", 1)[1] for d in datasets if (u := _unit(host, d))
                      and u.rsplit("/", 1)[1].startswith(name)}) if name else []
    if similar:
        raise NotFoundExactly(name, ", ".join(similar))
    raise JailNotFound(name)


def destroy(host: Host, planned: JailDestroyPlan, *, recursive: bool,
            reporter: Reporter | None = None) -> tuple[str, ...]:
    """Carry out a confirmed plan, after checking under the jails' locks that it still holds."""
    names = [u.rsplit("/", 1)[1] for u in planned.units]
    for name in reversed(planned.running):  # dependants (last in the plan) stop first
        try:
            lifecycle.stop_one(host, name, reporter=reporter)
        except JailNotRunning:
            pass
    with ExitStack() as locks:
        for name in sorted(set(names)):  # sorted: two commands cannot deadlock
            locks.enter_context(config.lock(host, name))
        now = plan(host, list(planned.names), recursive=recursive)
        extra = sorted(set(now.units) - set(planned.units))
        if extra:
            raise releases.ChangedMeanwhile(", ".join(planned.names), ", ".join(extra))
        refuse_running(host, *names)
        for snap in now.leftover_snapshots:
            host.zfs.destroy(snap)
        for snap in now.origin_snapshots:
            host.zfs.destroy(snap, defer=True)
        for unit in now.units:
            host.zfs.destroy(unit, recursive=True)
        for name in names:
            _remove_log(host, name)
        return now.labels


def _remove_log(host: Host, name: str) -> None:
    for path in (host.path("log", f"{name}-console.log"), host.path("log", f"{kernel_name(name)}-console.log")):
        if path.is_file() and not path.is_symlink():
            path.unlink()
