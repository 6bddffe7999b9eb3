"""The engine: journal before acting, undo in reverse, cleanup hooks, secondary errors, recovery."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from iocjail.errors import CommandFailed, IocjailError
from iocjail.lifecycle import journal as J
from iocjail.lifecycle.engine import PrintRunner, StepFailed, apply, render_plan, rollback, settle
from iocjail.lifecycle.plan import Action, Plan, Step, op, run


class Recorder:
    """A runner that records what it was asked to do; `fail` names actions (by first arg) that fail."""

    def __init__(self, journal_path: Path | None = None, fail: set[str] = frozenset(), outputs=None) -> None:
        self.calls: list[tuple[str, str, bool]] = []
        self.fail = set(fail)
        self.outputs = outputs or {}
        self.journal_path = journal_path
        self.seen_status: list[str] = []

    def perform(self, action: Action, ctx: Mapping[str, str], *, step: str, undoing: bool):
        if self.journal_path is not None:  # what the journal on disk says while the action runs
            data = json.loads(self.journal_path.read_text())
            status = {s["name"]: s["status"] for s in data["steps"]}[step]
            self.seen_status.append(status)
        self.calls.append((step, " ".join(action.args), undoing))
        if action.args[-1] in self.fail:
            raise CommandFailed(list(action.args), 1, f"{action.args[-1]} went wrong")
        return self.outputs.get(action.args[-1])

    def describe(self, action: Action) -> str:
        return f"{action.op} {' '.join(action.args)}"


def plan3() -> Plan:
    return Plan("www1", (
        Step("mount.fstab", (run("mount", "a"), run("mount", "b")),
             (run("umount", "b", needs=2), run("umount", "a", needs=1))),
        Step("exec.prestart", (op("hook", "pre", hook=True),), (), (op("hook", "poststop", hook=True),)),
        Step("jail", (op("spawn", "holder"), run("nsenter", "-t", "{pid}", "hostname")),
             (op("kill", "holder"),)),
        Step("exec.start", (op("jexec", "rc"),), (op("jexec", "rc.shutdown", hook=True, needs=1), op("terminate", "jail"))),
    ), {"root": "/r"})


def journal(tmp_path: Path) -> J.Journal:
    return J.Journal(tmp_path / "www1.json", "www1", 7)


def test_apply_runs_every_step_and_leaves_an_up_journal(tmp_path):
    jr = journal(tmp_path)
    runner = Recorder(jr.path, outputs={"holder": {"pid": "4242"}})
    apply(plan3(), runner, jr)
    assert [c[1] for c in runner.calls] == ["mount a", "mount b", "pre", "holder", "nsenter -t 4242 hostname", "rc"]
    assert set(runner.seen_status) == {"begun"}  # journaled before the side effect
    data = json.loads(jr.path.read_text())
    assert data["state"] == "up" and data["jid"] == 7 and data["ctx"] == {"pid": "4242"}
    assert [s["status"] for s in data["steps"]] == ["done"] * 4
    assert data["facts"] == {"root": "/r"}


def test_stop_undoes_the_journal_in_reverse_with_cleanup_in_place(tmp_path):
    jr = journal(tmp_path)
    apply(plan3(), Recorder(outputs={"holder": {"pid": "4242"}}), jr)
    loaded = J.Journal.load(jr.path)
    runner = Recorder()
    assert rollback(loaded, runner) == []
    assert [c[1] for c in runner.calls] == ["rc.shutdown", "jail", "holder", "poststop", "umount b", "umount a"]
    assert all(c[2] for c in runner.calls)


def test_force_skips_hooks_but_releases_everything(tmp_path):
    jr = journal(tmp_path)
    apply(plan3(), Recorder(outputs={"holder": {"pid": "9"}}), jr)
    runner = Recorder()
    assert rollback(J.Journal.load(jr.path), runner, force=True) == []
    assert [c[1] for c in runner.calls] == ["jail", "holder", "umount b", "umount a"]


@pytest.mark.parametrize("failing,expected_undo", [
    ("a", ["poststop"][:0]),  # first mount failed: nothing completed, nothing to undo
    ("b", ["umount a"]),  # the completed part of the failing step only
    ("pre", ["poststop", "umount b", "umount a"]),  # cleanup hook runs for the begun prestart
    ("hostname", ["holder", "poststop", "umount b", "umount a"]),  # holder killed though step incomplete
    ("rc", ["jail", "holder", "poststop", "umount b", "umount a"]),  # exec_start failed: no rc.shutdown
])
def test_a_failing_action_undoes_what_was_done_in_reverse(tmp_path, failing, expected_undo):
    jr = journal(tmp_path)
    runner = Recorder(fail={failing}, outputs={"holder": {"pid": "1"}})
    with pytest.raises(StepFailed) as info:
        apply(plan3(), runner, jr)
    undo = [c[1] for c in runner.calls if c[2]]
    assert undo == expected_undo
    step = next(c[0] for c in runner.calls if c[1].endswith(failing))
    assert str(info.value) == f"www1: {step}: {runner_argv0(failing)}: {failing} went wrong"
    assert not jr.path.exists()  # a clean rollback leaves no journal behind


def runner_argv0(failing: str) -> str:
    return {"a": "mount", "b": "mount", "pre": "pre", "hostname": "nsenter", "rc": "rc"}[failing]


def test_secondary_errors_never_mask_the_first_and_the_journal_keeps_what_failed(tmp_path):
    jr = journal(tmp_path)
    first = Recorder(fail={"rc"}, outputs={"holder": {"pid": "1"}})

    class Both(Recorder):
        def perform(self, action, ctx, *, step, undoing):
            if undoing and action.args[-1] in ("b", "poststop"):
                raise CommandFailed(list(action.args), 32, "target is busy")
            return first.perform(action, ctx, step=step, undoing=undoing)

    with pytest.raises(StepFailed) as info:
        apply(plan3(), Both(), jr)
    err = info.value
    assert err.step == "exec.start" and "rc went wrong" in str(err)
    assert [str(e) for e in err.secondary] == ["exec.poststop: poststop: target is busy",
                                              "mount.fstab: umount: target is busy"]
    assert "and 2 error(s) while undoing" in str(err)
    # "umount a" still ran after "umount b" failed
    assert [c[1] for c in first.calls if c[2]] == ["jail", "holder", "umount a"]
    data = json.loads(jr.path.read_text())
    assert data["state"] == "failed"
    # the failed hook held nothing: its step is undone; the stuck mount's step is kept
    assert [s["status"] for s in data["steps"]] == ["done", "undone", "undone", "undone"]
    # the next attempt undoes only what is left, and never runs the hook twice
    again = Recorder()
    assert rollback(J.Journal.load(jr.path), again) == []
    assert [c[1] for c in again.calls] == ["umount b", "umount a"]


@pytest.mark.parametrize("failing,named", [("poststop", "exec.poststop"), ("rc.shutdown", "exec.stop")])
def test_a_failed_stop_hook_is_named_and_leaves_no_journal(tmp_path, failing, named):
    """Every resource released, only a hook failed: the error names the hook, the journal goes
    (settle), so the next start has nothing to recover."""
    jr = journal(tmp_path)
    apply(plan3(), Recorder(outputs={"holder": {"pid": "4242"}}), jr)
    loaded = J.Journal.load(jr.path)
    runner = Recorder(fail={failing})
    errors = rollback(loaded, runner)
    assert [str(e) for e in errors] == [f"{named}: {failing}: {failing} went wrong"]
    assert [c[1] for c in runner.calls] == ["rc.shutdown", "jail", "holder", "poststop", "umount b", "umount a"]
    assert loaded.begun() == []
    settle(loaded)
    assert not jr.path.exists()


def test_a_journal_left_by_a_crash_is_recovered_from_disk(tmp_path):
    """Snapshot the journal while the third step runs (a crash there), then recover from it."""
    jr = journal(tmp_path)
    crashed = tmp_path / "crashed.json"

    class Crash(Recorder):
        def perform(self, action, ctx, *, step, undoing):
            out = super().perform(action, ctx, step=step, undoing=undoing)
            if action.args[-1] == "hostname":
                shutil.copy(jr.path, crashed)  # the file a process killed right here leaves behind
            return out

    apply(plan3(), Crash(outputs={"holder": {"pid": "77"}}), jr)
    left = J.Journal.load(crashed)
    assert left.state == "starting" and left.begun() == [0, 1, 2]
    assert left.records[2].completed == 1 and left.ctx == {"pid": "77"}
    runner = Recorder()
    assert rollback(left, runner) == []
    assert [c[1] for c in runner.calls] == ["holder", "poststop", "umount b", "umount a"]


def test_an_undo_naming_something_never_created_is_skipped(tmp_path):
    plan = Plan("www1", (Step("jail", (op("spawn", "holder"),), (run("kill", "{pid}"),)),))
    runner = Recorder(fail={"holder"})
    with pytest.raises(StepFailed):
        apply(plan, runner, journal(tmp_path))
    assert [c for c in runner.calls if c[2]] == []
    runner = Recorder(fail={"x"}, outputs={"holder": {"pid": "5"}})
    plan = Plan("www1", plan.steps + (Step("exec.start", (run("x"),)),))
    with pytest.raises(StepFailed):
        apply(plan, runner, journal(tmp_path))
    assert [c[1] for c in runner.calls if c[2]] == ["kill 5"]


def test_user_hook_text_is_never_a_placeholder():
    action = op("hook", "echo {pid} ${home}", hook=True)
    assert action.placeholders() == set() and action.resolve({"pid": "1"}) == action
    assert run("nsenter", "-t", "{pid}").resolve({"pid": "5"}).args == ("nsenter", "-t", "5")


def test_a_bug_in_a_runner_still_rolls_back_and_propagates(tmp_path):
    jr = journal(tmp_path)

    class Buggy(Recorder):
        def perform(self, action, ctx, *, step, undoing):
            if action.args[-1] == "pre":
                raise KeyboardInterrupt
            return super().perform(action, ctx, step=step, undoing=undoing)

    runner = Buggy()
    with pytest.raises(KeyboardInterrupt):
        apply(plan3(), runner, jr)
    assert [c[1] for c in runner.calls if c[2]] == ["poststop", "umount b", "umount a"]


def test_reporter_sees_each_phase(tmp_path):
    events = []

    class Rep:
        def begin(self, jail, verb):
            events.append((jail, verb))

        def event(self, jail, step, phase, ok):
            events.append((step, phase, ok))

    jr = journal(tmp_path)
    apply(plan3(), Recorder(outputs={"holder": {"pid": "3"}}), jr, Rep())
    assert events == [(s, "do", True) for s in ("mount.fstab", "exec.prestart", "jail", "exec.start")]
    events.clear()
    rollback(J.Journal.load(jr.path), Recorder(), Rep())
    assert events == [("exec.start", "undo", True), ("jail", "undo", True), ("exec.prestart", "cleanup", True),
                      ("mount.fstab", "undo", True)]
    events.clear()
    jr = journal(tmp_path)
    apply(plan3(), Recorder(outputs={"holder": {"pid": "3"}}), jr)
    rollback(J.Journal.load(jr.path), Recorder(), Rep(), force=True)  # skipped hooks are not reported
    assert events == [("exec.start", "undo", True), ("jail", "undo", True), ("mount.fstab", "undo", True)]


def test_print_runner_and_render_plan_run_nothing(tmp_path):
    describe = Recorder()
    printer = PrintRunner(describe)
    apply(plan3(), printer, J.Journal(None))
    assert printer.lines[0] == ("mount.fstab", "run mount a")
    assert describe.calls == []
    text = render_plan(plan3(), describe)
    assert text[:4] == ["mount.fstab:", "  run mount a", "  run mount b", "  undo: run umount b"]
    assert "  cleanup: hook poststop" in text


def test_plan_round_trips_through_json():
    plan = plan3()
    again = [Step.from_dict(json.loads(json.dumps(s.to_dict()))) for s in plan.steps]
    assert tuple(again) == plan.steps


def test_corrupt_journal_is_an_error_not_ignored(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"jail": "x", "jid": ')
    with pytest.raises(IocjailError, match="cannot be read"):
        J.Journal.load(path)


def test_jids_are_the_lowest_free_across_pools_and_never_shared(tmp_path):
    J.Journal(J.journal_path(tmp_path, "p1", "a"), "a", 1).save()
    J.Journal(J.journal_path(tmp_path, "p2", "b"), "b", 3).save()
    assert J.reserve(tmp_path, "p1", "c").jid == 2
    with ThreadPoolExecutor(8) as pool:
        jids = list(pool.map(lambda i: J.reserve(tmp_path, "p3", f"j{i}").jid, range(8)))
    assert sorted(jids) == [4, 5, 6, 7, 8, 9, 10, 11]
