"""The FreeBSD plan: golden start/stop plans of representative jails, failure injection on every
action, and the host checks.

Golden files (tests/unit/lifecycle/golden/CASE.start and CASE.stop) are the exact commands, one
per line, plus the files the start writes. They are reviewed line by line against the man pages;
regenerate them with ``IOCJAIL_UPDATE_GOLDEN=1 pytest tests/unit/lifecycle/test_freebsd_plan.py``
and read the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iocjail.errors import PropertyConflict
from iocjail.lifecycle.engine import StepFailed, apply, rollback
from iocjail.lifecycle.freebsd.checks import HOST_SYSCTLS, HostFeatureMissing
from iocjail.lifecycle.engine import stop_plan_lines
from iocjail.lifecycle.freebsd import plan as freebsd_plan
from iocjail.lifecycle.freebsd.plan import FreeBSDFacts
from iocjail.lifecycle.freebsd.runner import describe_action
from iocjail.lifecycle.journal import Journal
from iocjail.lifecycle.plan import START_ORDER
from iocjail.model.devfs import DevfsRules, RulesetMissing
from iocjail.model.jail import JailSettings
from iocjail.model.properties import default_config, jail_identity
from iocjail.platform.freebsd_output import Route, parse_ifconfig
from tests.unit.lifecycle.freebsd_host import SimulatedHost

GOLDEN = Path(__file__).with_name("golden")

HOST_IFCONFIG = """\
em0: flags=8863<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
\tether 52:54:00:ab:cd:01
\tinet 192.0.2.5 netmask 0xffffff00 broadcast 192.0.2.255
\tinet 192.0.2.20 netmask 0xffffffff broadcast 192.0.2.20
\tinet6 2001:db8::5 prefixlen 64
igb0: flags=8863<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 9000
\tether 52:54:00:ab:cd:02
bridge0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 9000
\tether 58:9c:fc:10:ff:a1
\tmember: igb0 flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>
\tgroups: bridge
ix1: flags=8802<BROADCAST,SIMPLEX,MULTICAST> metric 0 mtu 1500
\tether 52:54:00:ab:cd:03
lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0 mtu 16384
\tinet 127.0.0.1 netmask 0xff000000
\tgroups: lo
"""
SYSCTLS = {"kern.racct.enable": "1", "kern.features.vimage": "1", "net.inet.ip.fw.enable": "1",
           "net.inet.ip.fw.one_pass": "0", "net.pf.states_hashsize": "32768", "compat.linux.osrelease": "5.15.0"}


def facts(name: str, **over) -> FreeBSDFacts:
    base = dict(jid=5, jaildir=f"/iocage/jails/{name}", iocroot="/iocage", pool="tank", host_version="14.1-RELEASE",
                devfs_rulesets=frozenset({1, 2, 3, 4, 10, 1000}), interfaces=parse_ifconfig(HOST_IFCONFIG),
                routes={4: Route("192.0.2.1", "em0", "UGS"), 6: Route("fe80::1%em0", "em0", "UGS")},
                sysctls=SYSCTLS, datasets=frozenset({"tank/iocage/jails/db1/data"}),
                ipfw_nats=frozenset({4620}), ipfw_rules=frozenset({100, 200, 65535}),
                resolv_conf="search example.org\nnameserver 192.0.2.1\n")
    base.update(over)
    return FreeBSDFacts(**base)


def build_freebsd_plan(name: str, cfg: dict[str, str], facts: FreeBSDFacts):
    return freebsd_plan.build_freebsd_plan(name, JailSettings.from_effective(cfg), facts)


def config_updates(name: str, cfg: dict[str, str]) -> dict[str, str]:
    return freebsd_plan.config_updates(name, JailSettings.from_effective(cfg))


def config(name: str, **over: str) -> dict[str, str]:
    cfg = default_config(mac_prefix="02ff60", hostid=None)
    cfg.update(jail_identity(name))
    cfg.update(release="14.1-RELEASE", cloned_release="14.1-RELEASE")
    cfg.update(over)
    return cfg


VNET = dict(vnet="1", interfaces="vnet0:bridge0", defaultrouter="auto")

# name → (jail, config changes, facts changes)
CASES: dict[str, tuple[str, dict[str, str], dict[str, object]]] = {
    "shared_ip": ("web1", dict(ip4_addr="em0|192.0.2.10/24"), {}),
    "multiple_aliases": ("web2", dict(ip4_addr="192.0.2.11,192.0.2.20,ix1|198.51.100.7/24,em0|192.0.2.12/24",
                                      assign_localhost="1", localhost_ip="127.0.1.2"), {}),
    "ipv6": ("web6", dict(ip4="disable", ip6_addr="em0|2001:db8::10/64,2001:db8::11", ip6_saddrsel="0"), {}),
    "vnet_bridge": ("app1", dict(VNET, ip4_addr="vnet0|10.0.0.5/24"), {}),
    "vnet_new_bridge_two_nics": ("app2", dict(VNET, interfaces="vnet0:bridge7,vnet1:none",
                                              vnet_default_interface="auto",
                                              ip4_addr="vnet0|10.7.0.5/24,vnet1|10.8.0.5/16",
                                              ip6_addr="vnet0|2001:db8:7::5/64", defaultrouter="10.7.0.1",
                                              defaultrouter6="fe80::1%vnet0", vnet1_mtu="1400",
                                              vnet0_mac="02ff60aaaaaa 02ff60aaaaab"), {}),
    "vnet_dhcp": ("dhcp1", dict(VNET, ip4_addr="vnet0|DHCP", ip6_addr="vnet0|accept_rtadv", bpf="1"), {}),
    "nat_pf_vnet": ("natpf", dict(VNET, nat="1", nat_backend="pf", ip4_addr="vnet0|172.16.0.2/30",
                                  defaultrouter="172.16.0.1", nat_forwards="tcp(80:8080),tcp/udp(53:5353)"), {}),
    "nat_ipfw_shared": ("natfw", dict(nat="1", nat_backend="ipfw", ip4_addr="em0|172.16.0.6",
                                      nat_forwards="tcp(22:2222)"), {}),
    "rctl_limits": ("lim1", dict(ip4_addr="em0|192.0.2.30", memoryuse="deny=2G", pcpu="deny=50",
                                 readbps="throttle=10m", maxproc="log=200"), {}),
    "cpuset_fib": ("cpu1", dict(ip4_addr="em0|192.0.2.31", cpuset="0,2-3", exec_fib="1"), {}),
    "jail_zfs": ("db1", dict(ip4_addr="em0|192.0.2.32", jail_zfs="1",
                             jail_zfs_dataset="iocage/jails/db1/data iocage/jails/db1/logs"), {}),
    "basejail_procfs": ("base1", dict(basejail="1", ip4="inherit", mount_procfs="1", mount_linprocfs="1",
                                      allow_mount_linprocfs="1"), {}),
    "custom_devfs_ruleset": ("dev1", dict(ip4_addr="em0|192.0.2.33", devfs_ruleset="10"), {}),
    "hooks": ("hook1", dict(ip4_addr="em0|192.0.2.34", exec_prestart="/usr/local/bin/pre $IOCAGE_NAME",
                            exec_created="zfs set jailed=on tank/x", exec_poststart="logger started",
                            exec_prestop="logger stopping", exec_poststop="/root/cleanup.sh hook1",
                            exec_start="/bin/sh /etc/rc && echo {not-a-placeholder}", exec_stop="/bin/sh /etc/rc.shutdown jail",
                            exec_clean="0", exec_timeout="120"), {}),
    "vnet_interfaces_resolver": ("fw1", dict(VNET, interfaces="vnet0:none", ip4_addr="vnet0|10.9.0.2/24,ix1|198.51.100.9/24",
                                             vnet_interfaces="ix1", defaultrouter="none", resolver="nameserver 1.1.1.1;search lan",
                                             host_time="0", allow_raw_sockets="1", children_max="2"), {}),
    # a plugin jail: its kept manifest's devfs paths and includes join the generated ruleset
    "plugin_devfs": ("plex", dict(VNET, ip4_addr="vnet0|10.0.0.8/24", type="pluginv2", plugin_name="plex", bpf="1"),
                     dict(plugin_devfs=DevfsRules((("dri/*", "0666"), ("drm/*", None), ("cuaU*", "unhide")),
                                                  ("$devfsrules_unhide_login", "10")))),
    "old_host_no_devfs": ("old1", dict(ip4_addr="em0|192.0.2.35", devfs_ruleset="0", mount_fdescfs="1",
                                      allow_mlock="1", resolver="/dev/null"), dict(host_version="11.4-RELEASE")),
}


def build(case: str):
    name, changes, fact_changes = CASES[case]
    plan = build_freebsd_plan(name, config(name, **changes), facts(name, **fact_changes))
    return name, plan, Describer(plan.facts["console_log"])


class Describer:
    def __init__(self, console_log: str) -> None:
        self.console_log = console_log

    def describe(self, action) -> str:
        return describe_action(action, self.console_log)


def render_start(plan, runner) -> str:
    lines = []
    for step in plan.steps:
        lines.append(f"{step.name}:")
        lines += [f"  {runner.describe(a)}" for a in step.do]
        lines += [f"  undo: {runner.describe(a)}" for a in step.undo]
        lines += [f"  cleanup: {runner.describe(a)}" for a in step.cleanup]
    for step in plan.steps:  # the files the start writes, whole
        for action in step.do:
            if action.op == "write":
                lines += ["", f"--- {action.args[0].rstrip('/')}{action.args[1]}", action.args[2].rstrip("\n")]
    return "\n".join(lines) + "\n"


def render_stop(plan, runner) -> str:
    return "\n".join(stop_plan_lines(plan.steps, runner.describe)) + "\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_plans(case):
    _, plan, runner = build(case)
    for kind, text in (("start", render_start(plan, runner)), ("stop", render_stop(plan, runner))):
        path = GOLDEN / f"{case}.{kind}"
        if os.environ.get("IOCJAIL_UPDATE_GOLDEN") == "1":
            path.write_text(text)
        assert path.exists(), f"missing {path}: run with IOCJAIL_UPDATE_GOLDEN=1 and review it"
        assert text == path.read_text(), f"{case} {kind} plan differs from {path}"


def test_every_golden_file_belongs_to_a_case():
    names = {p.name.rsplit(".", 1)[0] for p in GOLDEN.iterdir()}
    assert names == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_steps_follow_jail8_order_and_every_undo_is_in_the_stop_plan(case):
    _, plan, runner = build(case)
    names = plan.step_names()
    assert names == sorted(names, key=START_ORDER.index)
    stop = render_stop(plan, runner)
    for step in plan.steps:
        for action in (*step.undo, *step.cleanup):
            assert runner.describe(action) in stop


def _bridges(case: str) -> frozenset[str]:
    return frozenset(n for n, i in facts(CASES[case][0]).interfaces.items() if "bridge" in i.groups)


@pytest.mark.parametrize("case", sorted(CASES))
def test_stop_leaves_the_host_as_it_was(case):
    _, plan, _ = build(case)
    host = SimulatedHost(bridges=_bridges(case))
    journal = Journal(None)
    apply(plan, host, journal)
    assert host.state, "a start changes the host"
    assert not rollback(journal, host)
    assert not host.state, f"left behind after stop: {dict(host.state)}"


def _failure_points(case: str) -> list[tuple[str, int]]:
    _, plan, _ = build(case)
    return [(case, n) for n in range(1, sum(len(s.do) for s in plan.steps) + 1)]


@pytest.mark.parametrize("case,fail_at", [p for c in sorted(CASES) for p in _failure_points(c)])
def test_a_start_failing_at_any_action_is_undone_completely(case, fail_at):
    _, plan, _ = build(case)
    host = SimulatedHost(fail_at=fail_at, bridges=_bridges(case))
    with pytest.raises(StepFailed) as failed:
        apply(plan, host, Journal(None))
    assert "injected failure" in str(failed.value)
    assert not host.state, f"left behind after failing at action {fail_at}: {dict(host.state)}"
    failed_step = failed.value.step
    undone = {s for s, _, undoing in host.log if undoing}
    begun = plan.step_names()[:plan.step_names().index(failed_step) + 1]
    for step in plan.steps:
        if step.name in begun[:-1] and (step.undo or step.cleanup):
            assert step.name in undone  # every done step was undone


def test_config_updates_are_the_generated_macs():
    assert config_updates("app1", config("app1", **VNET)) == {"vnet0_mac": "02ff60c256f3 02ff60c256f4"}
    assert config_updates("app1", config("app1", **VNET, vnet0_mac="02ff60aaaaaa 02ff60aaaaab")) == {}
    assert config_updates("web1", config("web1")) == {}


# -- refusals before anything runs -------------------------------------------------------------

@pytest.mark.parametrize("changes,sysctls,why", [
    (dict(memoryuse="deny=1g"), {}, "rctl limits needs kern.racct.enable, which this kernel lacks"),
    (dict(memoryuse="deny=1g"), {"kern.racct.enable": "0"}, r"kern.racct.enable=1 \(it is 0\)"),
    (VNET, {"kern.features.vimage": "0"}, "vnet=1 needs kern.features.vimage=1"),
    (dict(nat="1", ip4_addr="em0|172.16.0.2"), {}, "kldload ipfw ipfw_nat"),
    (dict(nat="1", ip4_addr="em0|172.16.0.2"), {"net.inet.ip.fw.enable": "1", "net.inet.ip.fw.one_pass": "1"},
     "one_pass=0"),
    (dict(nat="1", nat_backend="pf", ip4_addr="em0|172.16.0.2"), {}, "rdr-anchor"),
    (dict(mount_linprocfs="1"), {}, "kldload linux64"),
])
def test_missing_kernel_features_are_refused_with_the_fix(changes, sysctls, why):
    with pytest.raises(HostFeatureMissing, match=why):
        build_freebsd_plan("x", config("x", **changes), facts("x", sysctls=sysctls))


def test_host_checks_name_every_problem_at_once():
    cfg = config("x", memoryuse="deny=1g", **VNET)
    with pytest.raises(HostFeatureMissing) as err:
        build_freebsd_plan("x", cfg, facts("x", sysctls={}))
    assert "kern.racct.enable" in str(err.value) and "kern.features.vimage" in str(err.value)
    assert set(HOST_SYSCTLS) == set(SYSCTLS)


def test_missing_custom_devfs_ruleset_is_refused():
    with pytest.raises(RulesetMissing):
        build_freebsd_plan("x", config("x", devfs_ruleset="77"), facts("x"))


def test_nat_without_an_allocated_address_is_refused():
    with pytest.raises(PropertyConflict, match="no NAT address was allocated"):
        build_freebsd_plan("x", config("x", nat="1"), facts("x"))


def test_generated_ruleset_is_the_next_free_number():
    _, plan, _ = build("shared_ip")
    assert plan.facts["devfs_ruleset"] == "1001"  # 1000 is taken on this host


def test_plan_facts_let_a_stop_run_without_the_config():
    _, plan, _ = build("vnet_bridge")
    assert plan.facts == {"platform": "freebsd", "root": "/iocage/jails/app1/root", "jid": "5",
                          "kernel_name": "ioc-app1", "conf": "/var/run/jail.ioc-app1.conf", "devfs_ruleset": "1001",
                          "console_log": "/iocage/log/app1-console.log"}


def test_exec_start_text_is_never_a_placeholder():
    _, plan, _ = build("hooks")
    (start,) = [s for s in plan.steps if s.name == "exec.start"]
    assert start.do[0].resolve({"not-a-placeholder": "x"}).args[-1].endswith("{not-a-placeholder}")
