"""Names for shell completion: jails, templates, releases, pools and a jail's snapshots on the
active pool (or POOL), each zfs call given up after `timeout` seconds: the user waits at the prompt."""

from __future__ import annotations

from iocjail.platform.zfs import Zfs
from iocjail.site.host import Host
from iocjail.site.jails import all_jails, resolve
from iocjail.site.releases import fetched


def _host(pool: str | None, timeout: float) -> Host:
    return Host(zfs=Zfs(timeout=timeout), pool_override=pool)


def jails(pool: str | None, *, timeout: float, templates: bool | None = False) -> list[str]:
    """Jails (templates=False), templates (True) or both (None)."""
    return [r.name for r in all_jails(_host(pool, timeout), templates=templates)]


def releases(pool: str | None, *, timeout: float) -> list[str]:
    return fetched(_host(pool, timeout))


def pools(*, timeout: float) -> list[str]:
    return [p.name for p in Zfs(timeout=timeout).pools()]


def snapshots(pool: str | None, jail: str, *, timeout: float) -> list[str]:
    host = _host(pool, timeout)
    return [s.snapshot for s in host.zfs.snapshots(resolve(host, jail, prefix=True).dataset) if s.snapshot]
