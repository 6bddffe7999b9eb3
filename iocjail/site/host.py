"""The host iocjail manages: which pool is active and where its iocage tree lives.

iocage marks the active pool with the user property `org.freebsd.ioc:active=yes` on the
pool's root dataset; iocjail reads and writes the same mark, so an iocage host is adopted
as it is. Unlike iocage, nothing is ever activated silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iocjail.errors import IocjailError, NoActivePool, PoolNotFound, SeveralActivePools
from iocjail.platform.zfs import ACTIVE_PROP, Zfs

IOCAGE_CHILDREN = ("download", "images", "jails", "log", "releases", "templates")


class IocrootMissing(IocjailError):
    template = "pool {!r} is active but {!r} does not exist: run iocjail activate {}"
    exit_code = 3


class IocrootNotMounted(IocjailError):
    template = "{!r} is not mounted (mountpoint {}): mount it with zfs mount {}"
    exit_code = 3


@dataclass
class Host:
    """Lazily resolved facts about the host; one per CLI invocation."""

    zfs: Zfs = field(default_factory=Zfs)
    pool_override: str | None = None  # --pool / IOCJAIL_POOL: use this pool, skip the scan
    _pool: str | None = None
    _iocroot: Path | None = None
    runtime: Any = None  # lifecycle/runtime.Runtime (services/state.of); None: this system's, chosen on first use

    @classmethod
    def from_env(cls, pool: str | None = None) -> "Host":
        return cls(pool_override=pool or os.environ.get("IOCJAIL_POOL") or None)

    def active_pools(self) -> list[str]:
        """Pools whose root dataset carries the mark, in one zfs call."""
        pools = [p.name for p in self.zfs.pools()]
        if not pools:
            return []
        found = self.zfs.list_datasets(pools, [ACTIVE_PROP])
        return [d.name for d in found if d.is_local(ACTIVE_PROP) and d.get(ACTIVE_PROP) == "yes"]

    @property
    def pool(self) -> str:
        if self._pool is None:
            self._pool = self._resolve_pool()
        return self._pool

    def _resolve_pool(self) -> str:
        if self.pool_override:
            if self.pool_override not in {p.name for p in self.zfs.pools()}:
                raise PoolNotFound(self.pool_override)
            return self.pool_override
        active = self.active_pools()
        if not active:
            raise NoActivePool()
        if len(active) > 1:
            raise SeveralActivePools(", ".join(active))
        return active[0]

    def use_pool(self, pool: str) -> None:
        """Speak for `pool` from now on (after `activate` created its tree)."""
        self._pool, self._iocroot = pool, None

    def remember_iocroot(self, path: Path) -> None:
        """Record the iocroot a caller read in its own batched query (saves two zfs calls)."""
        self._iocroot = path

    @property
    def iocage_dataset(self) -> str:
        return f"{self.pool}/iocage"

    def dataset(self, *parts: str) -> str:
        """`POOL/iocage/part/part…`"""
        return "/".join([self.iocage_dataset, *parts])

    @property
    def iocroot(self) -> Path:
        """The mountpoint of POOL/iocage: every file path of the layout hangs from it."""
        if self._iocroot is None:
            ds = self.iocage_dataset
            found = self.zfs.list_datasets(ds, ["mountpoint", "mounted"]) if self.zfs.exists(ds) else []
            if not found:
                raise IocrootMissing(self.pool, ds, self.pool)
            mountpoint = found[0].get("mountpoint", "-") or "-"
            if found[0].get("mounted") != "yes" or not mountpoint.startswith("/"):
                raise IocrootNotMounted(ds, mountpoint, ds)
            self._iocroot = Path(mountpoint)
        return self._iocroot

    def path(self, *parts: str) -> Path:
        return self.iocroot.joinpath(*parts)
