"""The --rc scheduler, driven by an injected action that sleeps, fails or notes on demand.

The action is the real argument of `run_rc` (what starts one jail); the tests pass their own,
recording when each one began and ended, and check the parallel rule on those times.
"""

from __future__ import annotations

import threading
import time

import pytest

from iocjail.errors import IocjailError, UsageError
from iocjail.model.boot import BootJail, Schedule, Task, critical_path, start_schedule, stop_schedule
from iocjail.services.boot import BootIncomplete, Outcome, check, default_jobs, run_rc

TICK = 0.05  # one unit of work; the assertions leave it a wide margin


def J(name: str, priority: int = 99, depends: str = "", boot: bool = True) -> BootJail:
    return BootJail(name, boot, priority, tuple(depends.split()))


class Starter:
    """Sleeps `cost[name]` ticks, raises for names in `fail`, returns a note for names in `notes`."""

    def __init__(self, cost=None, fail=(), notes=None, crash=()) -> None:
        self.cost = cost or {}
        self.fail, self.crash, self.notes = set(fail), set(crash), notes or {}
        self.times: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()
        self.active = 0
        self.most = 0

    def __call__(self, name: str) -> str | None:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        began = time.monotonic()
        try:
            time.sleep(self.cost.get(name, 1) * TICK)
            if name in self.crash:
                raise KeyError(name)
            if name in self.fail:
                raise IocjailError(f"{name}: exec.start: /bin/false: exit status 1")
            return self.notes.get(name)
        finally:
            with self.lock:
                self.active -= 1
            self.times[name] = (began, time.monotonic())


def assert_rule_kept(schedule: Schedule, times: dict[str, tuple[float, float]]) -> None:
    """Nothing began before what it waits for, nor before every lower level, had ended."""
    for task in schedule.tasks:
        if task.name not in times:
            continue
        began = times[task.name][0]
        for dep in task.after:
            if dep in times:
                assert times[dep][1] <= began, f"{task.name} began before {dep} ended"
        for other in schedule.tasks:
            if other.level < task.level and other.name in times:
                assert times[other.name][1] <= began, f"{task.name} began before lower-level {other.name} ended"


def test_a_mixed_graph_runs_in_parallel_and_keeps_every_dependency_and_priority():
    jails = [J("db", 10), J("cache", 10), J("web1", 20, "db cache"), J("web2", 20, "db"), J("lb", 30, "web1 web2"),
             J("log", 99), J("mon", 99, "agent"), J("agent", boot=False), J("slowdb", 5)]
    starter = Starter(cost={"slowdb": 2, "db": 3})
    schedule = start_schedule(jails)
    began = time.monotonic()
    outcomes = run_rc(schedule, starter, jobs=8)
    wall = (time.monotonic() - began) / TICK
    assert [o.name for o in outcomes] == schedule.names  # the schedule's order, not completion order
    assert all(o.status == "started" and o.ok for o in outcomes)
    assert_rule_kept(schedule, starter.times)
    path = critical_path(schedule, lambda n: starter.cost.get(n, 1))  # 2 + 3 + 1 + 1 + (1 + 1) = 9
    assert path == 9
    assert wall < path + 4, f"took {wall:.1f} ticks for a critical path of {path}"
    assert starter.most >= 2  # cache ran beside db, web1 beside web2, ...


def test_jobs_bounds_how_many_run_at_once():
    schedule = start_schedule([J(f"j{i}") for i in range(8)])
    starter = Starter()
    began = time.monotonic()
    run_rc(schedule, starter, jobs=2)
    assert starter.most == 2
    assert time.monotonic() - began >= 4 * TICK * 0.95
    wide = Starter()
    began = time.monotonic()
    run_rc(schedule, wide, jobs=8)
    assert wide.most == 8
    assert time.monotonic() - began < 4 * TICK


def test_a_failure_skips_exactly_its_dependants_and_everything_else_starts():
    jails = [J("base", 10), J("bad", 10), J("child", 20, "bad"), J("grandchild", 30, "child base"),
             J("sibling", 20, "base"), J("late", 40), J("off_dep", boot=False), J("user", 50, "off_dep bad")]
    starter = Starter(fail={"bad"})
    outcomes = {o.name: o for o in run_rc(start_schedule(jails), starter, jobs=4)}
    assert outcomes["bad"].status == "failed"
    assert outcomes["bad"].detail == "exec.start: /bin/false: exit status 1"  # the line names the jail once
    assert outcomes["child"].line() == "child: skipped: depends on 'bad', which failed"
    assert outcomes["grandchild"].line() == "grandchild: skipped: depends on 'child', which did not start"
    assert outcomes["user"].status == "skipped"
    assert {n for n, o in outcomes.items() if o.ok} == {"base", "sibling", "late", "off_dep"}
    assert set(starter.times) == {"base", "bad", "sibling", "late", "off_dep"}  # skipped ones never ran
    assert outcomes["grandchild"].started is None
    with pytest.raises(BootIncomplete, match="^4 of 8 jails did not start$"):
        check(list(outcomes.values()), "start")


