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
from iocjail.lifecycle.plan import Action, Plan, Step, check_order, op, run
from iocjail.lifecycle.runtime import RUNDIR
from iocjail.lifecycle.steps import StepBuilder, hook, hook_env, resolver_step
from iocjail.model import devfs, jail_params as JP, nat as N, rctl, vnet as V
from iocjail.model.jail import JailSettings
from iocjail.model.values import kernel_name
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


def build_freebsd_plan(name: str, settings: JailSettings, facts: FreeBSDFacts) -> Plan:
    """The start plan of jail `name`; raises before anything runs when it cannot work."""
    s = settings
    check_host(name, s, facts.sysctls)
    choice = devfs.choose_ruleset(s.raw, facts.devfs_rulesets, facts.plugin_devfs)
    kname = kernel_name(name)
    conf_path = F.runtime_conf_path(name, facts.conf_dir)
    env = _hook_env(name, s, facts)
    steps = [_prepare_step(name, s, facts, conf_path, choice.number)]
    if not s.vnet:
        steps += _alias_steps(s, facts)
    if choice.generated:
        do = tuple(run(*F.devfs_rule_add_argv(choice.number, rule)) for rule in choice.rules)
        steps.append(Step("mount.devfs", do, (run(*F.devfs_delset_argv(choice.number), needs=1),)))
    steps.append(_procfs_step(s, facts.root))
    steps.append(Step("exec.prestart", (hook(s, "exec_prestart", env),), (),
                      (hook(s, "exec_poststop", env),)))
    steps.append(_jail_step(name, s, conf_path, facts.root))
    steps.append(_created_step(name, s, facts, env))
    if s.vnet:
        steps.append(vnet_step(name, s, facts.jid, host_net(facts.interfaces, facts.routes)))
    steps.append(resolver_step(s, facts))
    # rtsold is not started by hand (iocage's `service rtsold start` fails once rc started it):
    # the vnet step enabled it in the jail's rc.conf, which exec_start's /etc/rc reads.
    start = op("jexec", *F.jexec_shell_argv(name, s.hooks["exec_start"], s.exec_fib, s.exec_clean),
               timeout=s.exec_timeout)
    stop = op("jexec", *F.jexec_shell_argv(name, s.hooks["exec_stop"], s.exec_fib, s.exec_clean),
              hook=True, needs=1, timeout=s.exec_timeout)
    steps.append(Step("exec.start", (start,), (stop,)))
    steps.append(Step("exec.poststart", (hook(s, "exec_poststart", env),),
                      (hook(s, "exec_prestop", env, needs=1),)))
    limits = StepBuilder("rctl")
    for rule in rctl.rctl_rules(name, s.raw):
        limits.pair(run(*F.rctl_add_argv(rule)), run(*F.rctl_remove_argv(rule)))
    steps.append(limits.step())
    if s.cpuset != "off":
        steps.append(Step("cpuset", (run(*F.cpuset_argv(s.cpuset, facts.jid)),)))
    steps = [step for step in steps if step.do]
    check_order(steps)
    return Plan(name, tuple(steps), {
        "platform": "freebsd", "root": facts.root, "jid": str(facts.jid), "kernel_name": kname,
        "conf": conf_path, "devfs_ruleset": str(choice.number),
        "console_log": f"{facts.iocroot.rstrip('/')}/log/{name}-console.log"})


def config_updates(name: str, settings: JailSettings) -> dict[str, str]:
    """Values a start stores in config.json first, as iocage does: the vnetN_mac pairs it makes."""
    if not settings.vnet:
        return {}
    updates = {}
    for nic, _ in settings.interfaces:
        new = V.nic_macs(name, settings.raw, nic)[2]
        if new is not None:
            updates[f"{nic}_mac"] = new
    return updates


# -- the runtime conf, NAT ------------------------------------------------------------------------

def runtime_conf(name: str, settings: JailSettings, facts: FreeBSDFacts, ruleset: int) -> str:
    """/var/run/jail.ioc-NAME.conf (see the module docstring for what differs from jail_params)."""
    params = JP.jail_params(name, settings, facts.jaildir, facts.iocroot, facts.host_version, ruleset,
                            exec_created=False)
    out: list[JP.Param] = []
    for key, value in params:
        if key in ("ip4.addr", "ip6.addr") and value is not None:
            value = value.split("|", 1)[-1].split("/", 1)[0]  # the mask only mattered to ifconfig
        out.append((key, value))
        if key == "name":
            out.append(("jid", str(facts.jid)))
    return JP.render_jail_conf(name, out)


def _prepare_step(name: str, s: JailSettings, facts: FreeBSDFacts, conf_path: str, ruleset: int) -> Step:
    folder, _, base = conf_path.rpartition("/")
    b = StepBuilder("exec.prepare")
    b.pair(op("write", folder, "/" + base, runtime_conf(name, s, facts, ruleset)), op("remove", folder, "/" + base))
    if s.jail_zfs:
        for dataset in s.datasets(name):
            full = f"{facts.pool}/{dataset}"
            if full in facts.datasets:  # the jail's own data: made jailed, never destroyed at stop
                b.add(run("zfs", "set", "jailed=on", full))
            else:
                b.add(run("zfs", "create", "-o", "mountpoint=none", "-o", "jailed=on", full))
    if s.nat:
        _nat_actions(name, s, facts, b)
    # undone last: whatever is still mounted under ROOT (a mount the jail's root user renamed
    # away from the path jail(8) or the procfs step unmount by), by its mount table name
    b.undo(op("umount_under", facts.root), needs=1)
    return b.step()


