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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from iocjail.errors import UsageError
from iocjail.lifecycle.plan import Action, Plan, Step, check_order, op, resolver_step, run
from iocjail.model import addresses as A
from iocjail.model.values import is_true, kernel_name

NSENTER_NET = ("nsenter", "--target", "{pid}", "--net")
# (name under /dev, mode, major, minor) — the nodes of a minimal /dev, as devfs ruleset 4 unhides.
DEV_NODES = (("null", 0o666, 1, 3), ("zero", 0o666, 1, 5), ("full", 0o666, 1, 7), ("random", 0o666, 1, 8),
             ("urandom", 0o666, 1, 9), ("tty", 0o666, 5, 0))
DEV_LINKS = (("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"))
RUNTIME_FSTYPES = ("procfs", "linprocfs", "fdescfs", "linsysfs", "devfs")  # the runtime provides these
CLEAN_PATH = "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:/root/bin"
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


def clean_env(caller: Mapping[str, str]) -> dict[str, str]:
    """The environment of commands run inside with exec_clean=1 (iocage's exec, §1.10)."""
    lang = caller.get("LANG") or "en_US.UTF-8"
    return {"PATH": CLEAN_PATH, "PWD": "/", "HOME": "/", "TERM": caller.get("TERM") or "xterm-256color",
            "LANG": lang, "LC_ALL": caller.get("LC_ALL") or lang, "USER": "root", "SHELL": "/bin/sh"}


def network_mode(name: str, cfg: Mapping[str, str]) -> str:
    """`vnet`, `host` (shares the host's network) or `private` (loopback only); refuses shared-IP."""
    if is_true(cfg.get("vnet")):
        return "vnet"
    ip4 = A.parse_ip4_addr(cfg.get("ip4_addr", "none"))
    ip6 = A.parse_ip6_addr(cfg.get("ip6_addr", "none"))
    if ip4 or ip6 or is_true(cfg.get("dhcp")):
        raise UnsupportedOnLinux(name, "ip4_addr/ip6_addr without vnet is FreeBSD's shared-IP mode, which Linux "
                                 "does not have; set vnet=on (own network stack), or ip4_addr=none with "
                                 "ip4=inherit to share the host's network")
    if "inherit" in (cfg.get("ip4"), cfg.get("ip6")):
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