def test_an_unexpected_exception_fails_only_its_jail():
    outcomes = run_rc(start_schedule([J("a"), J("b")]), Starter(crash={"a"}), jobs=2)
    assert [o.line() for o in outcomes] == ["a: failed: internal error: KeyError: 'a'", "b: started"]


def test_a_note_counts_as_up_for_dependants():
    schedule = start_schedule([J("web", depends="db"), J("db")])
    outcomes = run_rc(schedule, Starter(notes={"db": "already running"}), jobs=2)
    assert [o.line() for o in outcomes] == ["db: already running", "web: started"]
    check(outcomes, "start")


def test_left_out_jails_are_reported_after_the_rest():
    schedule = start_schedule([J("a", depends="ghost"), J("z")])
    outcomes = run_rc(schedule, Starter(), jobs=1)
    assert [o.line() for o in outcomes] == ["z: started", "a: left out: depends on 'ghost', which does not exist"]
    with pytest.raises(BootIncomplete, match="1 of 2 jails did not start"):
        check(outcomes, "start")


def test_outcomes_carry_the_injected_clock():
    ticks = iter(range(100))
    outcomes = run_rc(start_schedule([J("a", 1), J("b", 2)]), Starter(cost={"a": 0, "b": 0}), jobs=1,
                      clock=lambda: float(next(ticks)))
    assert [(o.started, o.finished) for o in outcomes] == [(0.0, 1.0), (2.0, 3.0)]


def test_stop_waits_for_dependants_and_a_failed_stop_holds_nothing_back():
    jails = [J("db", 10), J("web", 20, "db"), J("api", 20, "db"), J("lb", 30, "web")]
    schedule = stop_schedule(jails, running={"db", "web", "api", "lb"}, started_as_dependency=())
    starter = Starter(fail={"web"})
    outcomes = run_rc(schedule, starter, jobs=4, done="stopped")
    assert [o.line() for o in outcomes] == [
        "lb: stopped", "api: stopped", "web: failed: exec.start: /bin/false: exit status 1", "db: stopped"]
    assert_rule_kept(schedule, starter.times)
    assert starter.times["api"][0] >= starter.times["lb"][1]  # priority 30 before 20


def test_an_unsatisfiable_schedule_is_reported_not_hung():
    schedule = Schedule((Task("a", 1, ("b",), ("b",)), Task("b", 1, ("a",), ("a",))))
    outcomes = run_rc(schedule, Starter(), jobs=2)
    assert [o.status for o in outcomes] == ["skipped", "skipped"]


def test_jobs_must_be_positive():
    with pytest.raises(UsageError, match="at least 1"):
        run_rc(Schedule(()), Starter(), jobs=0)
    assert run_rc(Schedule(()), Starter(), jobs=1) == []


def test_default_jobs_is_a_sensible_number():
    assert 4 <= default_jobs() <= 32


def test_outcome_ok_states():
    assert Outcome("a", "kept running").ok and Outcome("a", "not running").ok
    assert not Outcome("a", "left out", "x").ok


def test_report_gives_each_line_in_schedule_order_as_soon_as_it_is_known():
    # level 10 runs "quick" and "slow" together (listed by name: quick first); "after" waits for
    # slow; the left-out jail comes last.
    jails = [J("slow", 10), J("quick", 10), J("after", 20, "slow"), J("ghosted", 30, "ghost")]
    starter = Starter(cost={"slow": 4, "quick": 1})
    schedule = start_schedule(jails)
    assert schedule.names[:2] == ["quick", "slow"]
    seen: list[tuple[str, float]] = []
    outcomes = run_rc(schedule, starter, jobs=4, report=lambda o: seen.append((o.line(), time.monotonic())))
    assert [line for line, _ in seen] == [o.line() for o in outcomes]  # the same lines, the same order
    assert seen[-1][0].startswith("ghosted: left out")
    when = dict(seen)
    assert when["quick: started"] < starter.times["slow"][1]  # shown while slow still ran
    assert starter.times["slow"][1] <= when["slow: started"] < starter.times["after"][1]
