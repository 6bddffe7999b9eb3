"""One batched look at the iocage tree: POOL/iocage down to jails/NAME/root and releases/REL/root,
from one `zfs get`, which create, clone, rename and import start from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from iocjail.errors import DatasetNotFound, PoolNotFound
from iocjail.model.datasets import validate_pool_name
from iocjail.platform.zfs_output import Dataset
from iocjail.site import releases
from iocjail.site.host import Host, IocrootMissing, IocrootNotMounted

PROPS = ("mountpoint", "mounted", "origin", releases.COMPLETE_PROP)


@dataclass(frozen=True)
class Inventory:
    """POOL/iocage down to jails/NAME/root and releases/REL/root, from one `zfs get`."""

    host: Host
    datasets: dict[str, Dataset]

    @property
    def iocroot(self) -> Path:
        return Path(self._mountpoint(self.host.iocage_dataset))

    def _mountpoint(self, name: str) -> str:
        ds = self.datasets[name]
        mountpoint = ds.get("mountpoint") or "-"
        if ds.get("mounted") != "yes" or not mountpoint.startswith("/"):
            raise IocrootNotMounted(name, mountpoint, name)
        return mountpoint

    def names(self, category: str) -> list[str]:
        parent = self.host.dataset(category)
        return sorted(n[len(parent) + 1:] for n in self.datasets if n.startswith(parent + "/")
                      and "/" not in n[len(parent) + 1:])

    def all_names(self) -> list[str]:
        return self.names("jails") + self.names("templates")

    def exists(self, name: str) -> bool:
        return name in self.datasets

    def mountpoint_of(self, dataset: str) -> Path:
        """Where `dataset` is (or will be, once made) mounted: its own, else under its parent's."""
        if dataset in self.datasets:
            return Path(self.datasets[dataset].get("mountpoint") or "-")
        parent, _, leaf = dataset.rpartition("/")
        return self.mountpoint_of(parent) / leaf

    def release(self, name: str) -> releases.Release:
        """A complete release, as `list -r` shows it (accepting the upper-cased name)."""
        for candidate in dict.fromkeys((name, name.upper())):
            ds = self.host.dataset("releases", candidate)
            if ds in self.datasets and f"{ds}/root" in self.datasets:
                if self.datasets[ds].get(releases.COMPLETE_PROP) == "no":
                    raise releases.ReleaseIncomplete(candidate, candidate)
                return releases.Release(candidate, ds, True)
        raise releases.ReleaseNotFound(name, name)


def trust_pool_override(host: Host) -> None:
    """With --pool/IOCJAIL_POOL, take the pool at its word instead of a `zpool list` first (one
    zfs-fuse round trip less per create): `inventory()` proves it exists before anything changes."""
    if host.pool_override:
        validate_pool_name(host.pool_override)  # it names lock files
        host.use_pool(host.pool_override)


def inventory(host: Host) -> Inventory:
    root = host.iocage_dataset
    try:
        datasets = {d.name: d for d in host.zfs.list_datasets(root, PROPS, depth=3)}
    except DatasetNotFound:
        if host.pool_override and host.pool_override not in {p.name for p in host.zfs.pools()}:
            raise PoolNotFound(host.pool_override) from None
        datasets = {}
    if root not in datasets:
        raise IocrootMissing(host.pool, root, host.pool)
    inv = Inventory(host, datasets)
    host.remember_iocroot(inv.iocroot)
    return inv
