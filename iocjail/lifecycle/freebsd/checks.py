"""Kernel features a FreeBSD start needs, checked before anything runs (sysctl names as data).

iocage finds out halfway: rctl rules "fail to set" after the jail is up, a vnet start dies at
``ifconfig … vnet`` with the epair already made. Here the service reads every name in
`HOST_SYSCTLS` with one ``sysctl -i`` (names the kernel lacks are simply absent) and the plan
refuses with every missing feature named, and how to get it.
"""

from __future__ import annotations

from collections.abc import Mapping

from iocjail.errors import IocjailError
from iocjail.model.jail import JailSettings

# (sysctl, required value or None for "present", what needs it, how to get it)
RACCT = ("kern.racct.enable", "1", "rctl limits",
         "set kern.racct.enable=1 in /boot/loader.conf and reboot")
VIMAGE = ("kern.features.vimage", "1", "vnet=1", "boot a kernel built with options VIMAGE (GENERIC has it)")
IPFW = ("net.inet.ip.fw.enable", None, "nat_backend=ipfw", "kldload ipfw ipfw_nat (ipfw_enable, ipfw_nat_enable)")
IPFW_ONE_PASS = ("net.inet.ip.fw.one_pass", "0", "nat_backend=ipfw",
                 "sysctl net.inet.ip.fw.one_pass=0, so inbound packets reach every jail's NAT instance")
PF = ("net.pf.states_hashsize", None, "nat_backend=pf",
      'kldload pf, pfctl -e, and add nat-anchor "iocjail/*" and rdr-anchor "iocjail/*" to pf.conf')
LINUX = ("compat.linux.osrelease", None, "mount_linprocfs", "kldload linux64 (linux_enable=YES)")

HOST_SYSCTLS = tuple(dict.fromkeys(req[0] for req in (RACCT, VIMAGE, IPFW, IPFW_ONE_PASS, PF, LINUX)))

Requirement = tuple[str, str | None, str, str]


class HostFeatureMissing(IocjailError):
    template = "{}: this host cannot start it: {}"


def requirements(settings: JailSettings) -> list[Requirement]:
    """The kernel features the jail's settings need."""
    needed: list[Requirement] = []
    if settings.rctl:
        needed.append(RACCT)
    if settings.vnet:
        needed.append(VIMAGE)
    if settings.nat:
        needed += [PF] if settings.nat_backend == "pf" else [IPFW, IPFW_ONE_PASS]
    if settings.mount_linprocfs:
        needed.append(LINUX)
    return needed


def missing(settings: JailSettings, sysctls: Mapping[str, str]) -> list[str]:
    """One line per unmet requirement: what needs it, what is wrong, how to fix it."""
    problems = []
    for name, value, user, fix in requirements(settings):
        found = sysctls.get(name)
        if found is None:
            problems.append(f"{user} needs {name}, which this kernel lacks: {fix}")
        elif value is not None and found != value:
            problems.append(f"{user} needs {name}={value} (it is {found}): {fix}")
    return problems


def check_host(name: str, settings: JailSettings, sysctls: Mapping[str, str]) -> None:
    problems = missing(settings, sysctls)
    if problems:
        raise HostFeatureMissing(name, "; ".join(problems))
