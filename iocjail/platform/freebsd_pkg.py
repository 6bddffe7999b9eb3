"""pkg(8) run from the host against a jail, as argv lists (builders only, like platform/freebsd.py).

The host's pkg(8) manages a running jail with ``-j ioc-NAME`` right after ``pkg``: it keeps the
package database, pkg.conf and keys inside the jail (seed 003, "pkg(8)"). A jail without pkg of
its own gets it first with ``pkg-static -j ioc-NAME install -q -y pkg``, as iocage does before a
package list. Install steps run non-interactively (ASSUME_ALWAYS_YES); `iocjail pkg` itself runs
on the user's terminal and asks whatever pkg asks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from iocjail.model.values import kernel_name
from iocjail.platform.freebsd import TOOL_PATH

Argv = tuple[str, ...]

JAIL_PKG = "usr/local/sbin/pkg"  # present in the jail's root once pkg is bootstrapped there


def pkg_env(caller: Mapping[str, str]) -> dict[str, str]:
    """The clean environment of pkg runs (iocage's exec environment, §1.10)."""
    lang = caller.get("LANG") or "en_US.UTF-8"
    return {"PATH": TOOL_PATH, "PWD": "/", "HOME": "/", "TERM": caller.get("TERM") or "xterm-256color",
            "LANG": lang, "LC_ALL": caller.get("LC_ALL") or lang}


def batch_env(caller: Mapping[str, str]) -> dict[str, str]:
    """For installs nobody answers: every question answered yes."""
    return {**pkg_env(caller), "ASSUME_ALWAYS_YES": "yes"}


def pkg_argv(name: str, args: Sequence[str]) -> Argv:
    """``pkg -j ioc-NAME ARGS…``"""
    return ("pkg", "-j", kernel_name(name), *args)


def bootstrap_argv(name: str) -> Argv:
    """``pkg-static -j ioc-NAME install -q -y pkg``: pkg itself, installed into the jail."""
    return ("pkg-static", "-j", kernel_name(name), "install", "-q", "-y", "pkg")


def install_argv(name: str, package: str) -> Argv:
    """``pkg -j ioc-NAME install -q -y PACKAGE``"""
    return pkg_argv(name, ("install", "-q", "-y", package))


def reinstall_all_argv(name: str) -> Argv:
    """``pkg -j ioc-NAME upgrade -f -y``: every package again, after a new release (seed 003)."""
    return pkg_argv(name, ("upgrade", "-f", "-y"))
