"""The runtime of this system, chosen by `sys.platform`: the one test of the host."""

from __future__ import annotations

import sys

from iocjail.errors import IocjailError
from iocjail.lifecycle.runtime import Runtime


class RuntimeMissing(IocjailError):
    template = "iocjail runs jails on FreeBSD and Linux, not on {}"


def on_freebsd() -> bool:
    return sys.platform.startswith("freebsd")


def select(platform: str = sys.platform) -> Runtime:
    """The runtime of `platform` (a `sys.platform` value)."""
    if platform.startswith("linux"):
        from iocjail.lifecycle.linux.runtime import LinuxRuntime

        return LinuxRuntime()
    if platform.startswith("freebsd"):
        from iocjail.lifecycle.freebsd.runtime import FreeBSDRuntime

        return FreeBSDRuntime()
    raise RuntimeMissing(platform)
