"""`destroy -r`: releases destroyed with what depends on them, planned first and checked again
under the releases' locks (site/releases.py finds and locks releases)."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

from iocjail.errors import IocjailError
from iocjail.fetch.names import validate_release
from iocjail.model.datasets import plan_destroy
from iocjail.site.host import Host
from iocjail.site.releases import ReleaseNotFound, all_releases, lock

DEPENDANT_CATEGORIES = ("jails", "templates")


class HasDependants(IocjailError):
    template = "{} has dependent jails (who may also have dependents), use --recursive to destroy: {}"


class OutsideDependants(IocjailError):
    template = "refusing to destroy {}: {} outside the iocage tree depend(s) on it; destroy or promote them first"


class ChangedMeanwhile(IocjailError):
    template = "{} changed while you were asked (now also: {}): nothing was destroyed, run the command again"


@dataclass(frozen=True)
class DestroyPlan:
    releases: tuple[str, ...]
    units: tuple[str, ...]  # datasets destroyed with -r, clones before origins
    origin_snapshots: tuple[str, ...]
    dependants: tuple[str, ...]  # jails/templates that go too (`NAME`, `NAME (template)`)


def _jail_unit(root: str, name: str) -> str | None:
    """`ROOT/jails/NAME` for anything at or below it (likewise templates), else None."""
    rel = name[len(root) + 1:] if name.startswith(root + "/") else ""
    parts = rel.split("/")
    if len(parts) >= 2 and parts[0] in DEPENDANT_CATEGORIES and parts[1]:
        return f"{root}/{parts[0]}/{parts[1].split('@', 1)[0]}"
    return None


def _label(root: str, unit: str) -> str:
    category, _, name = unit[len(root) + 1:].partition("/")
    return f"{name} (template)" if category == "templates" else name


def plan_destroy_releases(host: Host, names: list[str], *, recursive: bool, download: bool) -> DestroyPlan:
    """What `destroy -r NAMES` would destroy; refuses (HasDependants) while jails depend on a
    release and `recursive` is not given. Never `zfs destroy -R`: the order is computed."""
    for name in names:
        validate_release(name)
    root = host.iocage_dataset
    known = {r.name for r in all_releases(host)}
    origins = {d.name: d.get("origin") for d in host.zfs.list_datasets(host.pool, ["origin"], recursive=True)}
    targets = []
    for name in dict.fromkeys(names):
        if name not in known and host.dataset("releases", name) not in origins:
            raise ReleaseNotFound(name, name)
        targets.append(host.dataset("releases", name))
        if download and host.dataset("download", name) in origins:
            targets.append(host.dataset("download", name))
    direct = plan_destroy(targets, origins)
    if direct.blockers and not recursive:
        labels = sorted({_label(root, u) if (u := _jail_unit(root, b)) else b for b in direct.blockers})
        rels = ", ".join(n for n in dict.fromkeys(names))
        raise HasDependants(rels, ", ".join(labels))
    plan = plan_destroy(targets, origins, lambda clone: _jail_unit(root, clone))
    if plan.blockers:
        raise OutsideDependants(", ".join(dict.fromkeys(names)), ", ".join(plan.blockers))
    dependants = tuple(sorted(_label(root, u) for u in plan.units if u not in targets))
    return DestroyPlan(tuple(dict.fromkeys(names)), plan.units, plan.origin_snapshots, dependants)


def destroy_releases(host: Host, plan: DestroyPlan, *, recursive: bool, download: bool) -> tuple[str, ...]:
    """Carry out a confirmed plan, after checking (under the release locks) that it still holds."""
    with ExitStack() as stack:
        for name in sorted(set(plan.releases)):  # sorted: two commands cannot deadlock
            stack.enter_context(lock(host, name))
        now = plan_destroy_releases(host, list(plan.releases), recursive=recursive, download=download)
        extra = sorted(set(now.units) - set(plan.units))
        if extra:
            raise ChangedMeanwhile(", ".join(plan.releases), ", ".join(extra))
        for unit in now.units:
            if host.zfs.exists(unit):
                host.zfs.destroy(unit, recursive=True)
        for snap in now.origin_snapshots:
            host.zfs.destroy(snap)
        return now.units
