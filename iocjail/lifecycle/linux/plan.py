"""The Linux plan: a jail's effective config and host facts in, a `Plan` out. Pure.

A Linux jail is a process tree in new mount, pid, uts and ipc namespaces (and net, see below)
whose init is iocjail's holder (platform/linux_holder.py) pivoted into the jail's root. The steps
keep jail(8)'s names and order:

  mount           ROOT made a shared mount, so fstab entries mounted while the jail runs reach it;
                  undone last: everything still mounted under ROOT in the host's mount table is
                  unmounted, found by mount ID wherever the jail's root user moved it (renamed a
                  parent, unmounted it inside and renamed it, swapped in a symlink)
  mount.fstab     nullfs → read-only (or `rw`) bind mounts, tmpfs → tmpfs; basejail lines are fstab
                  lines; procfs/linprocfs/fdescfs lines are provided by the runtime and skipped
  mount.devfs     a small tmpfs on /dev: null zero full random urandom tty, a private devpts, links
  exec.prestart   the user's hook on the host; its cleanup is exec_poststop (jail(8)'s stop order)
  jail            unshare + the holder (hostname, pivot_root, /proc); loopback up when private
  exec.created    hook
  vnet.interface  per `interfaces` pair: bridge (made if missing), veth `vnetN.JID` ↔ `epairNb`
                  in the jail, ip4_addr/ip6_addr and the default routes inside
  resolver        resolv.conf from `resolver`, localtime from `host_time` (never through a symlink)
  exec.start      exec_start inside; undo: exec_stop inside, SIGTERM, stop_timeout, SIGKILL
  exec.poststart  hook; undo: exec_prestop

Networking: vnet=1 gives the jail its own network namespace and the veth pairs. Without vnet,
an `ip4=inherit` (or `ip6=inherit`) jail without addresses shares the host's network; addresses
without vnet are FreeBSD's shared-IP mode, which Linux has no equivalent of: refused here, before
anything runs. Otherwise the jail gets a private network namespace with only loopback.

Not on Linux (yet): rctl limits and cpuset are not applied; DHCP and accept_rtadv are refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from iocjail.errors import UsageError
from iocjail.lifecycle.plan import Action, Plan, Step, check_order, op, run
from iocjail.lifecycle.steps import StepBuilder, clean_env, hook, hook_env, resolver_step
from iocjail.model.jail import JailSettings
from iocjail.model.values import kernel_name

NSENTER_NET = ("nsenter", "--target", "{pid}", "--net")
# (name under /dev, mode, major, minor) — the nodes of a minimal /dev, as devfs ruleset 4 unhides.
DEV_NODES = (("null", 0o666, 1, 3), ("zero", 0o666, 1, 5), ("full", 0o666, 1, 7), ("random", 0o666, 1, 8),
             ("urandom", 0o666, 1, 9), ("tty", 0o666, 5, 0))
DEV_LINKS = (("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"))
RUNTIME_FSTYPES = ("procfs", "linprocfs", "fdescfs", "linsysfs", "devfs")  # the runtime provides these
_ESCAPE = re.compile(r"\\([0-7]{3})")


class UnsupportedOnLinux(UsageError):
    template = "{}: {} (the Linux runtime cannot run this jail as configured)"


@dataclass(frozen=True)
class LinuxFacts:
    """What the plan needs from the host, gathered by the service before building it."""

    jid: int
    root: str  # the jail's root directory (jails/NAME/root)
    holder: tuple[str, ...]  # argv that runs platform/linux_holder.py: (python, -I, -S, path)
    console_log: str  # iocroot/log/NAME-console.log: output of exec_start/exec_stop and hooks
    fstab: str = ""  # the jail's fstab file
    resolv_conf: str | None = None  # the host's /etc/resolv.conf (None: missing)
    localtime: bool = True  # the host has /etc/localtime


@dataclass(frozen=True)
class Mount:
    source: str
    target: str  # inside the jail: /usr/src
    fstype: str  # as Linux mount(8) takes it: bind or tmpfs
    options: str


def network_mode(name: str, settings: JailSettings) -> str:
    """`vnet`, `host` (shares the host's network) or `private` (loopback only); refuses shared-IP."""
    if settings.vnet:
        return "vnet"
    if settings.ip4 or settings.ip6 or settings.dhcp:
        raise UnsupportedOnLinux(name, "ip4_addr/ip6_addr without vnet is FreeBSD's shared-IP mode, which Linux "
                                 "does not have; set vnet=on (own network stack), or ip4_addr=none with "
                                 "ip4=inherit to share the host's network")
    if "inherit" in (settings.ip4_mode, settings.ip6_mode):
        return "host"
    return "private"


def parse_fstab(name: str, text: str, root: str) -> list[Mount]:
    """The mounts of a jail's fstab. Destinations are host paths under ROOT (what iocage stores)
    or paths inside the jail; a line that cannot be mounted on Linux is refused here."""
    mounts = []
    for number, line in enumerate(text.splitlines()):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 6:
            raise UnsupportedOnLinux(name, f"fstab line {number}: expected 6 fields: {line.strip()!r}")
        source, dest, fstype, options = (_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), f) for f in fields[:4])
        mount = fstab_mount(name, source, dest, fstype, options, root, f"fstab line {number}: ")
        if mount is not None:
            mounts.append(mount)
    return mounts


