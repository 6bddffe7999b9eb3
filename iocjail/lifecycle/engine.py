"""The one engine that runs a plan: journal first, act second, undo in reverse on failure.

`apply` journals each step as begun *before* its first action, records every action that
completed, and marks the step done after its last. If an action fails, the done steps and the
completed part of the failing one are undone in reverse order, then the cleanup hooks of every
begun step run (jail(8) skips both, seed 004); errors met while undoing are collected and never
mask the first, which is raised as `StepFailed` (`NAME: STEP: message`).

`rollback` is also what `stop` is: it undoes a running jail's journal, the config as it was
applied. With `force` the user's hooks are skipped and every resource is still released.

Runners perform actions; a `PrintRunner` performs nothing and records what would run, so
`start --plan` goes through the same engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from iocjail.errors import IocjailError
from iocjail.lifecycle.journal import Journal
from iocjail.lifecycle.plan import STOP_HOOKS, Action, Plan, Step

log = logging.getLogger("iocjail.lifecycle")


class Runner(Protocol):
    def perform(self, action: Action, ctx: Mapping[str, str], *, step: str, undoing: bool) -> Mapping[str, str] | None:
        """Do `action` (placeholders already filled from ctx); return values for the context."""

    def describe(self, action: Action) -> str:
        """The exact command(s) `action` runs, for --plan."""


class Reporter(Protocol):
    def begin(self, jail: str, verb: str) -> None:
        """A service starts working on `jail` (`start` or `stop`)."""

    def event(self, jail: str, step: str, phase: str, ok: bool) -> None:
        """`phase` is do, undo or cleanup; called once per step and phase that ran something."""


class StepFailed(IocjailError):
    """A step of a start failed; everything it and the earlier steps did was undone."""

    def __init__(self, jail: str, step: str, cause: BaseException, secondary: list["UndoError"] | None = None) -> None:
        super().__init__(jail, step, cause)
        self.jail, self.step, self.cause = jail, step, cause
        self.secondary = list(secondary or [])
        self.exit_code = getattr(cause, "exit_code", 1)

    def __str__(self) -> str:
        text = f"{self.jail}: {self.step}: {self.cause}"
        if self.secondary:
            text += f" (and {len(self.secondary)} error(s) while undoing, first: {self.secondary[0]})"
        return text


@dataclass(frozen=True)
class UndoError:
    step: str
    error: BaseException

    def __str__(self) -> str:
        return f"{self.step}: {self.error}"


class StopIncomplete(IocjailError):
    """Undoing a jail met errors: every other resource was released; the journal keeps what was
    not (none when only a hook failed: then it is gone and the jail starts again)."""

    def __init__(self, jail: str, errors: list[UndoError]) -> None:
        super().__init__(jail, errors)
        self.jail, self.errors = jail, list(errors)

    def __str__(self) -> str:
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        return f"{self.jail}: {self.errors[0]}{more}"


def _resolved(action: Action, ctx: Mapping[str, str]) -> Action:
    return action.resolve(ctx)


def apply(plan: Plan, runner: Runner, journal: Journal, reporter: Reporter | None = None) -> None:
    """Run `plan`; on failure leave the host as it was and raise StepFailed."""
    journal.start(plan)
    for index, step in enumerate(plan.steps):
        journal.begin(index)
        # Counts an undo depends on are written at once; the others ride on the next write.
        thresholds = {a.needs for a in (*step.undo, *step.cleanup)}
        try:
            for count, action in enumerate(step.do, start=1):
                out = runner.perform(_resolved(action, journal.ctx), journal.ctx, step=step.name, undoing=False)
                journal.did(index, count, out, save=count in thresholds)
        except BaseException as err:
            if reporter:
                reporter.event(plan.jail, step.name, "do", False)
            secondary = rollback(journal, runner, reporter)
            settle(journal)
            if isinstance(err, (IocjailError, OSError)):
                raise StepFailed(plan.jail, step.name, err, secondary) from err
            raise
        journal.done(index)
        if reporter:
            reporter.event(plan.jail, step.name, "do", True)
    journal.set_state("up")


def settle(journal: Journal) -> None:
    """After an undo: no journal once every begun step is undone (a failed hook held nothing and
    is never run again), else state `failed`, so the next stop, start or clean retries the rest."""
    if journal.begun():
        journal.set_state("failed")
    else:
        journal.remove()


def rollback(journal: Journal, runner: Runner, reporter: Reporter | None = None, *,
             force: bool = False) -> list[UndoError]:
    """Undo every begun step in reverse (only the completed part of a partial one), each step's
    undo followed by its cleanup. Errors are collected, never raised: the rest still runs.
    A step whose undo failed stays in the journal, so a later stop can try again; a user's hook
    that failed does not keep it (a hook holds nothing to release, and is never run twice)."""
    errors: list[UndoError] = []
    for index in reversed(journal.begun()):
        record = journal.records[index]
        step = record.step
        held = False
        for phase, actions in (("undo", step.undo), ("cleanup", step.cleanup)):
            before = len(errors)
            ran, failed = _run_all(step, phase, actions, record.completed, journal, runner, errors, force)
            if ran and reporter:
                reporter.event(journal.jail, step.name, phase, len(errors) == before)
            held = held or failed
        if not held:
            journal.undone(index)
    return errors


def _run_all(step: Step, phase: str, actions: tuple[Action, ...], completed: int, journal: Journal,
             runner: Runner, errors: list[UndoError], force: bool) -> tuple[int, bool]:
    """Run what applies of `actions`; (how many ran, whether an action other than a hook failed).
    A hook's error is named by the hook (exec.prestop), not by the start step it undoes."""
    failed = False
    ran = 0
    for action in actions:
        if action.needs > completed or (force and action.hook):
            continue
        resolved = _resolved(action, journal.ctx)
        if resolved.placeholders():
            continue  # names something that was never created (e.g. the holder's pid)
        ran += 1
        try:
            runner.perform(resolved, journal.ctx, step=step.name, undoing=True)
        except Exception as err:  # collected: one stuck mount must not keep the others mounted
            log.debug("undo of %s failed: %s", step.name, err)
            name = STOP_HOOKS.get((step.name, phase), step.name) if action.hook else step.name
            errors.append(UndoError(name, err))
            failed = failed or not action.hook
    return ran, failed


