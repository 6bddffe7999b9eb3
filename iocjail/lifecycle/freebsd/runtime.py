"""The FreeBSD runtime (lifecycle/runtime.py), its host facts, and its plans as text for
`start/stop --plan --platform freebsd`; its plan is lifecycle/freebsd/plan.py and its runner
lifecycle/freebsd/runner.py.

On FreeBSD each fact comes from one command (``uname -r``, ``devfs rule showsets``, ``ifconfig``,
``setfib FIB netstat -rn --libxo json``, ``sysctl -i …``, and for ipfw NAT ``ipfw list`` and
``ipfw nat show config``), run through an injected `run`. Anywhere else the plan is still
rendered for review, on *assumed* facts named as such in the plan: the host's default interface
``DEFAULT_IF`` with gateways ``DEFAULT_GW4``/``DEFAULT_GW6``, the stock devfs rulesets 1-4, no
bridge yet, every kernel feature present.

`FreeBSDRuntime` is what start, stop, exec, console and the running state use on FreeBSD: the
plan runs through `FreeBSDRunner`, a jail is alive while `jls --libxo json` lists its JID under
its name, and commands enter it with ``[setfib FIB] jexec -u USER|-U USER ioc-NAME`` as iocage's
exec and console do. Every process goes through the injected `run` (and `logged`, for what is
appended to the console log), so tests replay a FreeBSD host's answers on any machine; on other
systems nothing selects this runtime.

A plugin jail (type pluginv2) adds its manifest's devfs rules to its generated ruleset: they are
read at every start from the manifest kept beside its config (``jails/NAME/PLUGIN.json``, named
by ``plugin_name``), where iocage keeps and reads them too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from iocjail.errors import IocjailError, UsageError
from iocjail.lifecycle import journal as J
from iocjail.lifecycle.engine import Runner, stop_plan_lines
from iocjail.lifecycle.freebsd.checks import HOST_SYSCTLS
from iocjail.lifecycle.freebsd.plan import FreeBSDFacts, build_freebsd_plan, config_updates
from iocjail.lifecycle.freebsd.runner import FreeBSDRunner, LoggedFn, append_to_log, describe_action
from iocjail.lifecycle.plan import Action, Plan, Step
from iocjail.lifecycle.runtime import Built, Command, JailSite, Running, Wrap
from iocjail.lifecycle.steps import clean_env
from iocjail.model import plugin_manifest as M
from iocjail.model.devfs import DevfsRules
from iocjail.model.fstab import Entry as FstabEntry
from iocjail.model.jail import JailSettings
from iocjail.model.plugin_files import manifest_copy_name
from iocjail.model.values import is_true, kernel_name
from iocjail.platform import freebsd as F
from iocjail.platform import freebsd_output as O
from iocjail.platform import safe_paths, shell

DEFAULT_IF = "DEFAULT_IF"
ASSUMED_SYSCTLS = {"kern.racct.enable": "1", "kern.features.vimage": "1", "net.inet.ip.fw.enable": "1",
                   "net.inet.ip.fw.one_pass": "0", "net.pf.states_hashsize": "32768",
                   "compat.linux.osrelease": "5.15.0"}

RunFn = Callable[..., shell.Result]


def gather_facts(settings: JailSettings, *, jid: int, jaildir: str, iocroot: str, pool: str, rundir: str,
                 datasets: frozenset[str] = frozenset(), run: RunFn = shell.run,
                 etc: Path = Path("/etc")) -> FreeBSDFacts:
    """The facts of a real FreeBSD host (``datasets``: the jail_zfs ones that exist, from host.zfs)."""
    def out(*argv: str) -> str:
        return run(list(argv)).stdout

    fib = F.setfib_prefix(settings.exec_fib)
    nats: set[int] = set()
    rules: set[int] = set()
    if settings.nat and settings.nat_backend == "ipfw":
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


def assumed_facts(settings: JailSettings, *, jid: int, jaildir: str, iocroot: str, pool: str,
                  rundir: str) -> FreeBSDFacts:
    """Stand-in facts for rendering a FreeBSD plan on another system (see the module docstring)."""
    named = {settings.vnet_default_interface, settings.nat_interface}
    named |= {a.iface for a in (*settings.ip4, *settings.ip6) if a.iface}
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


def plan_lines(name: str, settings: JailSettings, facts: FreeBSDFacts, *,
               assumed: bool) -> tuple[Plan, list[str], list[str]]:
    """(plan, start lines, stop lines) of `start --plan` / `stop --plan` for the FreeBSD runtime."""
    plan = build_freebsd_plan(name, settings, facts)
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


def assumed_plan(site: JailSite, cfg: Mapping[str, str], jid: int) -> tuple[Plan, list[str], list[str]]:
    """`start --plan --platform freebsd` off FreeBSD: the plan on assumed facts. Runs nothing."""
    settings = JailSettings.from_effective(cfg)
    facts = assumed_facts(settings, jid=jid, jaildir=str(site.jaildir), iocroot=str(site.iocroot), pool=site.pool,
                          rundir=str(site.rundir))
    return plan_lines(site.name, settings, replace(facts, plugin_devfs=plugin_devfs(site.jaildir, cfg)), assumed=True)


def host_plan(site: JailSite, cfg: Mapping[str, str], jid: int, datasets: frozenset[str], *,
              run: RunFn = shell.run) -> tuple[Plan, list[str], list[str]]:
    """`start --plan` on FreeBSD: the plan on this host's facts (read-only commands only)."""
    additions = plugin_devfs(site.jaildir, cfg)
    jails = O.parse_jls_json(run(list(F.jls_argv())).stdout)
    settings = JailSettings.from_effective(cfg)
    facts = gather_facts(settings, jid=free_jid(jid, {j.jid for j in jails.values()}), jaildir=str(site.jaildir),
                         iocroot=str(site.iocroot), pool=site.pool, rundir=str(site.rundir), datasets=datasets, run=run)
    return plan_lines(site.name, settings, replace(facts, plugin_devfs=additions), assumed=False)


