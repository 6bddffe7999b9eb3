"""Jails laid out on the pool the way iocage leaves them, for tests of commands that read them."""

from __future__ import annotations

import json
from pathlib import Path

from iocjail.platform.zfs import Zfs
from tests.support.cli import mountpoint


def thin_config(name: str, **extra: str) -> dict[str, str]:
    cfg = {"CONFIG_VERSION": "34", "host_hostname": name.replace("_", "-"), "host_hostuuid": name,
           "jail_zfs_dataset": f"iocage/jails/{name}/data", "release": "13.2-RELEASE-p4",
           "cloned_release": "13.2-RELEASE"}
    cfg.update(extra)
    return cfg


def make_jail(pool: str, name: str, cfg: dict[str, object] | None = None, category: str = "jails") -> Path:
    """A jail dataset with config.json, an empty fstab and an empty root/ dataset."""
    ds = f"{pool}/iocage/{category}/{name}"
    Zfs().create(f"{ds}/root", parents=True)
    path = mountpoint(ds)
    (path / "config.json").write_text(json.dumps(cfg or thin_config(name), indent=4, sort_keys=True) + "\n")
    (path / "fstab").write_text("")
    return path


def clone_family(iocage: str, release: str, thin: str, template: str, from_template: str, thick: str) -> None:
    """With plain zfs, as iocage lays them out: a thin jail and a template cloned from
    `releases/RELEASE/root`, a jail cloned from the template, and a thick (unrelated) jail."""
    zfs = Zfs()
    rel_root = f"{iocage}/releases/{release}/root"
    zfs.snapshot(f"{rel_root}@{thin}")
    zfs.create(f"{iocage}/jails/{thin}")
    zfs.clone(f"{rel_root}@{thin}", f"{iocage}/jails/{thin}/root")
    zfs.snapshot(f"{rel_root}@{template}")
    zfs.create(f"{iocage}/templates/{template}")
    zfs.clone(f"{rel_root}@{template}", f"{iocage}/templates/{template}/root")
    zfs.snapshot(f"{iocage}/templates/{template}/root@{from_template}")
    zfs.create(f"{iocage}/jails/{from_template}")
    zfs.clone(f"{iocage}/templates/{template}/root@{from_template}", f"{iocage}/jails/{from_template}/root")
    zfs.create(f"{iocage}/jails/{thick}/root", parents=True)