def build_linux_plan(name: str, cfg: Mapping[str, str], facts: LinuxFacts) -> Plan:
    """The start plan of jail `name` (see the module docstring for the steps)."""
    net = network_mode(name, cfg)
    root = facts.root
    hooks = _Hooks(name, cfg, facts)
    steps = [
        # undone last, once the jail is gone: what is still mounted under ROOT wherever the jail
        # moved it, then ROOT private again
        Step("mount", (op("share", root),), (op("umount_under", root, needs=1), op("private", root, needs=1))),
        _fstab_step(parse_fstab(name, facts.fstab, root), root),
    ]
    if is_true(cfg.get("mount_devfs", "1")):
        steps.append(_devfs_step(root))
    steps.append(Step("exec.prestart", (hooks.hook("exec_prestart"),), (), (hooks.hook("exec_poststop"),)))
    jail_do: list[Action] = [op("spawn", root, cfg.get("host_hostname") or name, net, *facts.holder)]
    if net != "host":
        jail_do.append(run(*NSENTER_NET, "ip", "link", "set", "lo", "up"))
    steps.append(Step("jail", tuple(jail_do), (op("kill", root),)))
    steps.append(Step("exec.created", (hooks.hook("exec_created"),)))
    if net == "vnet":
        steps.append(_vnet_step(name, cfg, facts.jid))
    resolver = resolver_step(cfg, facts)
    if resolver.do:
        steps.append(resolver)
    timeout = _timeout(cfg.get("exec_timeout"))
    stop = float(cfg.get("stop_timeout") or 30)
    steps.append(Step("exec.start", (hooks.inside("exec_start", timeout),),
                      (hooks.inside("exec_stop", timeout, hook=True, needs=1), op("terminate", root, str(stop)))))
    steps.append(Step("exec.poststart", (hooks.hook("exec_poststart"),), (hooks.hook("exec_prestop", needs=1),)))
    check_order(steps)
    return Plan(name, tuple(s for s in steps if s.do), {
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


def _timeout(value: str | None) -> float | None:
    seconds = float(value or 0)
    return seconds if seconds > 0 else None  # jail(8): exec.timeout 0 waits for ever


class _Hooks:
    def __init__(self, name: str, cfg: Mapping[str, str], facts: LinuxFacts) -> None:
        self.cfg = cfg
        self.timeout = _timeout(cfg.get("exec_timeout"))
        self.env = {"JID": str(facts.jid), "JNAME": kernel_name(name), "IOCAGE_NAME": name,
                    "IOCAGE_HOSTNAME": cfg.get("host_hostname") or name, "IOCJAIL_ROOT": facts.root}

    def hook(self, key: str, *, needs: int = 0) -> Action:
        """A user's exec_* hook, run on the host through /bin/sh -c (the one shell allowed)."""
        return op("hook", self.cfg.get(key) or "/usr/bin/true", needs=needs, env=self.env, hook=True,
                  timeout=self.timeout)

    def inside(self, key: str, timeout: float | None, *, hook: bool = False, needs: int = 0) -> Action:
        env = clean_env({}) if is_true(self.cfg.get("exec_clean", "1")) else {}
        return op("jexec", self.cfg.get(key) or "/usr/bin/true", needs=needs, env=env, hook=hook, timeout=timeout)


def _fstab_step(mounts: list[Mount], root: str) -> Step:
    do = tuple(op("mount", m.fstype, m.source, root, m.target, m.options) for m in mounts)
    undo = tuple(op("umount", root, m.target, needs=i + 1) for i, m in reversed(list(enumerate(mounts))))
    return Step("mount.fstab", do, undo)


def _devfs_step(root: str) -> Step:
    do: list[Action] = [op("mount", "tmpfs", "tmpfs", root, "/dev", "rw,mode=0755,size=1m,nosuid,noexec")]
    do += [op("mknod", root, f"/dev/{n}", oct(mode)[2:], str(major), str(minor)) for n, mode, major, minor in DEV_NODES]
    do += [op("mkdir", root, "/dev/pts"), op("mkdir", root, "/dev/shm")]
    do.append(op("mount", "devpts", "devpts", root, "/dev/pts", "rw,newinstance,ptmxmode=0666,mode=0620,nosuid,noexec"))
    devpts = len(do)
    do += [op("symlink", root, f"/dev/{n}", target) for n, target in DEV_LINKS]
    undo = (op("umount", root, "/dev/pts", needs=devpts), op("umount", root, "/dev", needs=1))
    return Step("mount.devfs", tuple(do), undo)


def _vnet_step(name: str, cfg: Mapping[str, str], jid: int) -> Step:
    ip4 = A.parse_ip4_addr(cfg.get("ip4_addr", "none"))
    ip6 = A.parse_ip6_addr(cfg.get("ip6_addr", "none"))
    if is_true(cfg.get("dhcp")) or any(a.kind != "static" for a in (*ip4, *ip6)):
        raise UnsupportedOnLinux(name, "DHCP and accept_rtadv are not available on Linux yet: give static addresses")
    do: list[Action] = []
    pairs = A.parse_interfaces(cfg.get("interfaces", "vnet0:bridge0"))
    known = {nic for nic, _ in pairs}
    for addr in (*ip4, *ip6):
        if (addr.iface or "vnet0") not in known:
            raise UnsupportedOnLinux(name, f"{addr}: {addr.iface or 'vnet0'} is not in interfaces")
    groups: list[list[Action]] = []
    for nic, bridge in pairs:
        index = nic[len("vnet"):]
        host_if, jail_if = f"{nic}.{jid}", f"epair{index}b"
        do.append(run("ip", "link", "add", host_if, *_mac(cfg, nic, 0), "type", "veth",
                      "peer", "name", jail_if, *_mac(cfg, nic, 1), "netns", "{pid}"))
        group = [op("link_del", host_if, needs=len(do))]
        mtu = cfg.get(f"{nic}_mtu", "auto")
        if mtu != "auto":
            do.append(run("ip", "link", "set", host_if, "mtu", mtu))
            do.append(run(*NSENTER_NET, "ip", "link", "set", jail_if, "mtu", mtu))
        if bridge:  # made if missing and joined in one locked step, so a stop never races it
            do.append(op("bridge", bridge, host_if))
            group.append(op("unbridge", bridge, needs=len(do)))
        do.append(run("ip", "link", "set", host_if, "up"))
        for addr in (a for a in (*ip4, *ip6) if (a.iface or "vnet0") == nic):
            family = ["-6"] if ":" in (addr.address or "") else []
            length = addr.prefixlen if addr.prefixlen is not None else (128 if family else 32)
            do.append(run(*NSENTER_NET, "ip", *family, "addr", "add", f"{addr.address}/{length}", "dev", jail_if))
        do.append(run(*NSENTER_NET, "ip", "link", "set", jail_if, "up"))
        groups.append(group)  # undo per pair: the veth first, then the bridge it emptied
    for key, family in (("defaultrouter", []), ("defaultrouter6", ["-6"])):
        gateway = cfg.get(key, "auto")
        has_addr = any(":" in (a.address or "") for a in ip6) if family else bool(ip4)
        if gateway not in ("auto", "none") and has_addr:  # auto: Linux has no bridge gateway to guess
            gw, _, zone = gateway.partition("%")
            dev = ["dev", f"epair{zone[len('vnet'):]}b"] if zone.startswith("vnet") else []
            do.append(run(*NSENTER_NET, "ip", *family, "route", "add", "default", "via", gw, *dev))
    return Step("vnet.interface", tuple(do), tuple(a for group in reversed(groups) for a in group))


def _mac(cfg: Mapping[str, str], nic: str, side: int) -> list[str]:
    """`address MAC` from vnetN_mac ("host jail"), or nothing: the kernel picks one."""
    value = cfg.get(f"{nic}_mac", "none")
    if value in ("none", ""):
        return []
    macs = value.split()
    mac = macs[side] if side < len(macs) else macs[0]
    if ":" not in mac:
        mac = ":".join(mac[i:i + 2] for i in range(0, 12, 2))
    return ["address", mac]