def nat_interface(settings: JailSettings, facts: FreeBSDFacts) -> str:
    iface = settings.nat_interface
    if iface != "none":
        return iface
    route = facts.routes.get(4)
    if route is None or not route.iface:
        raise PropertyConflict("nat_interface=none needs a default route on the host")
    return route.iface


def _nat_actions(name: str, s: JailSettings, facts: FreeBSDFacts, b: StepBuilder) -> None:
    lease = N.lease_of(s.raw)
    if lease is None:
        raise PropertyConflict(f"{name}: nat=1 but no NAT address was allocated (ip4_addr is {s.raw.get('ip4_addr')})")
    iface = nat_interface(s, facts)
    forwards = N.forwards(s.nat_forwards)
    b.add(run(*F.sysctl_set_argv("net.inet.ip.forwarding", "1")))  # host-wide: left on at stop
    if s.nat_backend == "pf":
        anchor = N.pf_anchor(name)
        rules_dir = f"{facts.rundir.rstrip('/')}/nat"
        b.pair(op("write", rules_dir, f"/{name}.pf", N.pf_rules(iface, lease.address, forwards)),
               op("remove", rules_dir, f"/{name}.pf"))
        b.pair(run(*F.pf_load_argv(anchor, f"{rules_dir}/{name}.pf")), run(*F.pf_flush_argv(anchor)))
        return
    slot = N.ipfw_slot(facts.ipfw_nats, facts.ipfw_rules)
    b.add(run("ifconfig", iface, "-tso4", "-lro", "-vlanhwtso"))  # libalias cannot NAT offloaded segments
    b.pair(run(*F.ipfw_nat_config_argv(slot.nat, iface, N.ipfw_redirects(lease.address, forwards))),
           run(*F.ipfw_nat_delete_argv(slot.nat)))
    out, inbound = F.ipfw_nat_rules_argv(slot.rule, slot.nat, iface, lease.address)
    b.pair(run(*out), run(*F.ipfw_delete_argv(slot.rule)))
    b.add(run(*inbound))


def _hook_env(name: str, s: JailSettings, facts: FreeBSDFacts) -> dict[str, str]:
    env = hook_env(name, s, facts.jid)
    lease = N.lease_of(s.raw) if s.nat else None
    if lease is not None:
        ext = facts.interfaces.get(nat_interface(s, facts))
        first = ext.inet[0] if ext is not None and ext.inet else None
        bcast = str(ipaddress.IPv4Interface(f"{first[0]}/{first[1]}").network.broadcast_address) if first else None
        env.update(N.hook_env(lease, first[0] if first else None, bcast))
    return env


# -- shared IP, mounts, the jail --------------------------------------------------------------------

def _alias_steps(s: JailSettings, facts: FreeBSDFacts) -> list[Step]:
    have = {n: i.addresses() for n, i in facts.interfaces.items()}
    steps = []
    for key, family, addrs in (("ip4.addr", 4, s.shared_ip4()), ("ip6.addr", 6, s.ip6)):
        default = facts.routes.get(family)
        placed = V.place_bare_addresses(addrs, default.iface if default else None, have)
        b = StepBuilder(key)
        for a in V.aliases_to_add(placed, family, have):
            b.pair(run(*F.alias_add_argv(a.iface, family, a.address, a.prefixlen)),
                   run(*F.alias_remove_argv(a.iface, family, a.address)))
        steps.append(b.step())
    return steps


def _procfs_step(s: JailSettings, root: str) -> Step:
    b = StepBuilder("mount.procfs")
    if s.mount_procfs:
        b.pair(op("mount", "procfs", "proc", root, "/proc", ""), op("umount", root, "/proc"))
    if s.mount_linprocfs:
        b.add(op("mkdir", root, "/compat/linux/proc"))
        b.pair(op("mount", "linprocfs", "linproc", root, "/compat/linux/proc", ""),
               op("umount", root, "/compat/linux/proc"))
    return b.step()


def _jail_step(name: str, s: JailSettings, conf_path: str, root: str) -> Step:
    env = {"IOCAGE_HOSTNAME": s.hostname or name, "IOCAGE_NAME": name}
    extra = s.vnet_interfaces if s.vnet else ()
    undo = [run(*F.vnet_reclaim_argv(nic, name), needs=1) for nic in extra]
    undo.append(run(*F.jail_remove_argv(conf_path, name), needs=1))
    do = [run(*F.jail_create_argv(conf_path, name), env=env)]
    if s.mount_devfs:  # syslogd's socket, as iocage links it (gone with devfs)
        do.append(op("symlink", root, "/dev/log", "../var/run/log"))
    return Step("jail", tuple(do), tuple(undo))


def _created_step(name: str, s: JailSettings, facts: FreeBSDFacts, env: Mapping[str, str]) -> Step:
    b = StepBuilder("exec.created")
    b.add(hook(s, "exec_created", env))
    if s.jail_zfs:
        for dataset in (f"{facts.pool}/{d}" for d in s.datasets(name)):
            b.pair(run(*F.zfs_jail_argv(name, dataset)), run(*F.zfs_unjail_argv(name, dataset)))
        b.pair(run(*F.jexec_argv(name, ("zfs", "mount", "-a"))), run(*F.jexec_argv(name, ("zfs", "unmount", "-a"))))
    return b.step()
