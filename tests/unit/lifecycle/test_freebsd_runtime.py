"""FreeBSD host facts from one command each (replayed), assumed facts elsewhere, plan text."""

from __future__ import annotations

import json

import pytest

from iocjail.model.devfs import DevfsRules
from iocjail.model.jail import JailSettings
from iocjail.model.plugin_manifest import InvalidManifest
from iocjail.model.properties import default_config, jail_identity
from iocjail.platform.freebsd_output import Route
from iocjail.platform.safe_paths import UnsafePath
from iocjail.platform.shell import Result
from iocjail.lifecycle.freebsd import runtime as R
from iocjail.site.jails import JailRef

NETSTAT = ('{"statistics": {"route-information": {"route-table": {"rt-family": [{"address-family": "Internet", '
           '"rt-entry": [{"destination": "default", "gateway": "192.0.2.1", "flags": "UGS", '
           '"interface-name": "em0"}]}]}}}}')
ANSWERS = {
    ("uname", "-r"): "14.1-RELEASE-p3\n",
    ("devfs", "rule", "showsets"): "1\n2\n3\n4\n1000\n",
    ("ifconfig",): "em0: flags=8863<UP> metric 0 mtu 1500\n\tinet 192.0.2.5 netmask 0xffffff00\n",
    ("setfib", "2", "netstat", "-rn", "--libxo", "json"): NETSTAT,
    ("netstat", "-rn", "--libxo", "json"): NETSTAT,
    ("sysctl", "-i"): "kern.racct.enable: 1\nkern.features.vimage: 1\n",
    ("ipfw", "list"): "00100 allow ip from any to any via lo0\n65535 deny ip from any to any\n",
    ("ipfw", "nat", "show", "config"): "ipfw nat 4620 config if em0 same_ports\n",
}


class Replay:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv, **kwargs):
        self.calls.append(tuple(argv))
        for prefix, text in ANSWERS.items():
            if tuple(argv[:len(prefix)]) == prefix and (len(prefix) > 1 or len(argv) == 1):
                return Result(tuple(argv), 0, text, "")
        raise AssertionError(f"unexpected command {argv}")


def settings(**over: str) -> JailSettings:
    return JailSettings.from_effective(cfg(**over))


def cfg(**over):
    out = default_config(mac_prefix="02ff60", hostid=None)
    out.update(jail_identity("j1"))
    out.update(over)
    return out


def test_gather_facts_one_command_each(tmp_path):
    (tmp_path / "resolv.conf").write_text("nameserver 192.0.2.1\n")
    replay = Replay()
    facts = R.gather_facts(settings(exec_fib="2", nat="1", ip4_addr="em0|172.16.0.2"), jid=3, jaildir="/i/jails/j1",
                           iocroot="/i", pool="tank", rundir="/var/run/iocjail", run=replay, etc=tmp_path)
    assert facts.host_version == "14.1-RELEASE-p3" and facts.devfs_rulesets == {1, 2, 3, 4, 1000}
    assert facts.routes == {4: Route("192.0.2.1", "em0", "UGS")} and facts.interfaces["em0"].mtu == 1500
    assert facts.sysctls == {"kern.racct.enable": "1", "kern.features.vimage": "1"}
    assert facts.ipfw_rules == {100, 65535} and facts.ipfw_nats == {4620}
    assert facts.resolv_conf == "nameserver 192.0.2.1\n" and not facts.localtime
    assert len(replay.calls) == len(set(replay.calls)) == 7
    assert ("sysctl", "-i", *R.HOST_SYSCTLS) in replay.calls


def test_no_ipfw_queries_without_ipfw_nat(tmp_path):
    replay = Replay()
    R.gather_facts(settings(), jid=3, jaildir="/i/jails/j1", iocroot="/i", pool="tank", rundir="/r", run=replay,
                   etc=tmp_path)
    assert not any(c[0] == "ipfw" for c in replay.calls)
    assert ("netstat", "-rn", "--libxo", "json") in replay.calls  # exec_fib 0: no setfib


def test_assumed_facts_render_a_vnet_plan_anywhere():
    c = cfg(vnet="1", vnet_default_interface="auto", ip4_addr="vnet0|10.0.0.5/24", interfaces="vnet0:bridge0")
    facts = R.assumed_facts(JailSettings.from_effective(c), jid=4, jaildir="/i/jails/j1", iocroot="/i", pool="tank", rundir="/r")
    plan, start, stop = R.plan_lines("j1", JailSettings.from_effective(c), facts, assumed=True)
    assert start[0] == "# FreeBSD start plan of j1 (ioc-j1, jid 4) — host facts assumed, not a FreeBSD host"
    text = "\n".join(start)
    assert "ifconfig bridge0 create description iocjail addm DEFAULT_IF up" in text
    assert "jexec ioc-j1 route add default DEFAULT_GW4" in text
    assert stop[0].startswith("# FreeBSD stop plan of j1") and "  ifconfig vnet0.4 destroy" in stop
    assert plan.facts["platform"] == "freebsd"


def test_assumed_facts_know_the_interfaces_the_config_names():
    c = cfg(ip4_addr="em1|192.0.2.9/24,192.0.2.10", vnet_default_interface="lagg0")
    facts = R.assumed_facts(JailSettings.from_effective(c), jid=1, jaildir="/i/jails/j1", iocroot="/i", pool="tank", rundir="/r")
    assert set(facts.interfaces) == {"em1", "lagg0", "DEFAULT_IF"}
    _, start, _ = R.plan_lines("j1", JailSettings.from_effective(c), facts, assumed=True)
    assert "  ifconfig em1 inet 192.0.2.9/24 alias" in start
    assert "  ifconfig DEFAULT_IF inet 192.0.2.10/32 alias" in start


def test_free_jid_skips_jails_outside_iocjail():
    assert R.free_jid(3, {1, 2}) == 3
    assert R.free_jid(3, {3, 4, 6}) == 5


def test_a_plugin_jails_devfs_additions_come_from_its_kept_manifest(tmp_path):
    ref = JailRef("plex", "jails", "tank/iocage/jails/plex", tmp_path)
    plugin = {"type": "pluginv2", "plugin_name": "plex"}
    assert R.plugin_devfs(ref.path, plugin) is None  # no kept manifest: nothing added, as iocage
    (tmp_path / "plex.json").write_text(json.dumps({"name": "plex", "devfs_ruleset": {
        "paths": {"dri/*": None, "bpf*": "0660"}, "includes": ["$devfsrules_jail_vnet"]}}))
    assert R.plugin_devfs(ref.path, plugin) == DevfsRules((("dri/*", None), ("bpf*", "0660")), ("$devfsrules_jail_vnet",))
    assert R.plugin_devfs(ref.path, {**plugin, "type": "jail"}) is None  # only plugin jails
    assert R.plugin_devfs(ref.path, {**plugin, "plugin_name": "../plex"}) is None

    (tmp_path / "plex.json").write_text(json.dumps({"devfs_ruleset": {"paths": {"mem": None}}}))
    with pytest.raises(InvalidManifest, match="mem would unhide the host's /dev/mem"):
        R.plugin_devfs(ref.path, plugin)  # edited by hand: the start is refused, nothing added
    (tmp_path / "plex.json").unlink()
    (tmp_path / "plex.json").symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(UnsafePath, match="symlink"):
        R.plugin_devfs(ref.path, plugin)