def plugin_devfs(jaildir: Path, cfg: Mapping[str, str]) -> DevfsRules | None:
    """A pluginv2 jail's devfs additions from its kept manifest (None for any other jail, or
    without a kept manifest, as iocage); a kept manifest whose devfs_ruleset is invalid or a
    symlink refuses the start before anything runs."""
    plugin = cfg.get("plugin_name", "none")
    if cfg.get("type") != "pluginv2" or not M.is_plugin_name(plugin):
        return None
    name = manifest_copy_name(plugin)
    text = safe_paths.read_file(jaildir, name)
    return None if text is None else M.devfs_of(text, str(jaildir / name))


# -- the runtime -------------------------------------------------------------------------------

InteractiveFn = Callable[..., int]


class NotRemountedYet(IocjailError):
    template = "{}: a running FreeBSD jail is not remounted yet: stop it, change its fstab, then start it"


class FreeBSDRuntime:
    name = "freebsd"

    def __init__(self, *, run: RunFn = shell.run, logged: LoggedFn = append_to_log,
                 interactive: InteractiveFn = shell.interactive, etc: Path = Path("/etc"),
                 conf_dir: str = F.RUNTIME_CONF_DIR) -> None:
        self._run = run
        self._logged = logged
        self._interactive = interactive
        self._etc = etc
        self._conf_dir = conf_dir

    def jails(self) -> dict[str, O.JailState]:
        """Every jail of the host by kernel name, dying ones included: one jls call."""
        return O.parse_jls_json(self._run(list(F.jls_argv())).stdout)

    def taken(self) -> Callable[[int], bool]:
        jids = {jail.jid for jail in self.jails().values()}  # jail(8) refuses a JID a jail holds
        return jids.__contains__

    def build(self, site: JailSite, cfg: Mapping[str, str], jid: int, datasets: frozenset[str] = frozenset()) -> Built:
        """Facts from this host (read-only commands), then the plan, which refuses before anything
        runs when a kernel feature the config needs is missing (lifecycle/freebsd/checks.py)."""
        settings = JailSettings.from_effective(cfg)
        facts = gather_facts(settings, jid=jid, jaildir=str(site.jaildir), iocroot=str(site.iocroot), pool=site.pool,
                             rundir=str(site.rundir), datasets=datasets, run=self._run, etc=self._etc)
        facts = replace(facts, conf_dir=self._conf_dir, plugin_devfs=plugin_devfs(site.jaildir, cfg))
        return Built(build_freebsd_plan(site.name, settings, facts), config_updates(site.name, settings))

    def runner(self, rundir: Path, facts: Mapping[str, str], wrap: Wrap | None = None) -> Runner:
        runner: Runner = FreeBSDRunner(rundir, facts.get("console_log"), run=self._run, logged=self._logged)
        return wrap(runner) if wrap else runner

    @staticmethod
    def _is(jail: O.JailState | None, jid: int) -> bool:
        return jail is not None and jail.jid == jid and not jail.dying  # a dying jail is on its way out

    def alive(self, journal: J.Journal) -> bool:
        return self._is(self.jails().get(kernel_name(journal.jail)), journal.jid)

    def running(self, iocroot: Callable[[], Path], journals: Mapping[str, Mapping[str, Any]]) -> dict[str, Running]:
        """The journals whose jail jls lists, plus jails iocjail did not start (iocage's, on a host
        switching over), found by their path ``IOCROOT/jails/NAME/root``: one jls call."""
        jails = self.jails()
        out: dict[str, Running] = {}
        for name, data in journals.items():
            jail = jails.get(kernel_name(name))
            if jail is not None and self._is(jail, int(data["jid"])):
                out[name] = Running(name, jail.jid, str(data.get("state", "up")))
        others = [j for j in jails.values() if j.name.startswith("ioc-") and not j.dying
                  and j.name not in {kernel_name(n) for n in out}]
        if others:
            prefix = f"{str(iocroot()).rstrip('/')}/jails/"
            for jail in others:
                name = jail.path[len(prefix):-len("/root")] if jail.path.startswith(prefix) else ""
                if name and "/" not in name and jail.path.endswith("/root") and kernel_name(name) == jail.name:
                    out[name] = Running(name, jail.jid, "up")
        return out

    # -- entering a running jail ---------------------------------------------------------------
    @staticmethod
    def _env(cfg: Mapping[str, str], user: str) -> dict[str, str]:
        if not is_true(cfg.get("exec_clean", "1")):
            return dict(os.environ)
        return {**clean_env(os.environ), "USER": user}

    def exec_command(self, journal: J.Journal, cfg: Mapping[str, str], command: Sequence[str],
                     jail_user: str | None, host_user: str | None) -> Command:
        """iocage's exec: ``[setfib FIB] jexec -u HOST_USER|-U JAIL_USER ioc-NAME CMD…`` (-u root
        by default)."""
        if jail_user and host_user:
            raise UsageError("-U and -u cannot be combined")
        user = None if jail_user else host_user or "root"
        argv = F.jexec_argv(journal.jail, command, user=user, jail_user=jail_user, fib=cfg.get("exec_fib", "0"))
        return Command(list(argv), self._env(cfg, jail_user or user or "root"))

    def console_command(self, journal: J.Journal, cfg: Mapping[str, str]) -> Command:
        """iocage's console: ``[setfib FIB] jexec -u root ioc-NAME login -p LOGIN_FLAGS``."""
        argv = F.console_argv(journal.jail, cfg.get("login_flags") or "-f root", cfg.get("exec_fib", "0"))
        return Command(list(argv), {**clean_env(os.environ)})

    def run(self, argv: Sequence[str], *, env: Mapping[str, str], input: bytes) -> shell.Result:
        return self._run(list(argv), check=False, env=env, input=input)

    def interactive(self, argv: Sequence[str], *, env: Mapping[str, str]) -> int:
        return self._interactive(list(argv), env=env)

    def live_mount(self, journal: J.Journal, entry: FstabEntry) -> Step | None:
        raise NotRemountedYet(journal.jail)

    def live_unmount(self, journal: J.Journal, entry: FstabEntry) -> Action | None:
        raise NotRemountedYet(journal.jail)
