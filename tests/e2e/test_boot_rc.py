"""`start --rc` / `stop --rc` with twenty real Linux jails of mixed priorities and dependencies.

Each jail's exec_start notes /proc/uptime (host-wide: there is no time namespace) when it
begins and when it ends, from inside the jail, so the order is checked on what the jails
themselves saw, not on what the scheduler says it did.
"""

from __future__ import annotations

import json
from itertools import product

from iocjail.services import boot
from iocjail.site.config import rundir
from iocjail.site.host import Host
from iocjail.site.state import running
from tests.e2e.conftest import host_state
from tests.support.cli import iocjail

SLEEP = "0.3"
EXEC_START = (f"cat /proc/uptime > /var/run/boot.begin; sleep {SLEEP}; cat /proc/uptime > /var/run/boot.end")

# name: (boot, priority, depends); the level each starts at is the lowest priority of itself
# and what depends on it (store and agent are boot=off dependencies).
JAILS = {
    "db1": ("1", "10", "store"), "db2": ("1", "10", ""), "store": ("0", "99", ""),
    "cache1": ("1", "20", "db1"), "cache2": ("1", "20", "db1"),
    "web1": ("1", "30", "cache1 db2"), "web2": ("1", "30", "cache1 db2"), "web3": ("1", "30", "cache1 db2"),
    "web4": ("1", "30", "cache1 db2"), "web5": ("1", "30", "cache2"),
    "lb1": ("1", "40", "web1 web2"), "lb2": ("1", "40", "web3 web4 web5"),
    "mon": ("1", "50", "agent"), "agent": ("0", "99", ""),
    "bad": ("1", "20", ""), "bad_child": ("1", "30", "bad"), "bad_grandchild": ("1", "40", "bad_child"),
    "misc1": ("1", "99", ""), "misc2": ("1", "99", ""), "idle": ("0", "10", ""),
}
LEVEL = {"db1": 10, "db2": 10, "store": 10, "cache1": 20, "cache2": 20, "web1": 30, "web2": 30, "web3": 30,
         "web4": 30, "web5": 30, "lb1": 40, "lb2": 40, "mon": 50, "agent": 50, "misc1": 99, "misc2": 99}
DOWN = {"bad", "bad_child", "bad_grandchild", "idle"}


def uptime(path) -> float:
    return float(path.read_text().split()[0])


def test_twenty_jails_boot_in_order_in_parallel_and_stop_rc_leaves_none_running(jails, zpool):
    assert len(JAILS) == 20
    for name, (on, priority, depends) in JAILS.items():
        props = {"boot": on, "priority": priority, "depends": depends or "none", "exec_start": EXEC_START}
        if name == "bad":
            props["exec_start"] = "/bin/false"
        jails.make(name, **props)
    before = host_state(zpool.name, zpool.mountpoint)

    result = iocjail("start", "--rc", "--jobs", "8")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "iocjail: 3 of 19 jails did not start"
    out = dict(line.split(": ", 1) for line in lines[:-1])
    assert set(out) == set(JAILS) - {"idle"}
    assert out["bad"].startswith("failed: exec.start")
    assert out["bad_child"] == "skipped: depends on 'bad', which failed"
    assert out["bad_grandchild"] == "skipped: depends on 'bad_child', which did not start"
    assert {n for n, text in out.items() if text == "started"} == set(LEVEL)
    assert [line.split(":")[0] for line in lines[:3]] == ["db2", "store", "db1"]  # the schedule's order

    host = Host.from_env()
    assert set(running(host)) == set(LEVEL)  # exactly the failed jail's dependants (and idle) are down
    assert boot.load_record(host) == {"store", "agent"}
    window = {n: (uptime(jails.root(n) / "var/run/boot.begin"), uptime(jails.root(n) / "var/run/boot.end"))
              for n in LEVEL}
    for name in DOWN:
        assert not (jails.root(name) / "var/run/boot.begin").exists()
    for name in LEVEL:  # every dependency had finished starting before its dependant began
        for dep in JAILS[name][2].split():
            assert window[dep][1] <= window[name][0], f"{name} began before {dep} was up"
    for a, b in product(LEVEL, LEVEL):  # and every lower level before a higher one
        if LEVEL[a] < LEVEL[b]:
            assert window[a][1] <= window[b][0], f"{b} (level {LEVEL[b]}) began before {a} (level {LEVEL[a]}) ended"
    webs = [window[f"web{i}"] for i in range(1, 6)]
    assert max(w[0] for w in webs) < min(w[1] for w in webs)  # one level runs together

    result = iocjail("stop", "--rc")
    assert result.exit_code == 0, result.output
    out = dict(line.split(": ", 1) for line in result.output.splitlines())
    assert {n for n, text in out.items() if text == "stopped"} == set(LEVEL)
    assert {n for n, text in out.items() if text == "not running"} == DOWN - {"idle"}
    assert running(host) == {}
    assert not boot.record_path(host).exists()
    after = host_state(zpool.name, zpool.mountpoint)
    assert (after.mounts, after.processes, after.runtime) == (before.mounts, before.processes, before.runtime)
    assert not list((rundir() / "jails" / zpool.name).glob("*.json"))


def test_start_rc_json_reports_times_and_dependencies(jails):
    jails.make("base", boot="0", exec_start=EXEC_START)
    jails.make("app", boot="1", depends="base", exec_start=EXEC_START)
    result = iocjail("start", "--rc", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(d["name"], d["status"], d["dependency"]) for d in data] == [("base", "started", True),
                                                                        ("app", "started", False)]
    assert data[0]["started"] == 0.0 and data[0]["finished"] <= data[1]["started"]
    assert data[1]["finished"] - data[1]["started"] >= float(SLEEP)
    again = iocjail("start", "--rc")
    assert again.output.splitlines() == ["base: already running", "app: already running"]
    assert iocjail("stop", "--rc").output.splitlines() == ["app: stopped", "base: stopped"]


def test_a_dependency_cycle_is_named_and_everything_else_boots(jails):
    jails.make("a", boot="1", depends="b")
    jails.make("b", boot="1", depends="a")
    jails.make("c", boot="1", depends="a")
    jails.make("d", boot="1")
    result = iocjail("start", "--rc")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "d: started"
    out = {line.split(":", 1)[0]: line for line in lines}
    assert set(out) == {"a", "b", "c", "d"}
    assert out["a"] == "a: left out: dependency cycle: a -> b -> a"
    assert out["b"] == "b: left out: dependency cycle: a -> b -> a"
    assert out["c"].startswith("c: left out: ") and "'a'" in out["c"]
    assert result.stderr == "iocjail: 3 of 4 jails did not start\n"
    assert set(running(Host.from_env())) == {"d"}
    assert iocjail("stop", "--rc").exit_code == 0
    assert running(Host.from_env()) == {}
