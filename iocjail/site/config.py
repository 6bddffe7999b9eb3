"""Reading and writing defaults.json and config.json, iocage-compatible and crash-safe.

Every write happens under the jail's lock, through an atomic replace; a migration of an older
CONFIG_VERSION keeps the original bytes in config_backup.json (defaults_backup.json) first.
Templates are readonly datasets: the write lifts `readonly` for its duration, as iocage does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from iocjail.lifecycle.runtime import RUNDIR
from iocjail.model import config as model
from iocjail.model import properties
from iocjail.model.values import derive_mac_prefix
from iocjail.platform import hostfacts
from iocjail.platform.files import atomic_write, locked
from iocjail.site.host import Host
from iocjail.site.jails import JailRef

DEFAULT = "default"


def rundir() -> Path:
    """Runtime state (locks, journals): /var/run/iocjail, or IOCJAIL_RUNDIR (tests)."""
    return Path(os.environ.get("IOCJAIL_RUNDIR", str(RUNDIR)))


def lock(host: Host, name: str, timeout: float = 30.0, *, what: str = "jail") -> AbstractContextManager[None]:
    """The per-jail lock every command that changes a jail takes (`default` has one too), or with
    `what="release"` a release's (one fetch or destroy at a time); `timeout=0` tries once
    (LockTimeout if another command holds it)."""
    key = name if what == "jail" else f"{what}.{name}"
    return locked(rundir() / "locks" / f"{host.pool}.{key}.lock", f"{what} {name!r}", timeout)


# -- defaults.json --------------------------------------------------------------------------

def defaults_path(host: Host) -> Path:
    return host.path("defaults.json")


def fresh_defaults() -> dict[str, str]:
    """A new defaults.json: the registry's defaults plus the host-derived keys."""
    mac_prefix = derive_mac_prefix(hostfacts.default_route_mac(), os.urandom(3))
    return properties.default_config(mac_prefix=mac_prefix, hostid=hostfacts.read_hostid())


def load_defaults(host: Host) -> dict[str, str]:
    """defaults.json as stored, migrated once if older; created if missing (never overwritten)."""
    path = defaults_path(host)
    if not path.exists():
        with lock(host, DEFAULT):
            if not path.exists():
                atomic_write(path, model.dump_config_json(fresh_defaults()))
    text = path.read_text()
    cfg = model.parse_config_json(text, str(path))
    if cfg.get("CONFIG_VERSION") == properties.CONFIG_VERSION:
        return cfg
    with lock(host, DEFAULT):
        return _migrate_file(path, path.with_name("defaults_backup.json"), fresh_defaults(), default=True)


def _migrate_file(path: Path, backup: Path, defaults: Mapping[str, str], *, default: bool) -> dict[str, str]:
    """Re-read under the lock (someone may have migrated meanwhile), back up, write migrated."""
    text = path.read_text()
    cfg = model.parse_config_json(text, str(path))
    migrated, changed = model.migrate(cfg, dict(defaults), default=default)
    if changed:
        atomic_write(backup, text)
        atomic_write(path, model.dump_config_json(migrated))
    return migrated


# -- config.json ----------------------------------------------------------------------------

@dataclass(frozen=True)
class JailConfig:
    ref: JailRef
    stored: dict[str, str]  # config.json as it is on disk (thin)
    defaults: dict[str, str]

    @property
    def effective(self) -> dict[str, str]:
        # The registry's defaults under defaults.json: a hand-trimmed defaults.json loses nothing.
        return model.effective({**properties.default_config(), **self.defaults}, self.stored)


def load(host: Host, ref: JailRef, defaults: dict[str, str] | None = None) -> JailConfig:
    """A jail's config; pass `defaults` when loading many jails to read defaults.json once."""
    defaults = load_defaults(host) if defaults is None else defaults
    path = ref.config_path
    cfg = model.parse_config_json(path.read_text(), str(path))
    if cfg.get("CONFIG_VERSION") != properties.CONFIG_VERSION:
        with lock(host, ref.name), writable(host, ref):
            cfg = _migrate_file(path, path.with_name("config_backup.json"), defaults, default=False)
    return JailConfig(ref, cfg, defaults)


def write(host: Host, ref: JailRef, cfg: Mapping[str, str]) -> None:
    """Write config.json atomically (the caller holds the jail's lock)."""
    with writable(host, ref):
        atomic_write(ref.config_path, model.dump_config_json(dict(cfg)))


def write_defaults(host: Host, cfg: Mapping[str, str]) -> None:
    atomic_write(defaults_path(host), model.dump_config_json(dict(cfg)))


@contextmanager
def writable(host: Host, ref: JailRef) -> Iterator[None]:
    """Templates are readonly=on: lift it for the write and put it back whatever happens.

    No `zfs get readonly` first: zfs-fuse reports a mounted readonly dataset as "off (temporary)".
    """
    if not ref.is_template:
        yield
        return
    host.zfs.set(ref.dataset, {"readonly": "off"})
    try:
        yield
    finally:
        host.zfs.set(ref.dataset, {"readonly": "on"})