def fstab_mount(name: str, source: str, dest: str, fstype: str, options: str, root: str,
                where: str = "") -> Mount | None:
    """One fstab entry as a Linux mount; None for the file systems the runtime provides."""
    if fstype in RUNTIME_FSTYPES:
        return None
    target = _inside(dest, root)
    if target is None:
        raise UnsupportedOnLinux(name, f"{where}{dest} is not under the jail's root {root}")
    opts = [o for o in options.split(",") if o and o not in ("rw", "ro")]
    mode = "ro" if "ro" in options.split(",") else "rw"
    if fstype == "nullfs":
        return Mount(source, target, "bind", ",".join([mode, *opts]))
    if fstype == "tmpfs":
        return Mount("tmpfs", target, "tmpfs", ",".join([mode, *opts]))
    raise UnsupportedOnLinux(name, f"{where}{fstype} cannot be mounted by the Linux runtime")


def _inside(dest: str, root: str) -> str | None:
    """/usr/src for ROOT/usr/src or /usr/src; None for a relative path or `..`."""
    if not dest.startswith("/"):
        return None
    parts = [p for p in dest.split("/") if p]
    rootparts = [p for p in root.split("/") if p]
    if parts[:len(rootparts)] == rootparts:
        parts = parts[len(rootparts):]
    else:  # the root as another iocroot spelled it (a moved pool): …/jails/NAME/root/…
        marks = [i for i in range(2, len(parts)) if parts[i] == "root" and parts[i - 2] == "jails"]
        if marks:
            parts = parts[marks[-1] + 1:]
    if not parts or any(p in (".", "..") for p in parts):
        return None
    return "/" + "/".join(parts)


def build_linux_plan(name: str, settings: JailSettings, facts: LinuxFacts) -> Plan:
    """The start plan of jail `name` (see the module docstring for the steps)."""
    s = settings
    net = network_mode(name, s)
    root = facts.root
    env = {**hook_env(name, s, facts.jid), "IOCJAIL_ROOT": root}
    # undone last, once the jail is gone: what is still mounted under ROOT wherever the jail
    # moved it, then ROOT private again
    mount = StepBuilder("mount")
    mount.pair(op("share", root), op("private", root))
    mount.undo(op("umount_under", root), needs=1)
    steps = [mount.step(), _fstab_step(parse_fstab(name, facts.fstab, root), root)]
    if s.mount_devfs:
        steps.append(_devfs_step(root))
    steps.append(Step("exec.prestart", (hook(s, "exec_prestart", env),), (), (hook(s, "exec_poststop", env),)))
    jail_do: list[Action] = [op("spawn", root, s.hostname or name, net, *facts.holder)]
    if net != "host":
        jail_do.append(run(*NSENTER_NET, "ip", "link", "set", "lo", "up"))
    steps.append(Step("jail", tuple(jail_do), (op("kill", root),)))
    steps.append(Step("exec.created", (hook(s, "exec_created", env),)))
    if net == "vnet":
        steps.append(_vnet_step(name, s, facts.jid))
    resolver = resolver_step(s, facts)
    if resolver.do:
        steps.append(resolver)
    steps.append(Step("exec.start", (_in_jail(s, "exec_start"),),
                      (_in_jail(s, "exec_stop", hook=True, needs=1), op("terminate", root, str(s.stop_timeout)))))
    steps.append(Step("exec.poststart", (hook(s, "exec_poststart", env),), (hook(s, "exec_prestop", env, needs=1),)))
    check_order(steps)
    return Plan(name, tuple(step for step in steps if step.do), {
        "platform": "linux", "root": root, "jid": str(facts.jid), "console_log": facts.console_log,
        "kernel_name": kernel_name(name), "network": net})


def unmount_order(mounts: Sequence[tuple[int, int, str]], root: str) -> list[tuple[int, int, str]]:
    """The (mount ID, parent ID, mount point) strictly under ROOT, each before the mount it sits
    on (deepest first), so each unmount finds nothing mounted on it. ROOT itself (the dataset's
    own mount) is not among them."""
    prefix = root.rstrip("/") + "/"
    left = [m for m in mounts if m[2].startswith(prefix)]
    order: list[tuple[int, int, str]] = []
    while left:
        parents = {m[1] for m in left}
        leaves = [m for m in left if m[0] not in parents] or left  # a cycle cannot be: never stuck
        order += reversed(leaves)
        left = [m for m in left if m not in leaves]
    return order


