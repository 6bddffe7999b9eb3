"""The jail.conf block iocjail hands to jail(8) for a jail (`iocjail jailconf`, and the start plan)."""

from __future__ import annotations

import platform
import sys

from iocjail.model.jail import JailSettings
from iocjail.model.jail_params import Param, jail_params, render_jail_conf
from iocjail.site.host import Host
from iocjail.site.jail import with_jail


def host_version() -> str | None:
    """The FreeBSD release gates which parameters exist; elsewhere nothing is gated."""
    return platform.release() if sys.platform.startswith("freebsd") else None


def params(host: Host, name: str) -> tuple[str, list[Param]]:
    with with_jail(host, name, lock=False) as (ref, current):
        cfg = current.effective
    return ref.name, jail_params(ref.name, JailSettings.from_effective(cfg), str(ref.path), str(host.iocroot),
                                 host_version())


def render(host: Host, name: str) -> str:
    jail, plist = params(host, name)
    return render_jail_conf(jail, plist)
