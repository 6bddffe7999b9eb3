"""FreeBSD's tools as argv lists: jail(8), jexec(8), jls(8), ifconfig(8), devfs(8), rctl(8),
cpuset(1), route(8), sysrc(8), setfib(1), mount(8), zfs(8) jail, pfctl(8), ipfw(8), sysctl(8).

Builders only: each function turns values into the exact argv (a tuple of words, never a shell
line) and, where a command has one, its undo sits next to it. Nothing here runs anything, so the
FreeBSD runtime is reviewed and tested on any host; `platform/freebsd_output.py` parses what the
tools print. Tools are named without a path, as their man pages write them; the runner puts
them on a fixed PATH.

Jails are addressed by their kernel name ``ioc-NAME`` (``.`` → ``_``, `model.values.kernel_name`)
except where the tool documents only a JID (cpuset's ``-j`` on older releases).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence

from iocjail.model.values import kernel_name

Argv = tuple[str, ...]

RUNTIME_CONF_DIR = "/var/run"
TOOL_PATH = "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"


def runtime_conf_path(name: str, directory: str = RUNTIME_CONF_DIR) -> str:
    """iocage's runtime jail.conf, ``/var/run/jail.ioc-NAME.conf``."""
    return f"{directory.rstrip('/')}/jail.{kernel_name(name)}.conf"


# -- jail(8), jexec(8), jls(8) ----------------------------------------------------------------

def jail_create_argv(conf_path: str, name: str) -> Argv:
    """``jail -f CONF -c ioc-NAME``: create the jail the conf describes (mounts included)."""
    return ("jail", "-f", conf_path, "-c", kernel_name(name))


def jail_remove_argv(conf_path: str, name: str) -> Argv:
    """``jail -f CONF -r ioc-NAME``: kill its processes, remove it, unmount what -c mounted.
    The conf is the one the start wrote, so the stop undoes what was applied."""
    return ("jail", "-f", conf_path, "-r", kernel_name(name))


def setfib_prefix(fib: int | str) -> Argv:
    """``setfib FIB`` in front of a command when the jail uses another routing table."""
    return () if str(fib) in ("", "0") else ("setfib", str(int(fib)))


def jexec_argv(name: str, cmd: Sequence[str], user: str | None = None, jail_user: str | None = None,
               fib: int | str = 0, clean: bool = False) -> Argv:
    """``[setfib FIB] jexec [-l] [-u USER | -U USER] ioc-NAME CMD…``.

    ``user`` is looked up on the host (-u), ``jail_user`` in the jail (-U); jexec(8) takes one.
    ``clean`` is -l: run in a clean environment, as jail(8)'s exec.clean does."""
    if user and jail_user:
        raise ValueError("jexec takes -u or -U, not both")
    if not cmd:
        raise ValueError("jexec needs a command")
    flags: list[str] = ["-l"] if clean else []
    if user:
        flags += ["-u", user]
    if jail_user:
        flags += ["-U", jail_user]
    return (*setfib_prefix(fib), "jexec", *flags, kernel_name(name), *cmd)


def jexec_shell_argv(name: str, command: str, fib: int | str = 0, clean: bool = False) -> Argv:
    """A jail's exec_start/exec_stop as jail(8) runs exec.start: ``/bin/sh -c COMMAND`` inside."""
    return jexec_argv(name, ("/bin/sh", "-c", command), fib=fib, clean=clean)


def console_argv(name: str, login_flags: str = "-f root", fib: int | str = 0) -> Argv:
    """iocage's console: ``[setfib FIB] jexec -u root ioc-NAME login -p LOGIN_FLAGS…``."""
    return jexec_argv(name, ("login", "-p", *shlex.split(login_flags)), user="root", fib=fib)


def jls_argv() -> Argv:
    """Every jail, dying ones too (a dying jail still holds its name and JID), one JSON document:
    jid, hostname, path, name, state, cpusetid, ipv4_addrs, ipv6_addrs (jls -v with libxo)."""
    return ("jls", "--libxo", "json", "-d", "-v")


# -- ifconfig(8): shared-IP aliases --------------------------------------------------------------

def _family(family: int) -> str:
    if family not in (4, 6):
        raise ValueError(f"address family {family} is neither 4 nor 6")
    return "inet" if family == 4 else "inet6"


