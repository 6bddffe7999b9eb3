"""The boot graph: who boots, levels, order, cycles, missing dependencies, templates, stop."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iocjail.model.boot import (BootJail, Schedule, critical_path, describe_cycle, start_schedule,
                                stop_schedule, strongly_connected)


def J(name: str, boot: bool = True, priority: int = 99, depends: str = "", **kw) -> BootJail:
    return BootJail(name, boot, priority, tuple(depends.split()), **kw)


def levels(schedule: Schedule) -> dict[str, int]:
    return {t.name: t.level for t in schedule.tasks}


def left(schedule: Schedule) -> dict[str, str]:
    return {x.name: x.reason for x in schedule.left_out}


def assert_consistent(schedule: Schedule) -> None:
    """Every task comes after what it waits for, at a level no lower, and levels never go down."""
    seen: dict[str, int] = {}
    for task in schedule.tasks:
        for dep in task.after:
            assert dep in seen, f"{task.name} runs before {dep}"
            assert seen[dep] <= task.level
        assert set(task.needs) <= set(task.after)
        assert not seen or task.level >= max(seen.values())
        seen[task.name] = task.level


# -- priorities and ties ------------------------------------------------------------------------

def test_only_boot_jails_in_priority_order_lower_first():
    s = start_schedule([J("c", priority=30), J("a", priority=20), J("b", priority=10), J("off", boot=False)])
    assert s.names == ["b", "a", "c"]
    assert s.levels() == [["b"], ["a"], ["c"]]
    assert s.left_out == () and s.problems == ()


def test_one_priority_is_one_level_run_together_listed_by_name():
    s = start_schedule([J("web2", priority=20), J("web1", priority=20), J("db", priority=10), J("web3", priority=20)])
    assert s.levels() == [["db"], ["web1", "web2", "web3"]]
    assert s.width == 3
    assert all(t.after == () for t in s.tasks)


def test_nothing_to_boot():
    s = start_schedule([J("a", boot=False), J("t", template=True)])
    assert s.tasks == () and s.levels() == [] and s.width == 0


# -- dependencies -------------------------------------------------------------------------------

def test_chain_dependencies_start_first_even_with_boot_off():
    s = start_schedule([J("www1", depends="wdb1"), J("wdb1", boot=False, depends="iscsi1"), J("iscsi1", boot=False),
                        J("other", boot=False)])
    assert s.names == ["iscsi1", "wdb1", "www1"]
    deps = {t.name: t.dependency for t in s.tasks}
    assert deps == {"iscsi1": True, "wdb1": True, "www1": False}
    www = s.tasks[-1]
    assert www.after == ("wdb1",) and www.needs == ("wdb1",)
    assert_consistent(s)


def test_a_dependency_starts_at_its_dependants_priority():
    # iocage starts `db` as the first act of `web`'s start, whatever db's own priority.
    s = start_schedule([J("web", priority=10, depends="db"), J("db", priority=90), J("mid", priority=50),
                        J("cache", boot=False, priority=99)])
    assert levels(s) == {"db": 10, "web": 10, "mid": 50}
    assert s.names == ["db", "web", "mid"]
    assert_consistent(s)


def test_levels_propagate_through_chains_and_keep_the_lowest_dependant():
    s = start_schedule([J("a", priority=5, depends="b"), J("b", priority=50, depends="c"), J("c", priority=70),
                        J("d", priority=30, depends="c")])
    assert levels(s) == {"a": 5, "b": 5, "c": 5, "d": 30}
    assert_consistent(s)


def test_diamond_shares_its_bottom_once():
    s = start_schedule([J("top", depends="left right"), J("left", boot=False, depends="base"),
                        J("right", boot=False, depends="base"), J("base", boot=False)])
    assert s.names == ["base", "left", "right", "top"]
    assert dict((t.name, set(t.after)) for t in s.tasks) == {
        "base": set(), "left": {"base"}, "right": {"base"}, "top": {"left", "right"}}
    assert_consistent(s)


def test_a_dependency_that_is_also_a_boot_jail_is_not_marked_dependency():
    s = start_schedule([J("a", depends="b"), J("b")])
    assert [(t.name, t.dependency) for t in s.tasks] == [("b", False), ("a", False)]


# -- problems: only the jails caught are left out ---------------------------------------------

def test_missing_dependency_leaves_out_the_jail_and_its_dependants_only():
    s = start_schedule([J("a", depends="ghost"), J("b", depends="a"), J("c", boot=False, depends="b"),
                        J("d", depends="c"), J("e"), J("f", depends="g"), J("g", boot=False)])
    assert s.names == ["e", "g", "f"]
    assert left(s) == {"a": "depends on 'ghost', which does not exist",
                       "b": "depends on 'a', which cannot boot",
                       "c": "depends on 'b', which cannot boot",
                       "d": "depends on 'c', which cannot boot"}
    assert s.problems == ("a depends on 'ghost', which does not exist",)


def test_cycle_is_reported_with_its_members_and_the_rest_boots():
    s = start_schedule([J("x", priority=5, depends="y"), J("y", boot=False, depends="z"),
                        J("z", boot=False, depends="x"), J("w", depends="x"), J("ok", priority=50),
                        J("ok2", depends="ok")])
    assert s.names == ["ok", "ok2"]
    assert s.problems == ("dependency cycle: x -> y -> z -> x",)
    assert left(s) == {"x": "dependency cycle: x -> y -> z -> x", "y": "dependency cycle: x -> y -> z -> x",
                       "z": "dependency cycle: x -> y -> z -> x", "w": "depends on 'x', which cannot boot"}


def test_a_jail_depending_on_itself_is_a_cycle():
    s = start_schedule([J("me", depends="me"), J("you")])
    assert s.names == ["you"]
    assert left(s) == {"me": "dependency cycle: me -> me"}


def test_a_tangle_names_one_cycle_and_everyone_caught():
    s = start_schedule([J("a", depends="b"), J("b", boot=False, depends="a c"), J("c", boot=False, depends="b")])
    assert s.tasks == ()
    assert s.problems == ("dependency cycle: a -> b -> a (also caught: c)",)
    assert set(left(s)) == {"a", "b", "c"}


def test_a_dependency_shared_with_a_broken_jail_still_boots_for_the_good_one():
    s = start_schedule([J("bad", depends="shared ghost"), J("good", depends="shared"), J("shared", boot=False),
                        J("only_for_bad", boot=False), J("bad2", depends="only_for_bad ghost")])
    assert s.names == ["shared", "good"]
    # only_for_bad is fine itself: it is not booted (nothing that boots needs it) nor reported
    assert set(left(s)) == {"bad", "bad2"}


def test_a_broken_jail_is_left_out_with_its_reason():
    s = start_schedule([J("bad", broken="config.json: not JSON"), J("user", depends="bad"), J("fine")])
    assert s.names == ["fine"]
    assert left(s) == {"bad": "config.json: not JSON", "user": "depends on 'bad', which cannot boot"}
    assert s.problems == ("bad: config.json: not JSON",)


# -- templates ------------------------------------------------------------------------------------

def test_templates_never_boot_and_cannot_be_depended_on():
    s = start_schedule([J("tpl", template=True), J("user", depends="tpl"), J("fine", depends="base"),
                        J("base", boot=False)])
    assert s.names == ["base", "fine"]
    assert left(s) == {"user": "depends on 'tpl', a template (templates never boot)"}


# -- scale ------------------------------------------------------------------------------------------

def test_a_long_chain_does_not_recurse():
    n = 3000
    s = start_schedule([J(f"j{i:04d}", boot=(i == n - 1), depends=f"j{i - 1:04d}" if i else "") for i in range(n)])
    assert s.names == [f"j{i:04d}" for i in range(n)]
    cyclic = {f"c{i}": [f"c{(i + 1) % n}"] for i in range(n)}
    assert [len(c) for c in strongly_connected(cyclic)] == [n]


def test_strongly_connected_and_describe_cycle():
    graph = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"], "f": ["d"]}
    assert strongly_connected(graph) == [["a", "b", "c"], ["e"]]
    assert describe_cycle(["a", "b", "c"], graph) == "a -> b -> c -> a"
    assert describe_cycle(["e"], graph) == "e -> e"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 5), st.lists(st.integers(0, 11), max_size=3),
                          st.booleans()), min_size=1, max_size=12))
def test_any_graph_boots_a_consistent_schedule_and_accounts_for_every_boot_jail(spec):
    jails = [BootJail(f"j{i}", boot, prio, tuple(dict.fromkeys(f"j{d}" for d in deps)), template=(i % 5 == 4 and tpl))
             for i, (boot, prio, deps, tpl) in enumerate(spec)]
    s = start_schedule(jails)
    assert_consistent(s)
    by_name = {j.name: j for j in jails}
    names, out = set(s.names), set(left(s))
    assert not names & out
    for j in jails:
        if j.boot and not j.template:
            assert j.name in names | out
    for t in s.tasks:  # everything a booting jail depends on boots before it, at a level no higher
        assert set(t.after) == set(by_name[t.name].depends)
        assert not by_name[t.name].template
        assert t.level <= by_name[t.name].priority


# -- stop -------------------------------------------------------------------------------------------

def test_stop_runs_priorities_backwards_and_waits_for_dependants():
    jails = [J("db", priority=10), J("web", priority=20, depends="db"), J("cache", priority=20)]
    s = stop_schedule(jails, running={"db", "web", "cache"}, started_as_dependency=())
    assert s.names == ["cache", "web", "db"]
    assert levels(s) == {"web": -20, "cache": -20, "db": -10}
    assert dict((t.name, t.after) for t in s.tasks)["db"] == ("web",)
    assert all(t.needs == () for t in s.tasks)  # a failed stop does not keep anything running
    assert_consistent(s)


def test_stop_includes_recorded_dependencies_unless_a_running_jail_still_needs_them():
    jails = [J("app", depends="lib"), J("lib", boot=False, depends="base"), J("base", boot=False),
             J("manual", boot=False, depends="shared"), J("shared", boot=False, depends="deep"), J("deep", boot=False),
             J("other", depends="shared"), J("gone", boot=False)]
    running = {"app", "lib", "base", "manual", "shared", "deep", "other"}
    s = stop_schedule(jails, running, started_as_dependency={"lib", "base", "shared", "deep", "gone"})
    assert s.names == ["app", "lib", "base", "other"]
    assert [t.name for t in s.tasks if t.dependency] == ["lib", "base"]
    assert s.kept == ("deep", "shared")  # `manual` runs and needs them, through shared


def test_stop_lists_boot_jails_that_are_not_running_and_ignores_templates():
    s = stop_schedule([J("a"), J("b"), J("tpl", template=True)], running={"a", "tpl"}, started_as_dependency=())
    assert sorted(s.names) == ["a", "b"]


def test_stop_of_a_cycle_still_stops_all_of_it():
    s = stop_schedule([J("a", depends="b"), J("b", depends="a"), J("c", depends="a")], running={"a", "b", "c"},
                      started_as_dependency=())
    assert set(s.names) == {"a", "b", "c"}
    assert s.problems == ("dependency cycle: a -> b -> a",)
    assert_consistent(s)
    assert s.names.index("c") < s.names.index("a")


# -- critical path ------------------------------------------------------------------------------------

def test_critical_path_counts_chains_and_level_barriers():
    s = start_schedule([J("a", priority=1), J("b", priority=1, depends="c"), J("c", boot=False, priority=1),
                        J("d", priority=2)])
    cost = {"a": 5.0, "b": 1.0, "c": 1.0, "d": 2.0}
    assert critical_path(s, cost) == 7.0  # level 1 ends when a does (5), then d
    cost["c"] = 10.0
    assert critical_path(s, cost) == 13.0  # c then b (11), then d
    assert critical_path(Schedule(()), cost) == 0.0


@pytest.mark.parametrize("n", [1, 7])
def test_critical_path_of_independent_jails_is_the_longest(n):
    s = start_schedule([J(f"j{i}") for i in range(n)])
    assert critical_path(s, lambda name: float(name[1:]) + 1) == n
