"""The FreeBSD plan: a jail's effective config and host facts in, a `Plan` of exact commands out.

Pure, like the Linux plan beside it: every command is built by platform/freebsd.py, every host
fact comes in through `FreeBSDFacts`, so the plan is rendered and reviewed on any host
(`iocjail start --plan --platform freebsd`). The steps follow iocage's start (reference §2.5),
named in jail(8)'s vocabulary, each with its undo; the stop plan is their undo in reverse:

  exec.prepare    the runtime jail.conf /var/run/jail.ioc-NAME.conf (removed at stop; undone
                  last, it first unmounts what `mount -p` still lists under ROOT); the
                  jail_zfs datasets made jailed; NAT: forwarding on, the jail's own pf anchor or
                  ipfw NAT instance and rule number
  ip4.addr/ip6.addr  shared-IP aliases this jail adds (`ifconfig IF inet A/L alias` ↔ -alias)
  mount.devfs     the generated devfs ruleset (rules ↔ delset), with a plugin jail's manifest
                  additions (`plugin_devfs`, model/devfs.py); a custom one is only checked
  mount.procfs    procfs / linprocfs, mounted by iocjail as iocage does (↔ umount)
  exec.prestart   hook on the host; its cleanup is exec_poststop, after the jail is gone
  jail            `jail -f CONF -c ioc-NAME`: jail(8) mounts mount.fstab, devfs, fdescfs (↔ jail -r)
  exec.created    hook; `zfs jail` of the jail_zfs datasets and `zfs mount -a` inside (↔ unjail)
  vnet.interface  epairs, bridges, MACs, MTU, addresses and default routes (↔ destroy, deletem)
  resolver        resolv.conf and localtime, written without following the jail's symlinks
  exec.start      exec_start inside (↔ exec_stop inside; jail -r then kills what is left)
  exec.poststart  hook (↔ exec_prestop)
  rctl, cpuset    limits after start, as iocage applies them (rctl ↔ rctl -r)

The runtime conf is `model.jail_params` with three changes: the JID the service reserved is set
(``jid``), so names such as ``vnet0.JID`` are known before the start; ``ip4.addr``/``ip6.addr``
lose their ``iface|`` and ``/mask`` (the aliases are steps of this plan, so a stop removes exactly what the
start added, whatever jail.conf says by then); exec.created runs as a step, not from jail(8).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from iocjail.errors import PropertyConflict
from iocjail.lifecycle.freebsd.checks import check_host
from iocjail.lifecycle.freebsd.vnet import host_net, vnet_step
from iocjail.lifecycle.plan import Action, Plan, Step, check_order, op, resolver_step, run
from iocjail.lifecycle.runtime import RUNDIR
from iocjail.model import addresses as A
from iocjail.model import devfs, jail_params as JP, nat as N, rctl, vnet as V
from iocjail.model.jail import JailSettings
from iocjail.model.values import is_true, kernel_name
from iocjail.platform import freebsd as F
from iocjail.platform.freebsd_output import Interface, Route

@dataclass(frozen=True)
class FreeBSDFacts:
    """What the plan needs from the host, gathered by the service (each from one command)."""

    jid: int  # reserved by the service: free in the journals and in `jls -d`
    jaildir: str  # iocroot/jails/NAME (ROOT is jaildir/root)
    iocroot: str
    pool: str
    host_version: str | None = None  # `uname -r`; None: a current release
    devfs_rulesets: frozenset[int] = frozenset({1, 2, 3, 4})  # `devfs rule showsets`
    interfaces: Mapping[str, Interface] = field(default_factory=dict)  # `ifconfig`
    routes: Mapping[int, Route] = field(default_factory=dict)  # `setfib FIB netstat -rn --libxo json`
    sysctls: Mapping[str, str] = field(default_factory=dict)  # `sysctl -i` of freebsd_checks.HOST_SYSCTLS
    datasets: frozenset[str] = frozenset()  # existing datasets among the jail_zfs ones
    ipfw_nats: frozenset[int] = frozenset()  # NAT instances and rule numbers in use (`ipfw list`)
    ipfw_rules: frozenset[int] = frozenset()
    resolv_conf: str | None = None  # the host's /etc/resolv.conf; None: missing
    localtime: bool = True
    rundir: str = str(RUNDIR)
    conf_dir: str = F.RUNTIME_CONF_DIR  # where the runtime jail.conf goes (another one only in tests)
    plugin_devfs: devfs.DevfsRules | None = None  # a pluginv2 jail's kept manifest's devfs_ruleset

    @property
    def root(self) -> str:
        return f"{self.jaildir.rstrip('/')}/root"


def build_freebsd_plan(name: str, cfg: Mapping[str, str], facts: FreeBSDFacts) -> Plan:
    """The start plan of jail `name`; raises before anything runs when it cannot work."""
    check_host(name, cfg, facts.sysctls)
    choice = devfs.choose_ruleset(cfg, facts.devfs_rulesets, facts.plugin_devfs)
    kname = kernel_name(name)
    conf_path = F.runtime_conf_path(name, facts.conf_dir)
    fib = cfg.get("exec_fib", "0")
    env = _hook_env(name, cfg, facts)
    steps = [_prepare_step(name, cfg, facts, conf_path, choice.number)]
    if not is_true(cfg.get("vnet")):
        steps += _alias_steps(cfg, facts)
    if choice.generated:
        do = tuple(run(*F.devfs_rule_add_argv(choice.number, rule)) for rule in choice.rules)
        steps.append(Step("mount.devfs", do, (run(*F.devfs_delset_argv(choice.number), needs=1),)))
    steps.append(_procfs_step(cfg, facts.root))
    steps.append(Step("exec.prestart", (_hook(cfg, "exec_prestart", env),), (),
                      (_hook(cfg, "exec_poststop", env),)))
    steps.append(_jail_step(name, cfg, conf_path, facts.root))
    steps.append(_created_step(name, cfg, facts, env))
    if is_true(cfg.get("vnet")):
        steps.append(vnet_step(name, cfg, facts.jid, host_net(facts.interfaces, facts.routes)))
    steps.append(resolver_step(cfg, facts))
    clean = is_true(cfg.get("exec_clean", "1"))
    # rtsold is not started by hand (iocage's `service rtsold start` fails once rc started it):
    # the vnet step enabled it in the jail's rc.conf, which exec_start's /etc/rc reads.
    timeout = _timeout(cfg)
    start_do = [op("jexec", *F.jexec_shell_argv(name, cfg.get("exec_start") or "/usr/bin/true", fib, clean),
                   timeout=timeout)]
    stop = op("jexec", *F.jexec_shell_argv(name, cfg.get("exec_stop") or "/usr/bin/true", fib, clean),
              hook=True, needs=1, timeout=timeout)
    steps.append(Step("exec.start", tuple(start_do), (stop,)))
    steps.append(Step("exec.poststart", (_hook(cfg, "exec_poststart", env),),
                      (_hook(cfg, "exec_prestop", env, needs=1),)))
    rules = rctl.rctl_rules(name, cfg)
    steps.append(Step("rctl", tuple(run(*F.rctl_add_argv(r)) for r in rules),
                      tuple(run(*F.rctl_remove_argv(r), needs=i + 1) for i, r in reversed(list(enumerate(rules))))))
    cpus = cfg.get("cpuset", "off")
    if cpus != "off":
        steps.append(Step("cpuset", (run(*F.cpuset_argv(cpus, facts.jid)),)))
    steps = [s for s in steps if s.do]
    check_order(steps)
    return Plan(name, tuple(steps), {
        "platform": "freebsd", "root": facts.root, "jid": str(facts.jid), "kernel_name": kname,
        "conf": conf_path, "devfs_ruleset": str(choice.number),
        "console_log": f"{facts.iocroot.rstrip('/')}/log/{name}-console.log"})


def config_updates(name: str, cfg: Mapping[str, str]) -> dict[str, str]:
    """Values a start stores in config.json first, as iocage does: the vnetN_mac pairs it makes."""
    if not is_true(cfg.get("vnet")):
        return {}
    updates = {}
    for nic, _ in A.parse_interfaces(cfg.get("interfaces", "vnet0:bridge0")):
        new = V.nic_macs(name, cfg, nic)[2]
        if new is not None:
            updates[f"{nic}_mac"] = new
    return updates


# -- the runtime conf, NAT ------------------------------------------------------------------------

def runtime_conf(name: str, cfg: Mapping[str, str], facts: FreeBSDFacts, ruleset: int) -> str:
    """/var/run/jail.ioc-NAME.conf (see the module docstring for what differs from jail_params)."""
    params = JP.jail_params(name, JailSettings.from_effective(cfg), facts.jaildir, facts.iocroot, facts.host_version, ruleset,
                            exec_created=False)
    out: list[JP.Param] = []
    for key, value in params:
        if key in ("ip4.addr", "ip6.addr") and value is not None:
            value = value.split("|", 1)[-1].split("/", 1)[0]  # the mask only mattered to ifconfig
        out.append((key, value))
        if key == "name":
            out.append(("jid", str(facts.jid)))
    return JP.render_jail_conf(name, out)


def _prepare_step(name: str, cfg: Mapping[str, str], facts: FreeBSDFacts, conf_path: str, ruleset: int) -> Step:
    folder, _, base = conf_path.rpartition("/")
    do: list[Action] = [op("write", folder, "/" + base, runtime_conf(name, cfg, facts, ruleset))]
    undo: list[Action] = [op("remove", folder, "/" + base, needs=1)]
    if is_true(cfg.get("jail_zfs")):
        for dataset in cfg.get("jail_zfs_dataset", f"iocage/jails/{name}/data").split():
            full = f"{facts.pool}/{dataset}"
            if full in facts.datasets:  # the jail's own data: made jailed, never destroyed at stop
                do.append(run("zfs", "set", "jailed=on", full))
            else:
                do.append(run("zfs", "create", "-o", "mountpoint=none", "-o", "jailed=on", full))
    if is_true(cfg.get("nat")):
        _nat_actions(name, cfg, facts, do, undo)
    # undone last: whatever is still mounted under ROOT (a mount the jail's root user renamed
    # away from the path jail(8) or the procfs step unmount by), by its mount table name
    return Step("exec.prepare", tuple(do), (op("umount_under", facts.root, needs=1), *reversed(undo)))


def nat_interface(cfg: Mapping[str, str], facts: FreeBSDFacts) -> str:
    iface = cfg.get("nat_interface", "none")
    if iface != "none":
        return iface
    route = facts.routes.get(4)
    if route is None or not route.iface:
        raise PropertyConflict("nat_interface=none needs a default route on the host")
    return route.iface


def _nat_actions(name: str, cfg: Mapping[str, str], facts: FreeBSDFacts, do: list[Action],
                 undo: list[Action]) -> None:
    lease = N.lease_of(cfg)
    if lease is None:
        raise PropertyConflict(f"{name}: nat=1 but no NAT address was allocated (ip4_addr is {cfg.get('ip4_addr')})")
    iface = nat_interface(cfg, facts)
    forwards = N.forwards(cfg.get("nat_forwards", "none"))
    do.append(run(*F.sysctl_set_argv("net.inet.ip.forwarding", "1")))  # host-wide: left on at stop
    if cfg.get("nat_backend", "ipfw") == "pf":
        anchor = N.pf_anchor(name)
        rules_dir = f"{facts.rundir.rstrip('/')}/nat"
        do.append(op("write", rules_dir, f"/{name}.pf", N.pf_rules(iface, lease.address, forwards)))
        undo.append(op("remove", rules_dir, f"/{name}.pf", needs=len(do)))
        do.append(run(*F.pf_load_argv(anchor, f"{rules_dir}/{name}.pf")))
        undo.append(run(*F.pf_flush_argv(anchor), needs=len(do)))
        return
    slot = N.ipfw_slot(facts.ipfw_nats, facts.ipfw_rules)
    do.append(run("ifconfig", iface, "-tso4", "-lro", "-vlanhwtso"))  # libalias cannot NAT offloaded segments
    do.append(run(*F.ipfw_nat_config_argv(slot.nat, iface, N.ipfw_redirects(lease.address, forwards))))
    undo.append(run(*F.ipfw_nat_delete_argv(slot.nat), needs=len(do)))
    out, inbound = F.ipfw_nat_rules_argv(slot.rule, slot.nat, iface, lease.address)
    do += [run(*out), run(*inbound)]
    undo.append(run(*F.ipfw_delete_argv(slot.rule), needs=len(do) - 1))


def _hook_env(name: str, cfg: Mapping[str, str], facts: FreeBSDFacts) -> dict[str, str]:
    env = {"JID": str(facts.jid), "JNAME": kernel_name(name), "IOCAGE_NAME": name,
           "IOCAGE_HOSTNAME": cfg.get("host_hostname") or name}
    lease = N.lease_of(cfg) if is_true(cfg.get("nat")) else None
    if lease is not None:
        ext = facts.interfaces.get(nat_interface(cfg, facts))
        first = ext.inet[0] if ext is not None and ext.inet else None
        bcast = str(ipaddress.IPv4Interface(f"{first[0]}/{first[1]}").network.broadcast_address) if first else None
        env.update(N.hook_env(lease, first[0] if first else None, bcast))
    return env


def _timeout(cfg: Mapping[str, str]) -> float | None:
    seconds = float(cfg.get("exec_timeout") or 0)
    return seconds if seconds > 0 else None  # jail(8): exec.timeout 0 waits for ever


def _hook(cfg: Mapping[str, str], key: str, env: Mapping[str, str], *, needs: int = 0) -> Action:
    return op("hook", cfg.get(key) or "/usr/bin/true", needs=needs, env=env, hook=True, timeout=_timeout(cfg))


# -- shared IP, mounts, the jail --------------------------------------------------------------------

def _alias_steps(cfg: Mapping[str, str], facts: FreeBSDFacts) -> list[Step]:
    have = {n: i.addresses() for n, i in facts.interfaces.items()}
    ip4 = list(A.parse_ip4_addr(cfg.get("ip4_addr", "none")))
    if is_true(cfg.get("assign_localhost")) and cfg.get("localhost_ip", "none") != "none":
        ip4.append(A.Addr("lo0", cfg["localhost_ip"], None))
    steps = []
    for key, family, addrs in (("ip4.addr", 4, tuple(ip4)), ("ip6.addr", 6, A.parse_ip6_addr(cfg.get("ip6_addr", "none")))):
        default = facts.routes.get(family)
        placed = V.place_bare_addresses(addrs, default.iface if default else None, have)
        aliases = V.aliases_to_add(placed, family, have)
        do = tuple(run(*F.alias_add_argv(a.iface, family, a.address, a.prefixlen)) for a in aliases)
        undo = tuple(run(*F.alias_remove_argv(a.iface, family, a.address), needs=i + 1)
                     for i, a in reversed(list(enumerate(aliases))))
        steps.append(Step(key, do, undo))
    return steps


def _procfs_step(cfg: Mapping[str, str], root: str) -> Step:
    do: list[Action] = []
    undo: list[Action] = []
    if is_true(cfg.get("mount_procfs")):
        do.append(op("mount", "procfs", "proc", root, "/proc", ""))
        undo.append(op("umount", root, "/proc", needs=len(do)))
    if is_true(cfg.get("mount_linprocfs")):
        do.append(op("mkdir", root, "/compat/linux/proc"))
        do.append(op("mount", "linprocfs", "linproc", root, "/compat/linux/proc", ""))
        undo.append(op("umount", root, "/compat/linux/proc", needs=len(do)))
    return Step("mount.procfs", tuple(do), tuple(reversed(undo)))


def _jail_step(name: str, cfg: Mapping[str, str], conf_path: str, root: str) -> Step:
    env = {"IOCAGE_HOSTNAME": cfg.get("host_hostname") or name, "IOCAGE_NAME": name}
    extra = cfg.get("vnet_interfaces", "none").replace(",", " ").split() if is_true(cfg.get("vnet")) else []
    undo = [run(*F.vnet_reclaim_argv(nic, name), needs=1) for nic in extra if nic != "none"]
    undo.append(run(*F.jail_remove_argv(conf_path, name), needs=1))
    do = [run(*F.jail_create_argv(conf_path, name), env=env)]
    if is_true(cfg.get("mount_devfs", "1")):  # syslogd's socket, as iocage links it (gone with devfs)
        do.append(op("symlink", root, "/dev/log", "../var/run/log"))
    return Step("jail", tuple(do), tuple(undo))


def _created_step(name: str, cfg: Mapping[str, str], facts: FreeBSDFacts, env: Mapping[str, str]) -> Step:
    do: list[Action] = [_hook(cfg, "exec_created", env)]
    undo: list[Action] = []
    if is_true(cfg.get("jail_zfs")):
        datasets = [f"{facts.pool}/{d}" for d in cfg.get("jail_zfs_dataset", f"iocage/jails/{name}/data").split()]
        for dataset in datasets:
            do.append(run(*F.zfs_jail_argv(name, dataset)))
            undo.append(run(*F.zfs_unjail_argv(name, dataset), needs=len(do)))
        do.append(run(*F.jexec_argv(name, ("zfs", "mount", "-a"))))
        undo.append(run(*F.jexec_argv(name, ("zfs", "unmount", "-a")), needs=len(do)))
    return Step("exec.created", tuple(do), tuple(reversed(undo)))