def alias_add_argv(iface: str, family: int, address: str, prefixlen: int) -> Argv:
    """``ifconfig IF inet ADDR/LEN alias`` (``inet6`` for IPv6)."""
    return ("ifconfig", iface, _family(family), f"{address}/{prefixlen}", "alias")


def alias_remove_argv(iface: str, family: int, address: str) -> Argv:
    """``ifconfig IF inet ADDR -alias``: the undo of `alias_add_argv`."""
    return ("ifconfig", iface, _family(family), address, "-alias")


# -- ifconfig(8): epair, bridge, vnet ------------------------------------------------------------

def epair_create_argv() -> Argv:
    """``ifconfig epair create``: prints the new pair's ``a`` side, ``epairNa``."""
    return ("ifconfig", "epair", "create")


def iface_rename_argv(iface: str, new: str) -> Argv:
    return ("ifconfig", iface, "name", new)


def iface_set_argv(iface: str, *settings: str) -> Argv:
    """``ifconfig IF SETTING…`` (``mtu 1500``, ``link MAC``, ``up``, ``description TEXT``)."""
    return ("ifconfig", iface, *settings)


def iface_mtu_argv(iface: str, mtu: int) -> Argv:
    return ("ifconfig", iface, "mtu", str(int(mtu)))


def iface_link_argv(iface: str, mac: str) -> Argv:
    """``ifconfig IF link MAC``: ifconfig(8)'s lladdr/link sets the link-level address."""
    return ("ifconfig", iface, "link", mac)


def iface_description_argv(iface: str, text: str) -> Argv:
    return ("ifconfig", iface, "description", text)


def iface_up_argv(iface: str) -> Argv:
    return ("ifconfig", iface, "up")


def iface_destroy_argv(iface: str) -> Argv:
    """Destroying either side of an epair destroys the pair, the side inside a jail included."""
    return ("ifconfig", iface, "destroy")


def iface_address_argv(iface: str, family: int, address: str) -> Argv:
    """``ifconfig IF inet ADDR[/LEN] alias``: one more address, the first becoming the primary."""
    return ("ifconfig", iface, _family(family), address, "alias")


def vnet_move_argv(iface: str, name: str) -> Argv:
    """``ifconfig IF vnet ioc-NAME``: move a host interface into the jail's network stack."""
    return ("ifconfig", iface, "vnet", kernel_name(name))


def vnet_reclaim_argv(iface: str, name: str) -> Argv:
    """``ifconfig IF -vnet ioc-NAME``: take the interface back from the jail."""
    return ("ifconfig", iface, "-vnet", kernel_name(name))


def bridge_create_argv(bridge: str, members: Iterable[str] = (), description: str | None = None) -> Argv:
    """``ifconfig BRIDGE create [description TEXT] [addm IF]… up``: ifconfig(8) applies the
    words after ``create`` to the new interface."""
    words: list[str] = ["description", description] if description else []
    for member in members:
        words += ["addm", member]
    return ("ifconfig", bridge, "create", *words, "up")


def bridge_addm_argv(bridge: str, member: str) -> Argv:
    return ("ifconfig", bridge, "addm", member, "up")


def bridge_deletem_argv(bridge: str, member: str) -> Argv:
    return ("ifconfig", bridge, "deletem", member)


def route_default_argv(family: int, gateway: str) -> Argv:
    """``route add default GW`` / ``route add -inet6 default GW`` (route(8))."""
    return ("route", "add", "default", gateway) if _family(family) == "inet" else \
        ("route", "add", "-inet6", "default", gateway)


def sysrc_argv(*assignments: str, delete: bool = False) -> Argv:
    """``sysrc VAR=VALUE…`` or ``sysrc -x VAR…`` (run inside a jail through jexec)."""
    return ("sysrc", "-x", *assignments) if delete else ("sysrc", *assignments)


# -- devfs(8) -----------------------------------------------------------------------------------

def devfs_rule_add_argv(ruleset: int, rule: Sequence[str]) -> Argv:
    """``devfs rule -s N add RULESPEC…`` (e.g. ``path null unhide``); rule numbers are left to
    devfs, which numbers them in order."""
    return ("devfs", "rule", "-s", str(int(ruleset)), "add", *rule)