def _in_jail(s: JailSettings, key: str, *, hook: bool = False, needs: int = 0) -> Action:
    """exec_start or exec_stop, run inside the jail (in a clean environment with exec_clean)."""
    env = clean_env({}) if s.exec_clean else {}
    return op("jexec", s.hooks[key], needs=needs, env=env, hook=hook, timeout=s.exec_timeout)


def _fstab_step(mounts: list[Mount], root: str) -> Step:
    b = StepBuilder("mount.fstab")
    for m in mounts:
        b.pair(op("mount", m.fstype, m.source, root, m.target, m.options), op("umount", root, m.target))
    return b.step()


def _devfs_step(root: str) -> Step:
    b = StepBuilder("mount.devfs")
    b.pair(op("mount", "tmpfs", "tmpfs", root, "/dev", "rw,mode=0755,size=1m,nosuid,noexec"), op("umount", root, "/dev"))
    b.add(*(op("mknod", root, f"/dev/{n}", oct(mode)[2:], str(major), str(minor)) for n, mode, major, minor in DEV_NODES))
    b.add(op("mkdir", root, "/dev/pts"), op("mkdir", root, "/dev/shm"))
    b.pair(op("mount", "devpts", "devpts", root, "/dev/pts", "rw,newinstance,ptmxmode=0666,mode=0620,nosuid,noexec"),
           op("umount", root, "/dev/pts"))
    b.add(*(op("symlink", root, f"/dev/{n}", target) for n, target in DEV_LINKS))
    return b.step()


def _vnet_step(name: str, s: JailSettings, jid: int) -> Step:
    ip4, ip6 = s.ip4, s.ip6
    if s.dhcp or any(a.kind != "static" for a in (*ip4, *ip6)):
        raise UnsupportedOnLinux(name, "DHCP and accept_rtadv are not available on Linux yet: give static addresses")
    known = {nic for nic, _ in s.interfaces}
    for addr in (*ip4, *ip6):
        if (addr.iface or "vnet0") not in known:
            raise UnsupportedOnLinux(name, f"{addr}: {addr.iface or 'vnet0'} is not in interfaces")
    b = StepBuilder("vnet.interface")
    for nic, bridge in s.interfaces:
        index = nic[len("vnet"):]
        host_if, jail_if = f"{nic}.{jid}", f"epair{index}b"
        b.pair(run("ip", "link", "add", host_if, *_mac(s, nic, 0), "type", "veth",
                   "peer", "name", jail_if, *_mac(s, nic, 1), "netns", "{pid}"), op("link_del", host_if))
        mtu = s.mtus[nic]
        if mtu != "auto":
            b.add(run("ip", "link", "set", host_if, "mtu", mtu), run(*NSENTER_NET, "ip", "link", "set", jail_if, "mtu", mtu))
        if bridge:  # made if missing and joined in one locked step, so a stop never races it
            # undo per pair: the veth first, then the bridge it emptied
            b.pair(op("bridge", bridge, host_if), op("unbridge", bridge), with_previous=True)
        b.add(run("ip", "link", "set", host_if, "up"))
        for addr in (a for a in (*ip4, *ip6) if (a.iface or "vnet0") == nic):
            family = ["-6"] if ":" in (addr.address or "") else []
            length = addr.prefixlen if addr.prefixlen is not None else (128 if family else 32)
            b.add(run(*NSENTER_NET, "ip", *family, "addr", "add", f"{addr.address}/{length}", "dev", jail_if))
        b.add(run(*NSENTER_NET, "ip", "link", "set", jail_if, "up"))
    for gateway, family in ((s.defaultrouter, []), (s.defaultrouter6, ["-6"])):
        has_addr = any(":" in (a.address or "") for a in ip6) if family else bool(ip4)
        if gateway not in ("auto", "none") and has_addr:  # auto: Linux has no bridge gateway to guess
            gw, _, zone = gateway.partition("%")
            dev = ["dev", f"epair{zone[len('vnet'):]}b"] if zone.startswith("vnet") else []
            b.add(run(*NSENTER_NET, "ip", *family, "route", "add", "default", "via", gw, *dev))
    return b.step()


def _mac(s: JailSettings, nic: str, side: int) -> list[str]:
    """`address MAC` from vnetN_mac ("host jail"), or nothing: the kernel picks one."""
    value = s.macs[nic]
    if value in ("none", ""):
        return []
    macs = value.split()
    mac = macs[side] if side < len(macs) else macs[0]
    if ":" not in mac:
        mac = ":".join(mac[i:i + 2] for i in range(0, 12, 2))
    return ["address", mac]