class PrintRunner:
    """Performs nothing: records each action as the command it would run (`--plan`)."""

    def __init__(self, describe: Runner) -> None:
        self._describe = describe
        self.lines: list[tuple[str, str]] = []

    def perform(self, action: Action, ctx: Mapping[str, str], *, step: str, undoing: bool) -> Mapping[str, str] | None:
        self.lines.append((step, self._describe.describe(action)))
        return None

    def describe(self, action: Action) -> str:
        return self._describe.describe(action)


def render_plan(plan: Plan, runner: Runner) -> list[str]:
    """Every step with the exact commands of its actions, their undo and cleanup."""
    lines = []
    for step in plan.steps:
        lines.append(f"{step.name}:")
        lines += [f"  {runner.describe(a)}" for a in step.do]
        lines += [f"  undo: {runner.describe(a)}" for a in step.undo]
        lines += [f"  cleanup: {runner.describe(a)}" for a in step.cleanup]
    return lines


def stop_plan_lines(steps: Sequence[Step], describe: Callable[[Action], str]) -> list[str]:
    """What stopping a jail started with `steps` runs: each step's undo, then its cleanup, last
    step first (the engine's rollback of a complete journal)."""
    lines = []
    for step in reversed(steps):
        actions = [*step.undo, *step.cleanup]
        if actions:
            lines.append(f"{step.name}:")
            lines += [f"  {describe(a)}" for a in actions]
    return lines
