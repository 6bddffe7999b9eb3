"""`activate POOL`: mark the pool iocjail (and iocage) use, and lay out its iocage tree."""

from __future__ import annotations

from dataclasses import dataclass

from iocjail.errors import PoolNotFound
from iocjail.model.datasets import validate_pool_name
from iocjail.platform.zfs import ACTIVE_PROP
from iocjail.site import config
from iocjail.site.host import IOCAGE_CHILDREN, Host


@dataclass(frozen=True)
class Activated:
    pool: str
    created: tuple[str, ...]  # datasets this call created
    moved_from: tuple[str, ...]  # pools that carried the mark before


def activate(host: Host, pool: str) -> Activated:
    """Idempotent: re-activating the active pool creates only what is missing.

    The datasets and defaults.json are made before the mark moves, so a failure leaves the
    previous active pool in charge.
    """
    validate_pool_name(pool)
    if pool not in {p.name for p in host.zfs.pools()}:
        raise PoolNotFound(pool)
    root = f"{pool}/iocage"
    existing = {d.name for d in host.zfs.list_datasets(pool, depth=2)}
    created = []
    for name in (root, *(f"{root}/{child}" for child in IOCAGE_CHILDREN)):
        if name not in existing:
            host.zfs.create(name, parents=True)
            created.append(name)
    host.use_pool(pool)
    config.load_defaults(host)  # created when missing; an iocage host's own is kept
    others = [p for p in host.active_pools() if p != pool]
    host.zfs.set(pool, {ACTIVE_PROP: "yes"})
    for other in others:
        host.zfs.set(other, {ACTIVE_PROP: "no"})
    return Activated(pool, tuple(created), tuple(others))