def devfs_delset_argv(ruleset: int) -> Argv:
    """``devfs rule -s N delset``: delete every rule of the set, and so the set."""
    return ("devfs", "rule", "-s", str(int(ruleset)), "delset")


def devfs_showsets_argv() -> Argv:
    return ("devfs", "rule", "showsets")


def kldload_argv(module: str) -> Argv:
    """``kldload -n MODULE``: load a kernel module unless it is loaded (or compiled in) already."""
    if not module or module.startswith("-") or "/" in module:
        raise ValueError(f"not a kernel module name: {module!r}")
    return ("kldload", "-n", module)


# -- rctl(8), cpuset(1) ---------------------------------------------------------------------------

def rctl_add_argv(rule: str) -> Argv:
    """``rctl -a jail:ioc-NAME:RESOURCE:ACTION=AMOUNT``."""
    return ("rctl", "-a", rule)


def rctl_remove_argv(rule_or_filter: str) -> Argv:
    """``rctl -r FILTER``: a whole rule removes that rule, ``jail:ioc-NAME:`` every rule of it."""
    return ("rctl", "-r", rule_or_filter)


def cpuset_argv(cpus: str, jid: int | str) -> Argv:
    """``cpuset -l LIST -j JID``: the jail's CPU set (a list ``0,2-3`` or ``all``)."""
    return ("cpuset", "-l", cpus, "-j", str(jid))


# -- mounts, zfs ---------------------------------------------------------------------------------

def mount_argv(fstype: str, source: str, target: str) -> Argv:
    """``mount -t procfs proc ROOT/proc`` and ``mount -t linprocfs linproc ROOT/compat/linux/proc``."""
    return ("mount", "-t", fstype, source, target)


def umount_argv(target: str) -> Argv:
    return ("umount", target)


def zfs_jail_argv(name: str, dataset: str) -> Argv:
    """``zfs jail ioc-NAME DATASET``: delegate a (jailed=on) dataset to the jail."""
    return ("zfs", "jail", kernel_name(name), dataset)


def zfs_unjail_argv(name: str, dataset: str) -> Argv:
    return ("zfs", "unjail", kernel_name(name), dataset)


# -- NAT: pfctl(8), ipfw(8), sysctl(8) -----------------------------------------------------------

def pf_load_argv(anchor: str, rules_path: str) -> Argv:
    """``pfctl -a ANCHOR -f FILE``: load the jail's rules into its own anchor only."""
    return ("pfctl", "-a", anchor, "-f", rules_path)


def pf_flush_argv(anchor: str) -> Argv:
    """``pfctl -a ANCHOR -F all``: empty that anchor; the main ruleset is untouched."""
    return ("pfctl", "-a", anchor, "-F", "all")


def ipfw_nat_config_argv(nat: int, iface: str, redirects: Sequence[str] = ()) -> Argv:
    """``ipfw -q nat N config if IF same_ports [redirect_port …]``."""
    return ("ipfw", "-q", "nat", str(int(nat)), "config", "if", iface, "same_ports", *redirects)


def ipfw_nat_delete_argv(nat: int) -> Argv:
    return ("ipfw", "-q", "nat", str(int(nat)), "delete")


def ipfw_nat_rules_argv(rule: int, nat: int, iface: str, address: str) -> tuple[Argv, Argv]:
    """The jail's two rules, both numbered ``rule``: outbound from its address, inbound on IF."""
    head = ("ipfw", "-q", "add", str(int(rule)), "nat", str(int(nat)), "ip4")
    return ((*head, "from", address, "to", "any", "out", "via", iface),
            (*head, "from", "any", "to", "any", "in", "via", iface))


def ipfw_delete_argv(rule: int) -> Argv:
    """``ipfw -q delete N``: every rule numbered N — only ever a number allocated to one jail."""
    return ("ipfw", "-q", "delete", str(int(rule)))


def sysctl_set_argv(name: str, value: str) -> Argv:
    return ("sysctl", f"{name}={value}")


def sysctl_read_argv(names: Iterable[str]) -> Argv:
    """``sysctl -i NAME…``: ``name: value`` lines; -i skips names this kernel does not have."""
    return ("sysctl", "-i", *names)
