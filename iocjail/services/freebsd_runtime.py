"""The FreeBSD runtime's host facts, and its plans as text for `start/stop --plan --platform freebsd`.

On FreeBSD each fact comes from one command (``uname -r``, ``devfs rule showsets``, ``ifconfig``,
``setfib FIB netstat -rn --libxo json``, ``sysctl -i …``, and for ipfw NAT ``ipfw list`` and
``ipfw nat show config``), run through an injected `run`. Anywhere else the plan is still
rendered for review, on *assumed* facts named as such in the plan: the host's default interface
``DEFAULT_IF`` with gateways ``DEFAULT_GW4``/``DEFAULT_GW6``, the stock devfs rulesets 1-4, no
bridge yet, every kernel feature present.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from iocjail.errors import DatasetNotFound, UsageError
from iocjail.lifecycle import journal as J
from iocjail.lifecycle.freebsd_checks import HOST_SYSCTLS
from iocjail.lifecycle.engine import stop_plan_lines
from iocjail.lifecycle.freebsd_plan import FreeBSDFacts, build_freebsd_plan, describe_action
from iocjail.lifecycle.plan import Action, Plan
from iocjail.model import addresses as A
from iocjail.model.values import is_true
from iocjail.platform import freebsd as F
from iocjail.platform import freebsd_output as O
from iocjail.platform import shell
from iocjail.services import config
from iocjail.services.host import Host
from iocjail.services.jails import resolve

DEFAULT_IF = "DEFAULT_IF"
ASSUMED_SYSCTLS = {"kern.racct.enable": "1", "kern.features.vimage": "1", "net.inet.ip.fw.enable": "1",
                   "net.inet.ip.fw.one_pass": "0", "net.pf.states_hashsize": "32768",
                   "compat.linux.osrelease": "5.15.0"}

RunFn = Callable[..., shell.Result]


def on_freebsd() -> bool:
    return sys.platform.startswith("freebsd")


def gather_facts(cfg: Mapping[str, str], *, jid: int, jaildir: str, iocroot: str, pool: str, rundir: str,
                 datasets: frozenset[str] = frozenset(), run: RunFn = shell.run,
                 etc: Path = Path("/etc")) -> FreeBSDFacts:
    """The facts of a real FreeBSD host (``datasets``: the jail_zfs ones that exist, from host.zfs)."""
    def out(*argv: str) -> str:
        return run(list(argv)).stdout

    fib = F.setfib_prefix(cfg.get("exec_fib", "0"))
    nats: set[int] = set()
    rules: set[int] = set()
    if is_true(cfg.get("nat")) and cfg.get("nat_backend", "ipfw") == "ipfw":
        rules = O.parse_ipfw_rule_numbers(out("ipfw", "list"))
        nats = O.parse_ipfw_nat_ids(out("ipfw", "nat", "show", "config"))
    resolv = etc / "resolv.conf"
    return FreeBSDFacts(
        jid=jid, jaildir=jaildir, iocroot=iocroot, pool=pool, host_version=out("uname", "-r").strip() or None,
        devfs_rulesets=frozenset(O.parse_devfs_showsets(out(*F.devfs_showsets_argv()))),
        interfaces=O.parse_ifconfig(out("ifconfig")),
        routes=O.parse_netstat_rn_json(out(*fib, "netstat", "-rn", "--libxo", "json")),
        sysctls=O.parse_sysctl(out(*F.sysctl_read_argv(HOST_SYSCTLS))), datasets=datasets,
        ipfw_nats=frozenset(nats), ipfw_rules=frozenset(rules),
        resolv_conf=resolv.read_text() if resolv.exists() else None,
        localtime=(etc / "localtime").exists(), rundir=rundir)


def assumed_facts(cfg: Mapping[str, str], *, jid: int, jaildir: str, iocroot: str, pool: str,
                  rundir: str) -> FreeBSDFacts:
    """Stand-in facts for rendering a FreeBSD plan on another system (see the module docstring)."""
    named = {cfg.get("vnet_default_interface", "none"), cfg.get("nat_interface", "none")}
    addrs = (*A.parse_ip4_addr(cfg.get("ip4_addr", "none")), *A.parse_ip6_addr(cfg.get("ip6_addr", "none")))
    named |= {a.iface for a in addrs if a.iface}
    names = sorted(n for n in named - {"none", "auto"} if n and not n.startswith("vnet")) + [DEFAULT_IF]
    interfaces = {n: O.Interface(n, ("UP",), 1500) for n in names}
    return FreeBSDFacts(
        jid=jid, jaildir=jaildir, iocroot=iocroot, pool=pool, interfaces=interfaces,
        routes={4: O.Route("DEFAULT_GW4", DEFAULT_IF, "UGS"), 6: O.Route("DEFAULT_GW6", DEFAULT_IF, "UGS")},
        sysctls=dict(ASSUMED_SYSCTLS), datasets=frozenset(), resolv_conf="# the host's /etc/resolv.conf\n",
        rundir=rundir)


def free_jid(reserved: int, in_use: set[int]) -> int:
    """The reserved JID, or the next one no jail (`jls -d`) holds: jail(8) refuses a taken jid."""
    jid = reserved
    while jid in in_use:
        jid += 1
    return jid


def plan_lines(name: str, cfg: Mapping[str, str], facts: FreeBSDFacts, *, assumed: bool) -> tuple[Plan, list[str], list[str]]:
    """(plan, start lines, stop lines) of `start --plan` / `stop --plan` for the FreeBSD runtime."""
    plan = build_freebsd_plan(name, cfg, facts)
    log = plan.facts["console_log"]

    def describe(action: Action) -> str:
        return describe_action(action, log)

    note = " — host facts assumed, not a FreeBSD host" if assumed else ""
    header = f"# FreeBSD start plan of {name} ({plan.facts['kernel_name']}, jid {facts.jid}){note}"
    start = [header]
    for step in plan.steps:
        start.append(f"{step.name}:")
        start += [f"  {describe(a)}" for a in step.do]
        start += [f"  undo: {describe(a)}" for a in step.undo]
        start += [f"  cleanup: {describe(a)}" for a in step.cleanup]
    stop = [f"# FreeBSD stop plan of {name}{note}", *stop_plan_lines(plan.steps, describe)]
    return plan, start, stop


def plan(host: Host, name: str, *, run: RunFn = shell.run) -> tuple[Plan, list[str], list[str]]:
    """`start --plan --platform freebsd NAME` (and `stop --plan`): the plan of the jail's current
    config, on this host's facts on FreeBSD and on assumed ones elsewhere. Runs nothing that
    changes the host."""
    ref = resolve(host, name, prefix=True)
    cfg = config.load(host, ref).effective
    if ref.is_template or cfg.get("type") in ("template", "basejail"):
        raise UsageError(f"{ref.name}: a {cfg.get('type') or 'template'} never starts")
    rundir = str(config.rundir())
    jid = J.lowest_free(J.used_jids(config.rundir()))
    jaildir, iocroot = str(ref.path), str(host.iocroot)
    if not on_freebsd():
        facts = assumed_facts(cfg, jid=jid, jaildir=jaildir, iocroot=iocroot, pool=host.pool, rundir=rundir)
        return plan_lines(ref.name, cfg, facts, assumed=True)
    jails = O.parse_jls_json(run(list(F.jls_argv())).stdout)
    facts = gather_facts(cfg, jid=free_jid(jid, {j.jid for j in jails.values()}), jaildir=jaildir, iocroot=iocroot,
                         pool=host.pool, rundir=rundir, datasets=_existing(host, cfg), run=run)
    return plan_lines(ref.name, cfg, facts, assumed=False)


def _existing(host: Host, cfg: Mapping[str, str]) -> frozenset[str]:
    """The jail_zfs datasets that exist (a missing one is created by the start)."""
    if not is_true(cfg.get("jail_zfs")):
        return frozenset()
    found = set()
    for dataset in cfg.get("jail_zfs_dataset", "").split():
        try:
            found |= {d.name for d in host.zfs.list_datasets(f"{host.pool}/{dataset}", depth=0)}
        except DatasetNotFound:
            pass
    return frozenset(found)
