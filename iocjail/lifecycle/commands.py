"""Carrying out a FreeBSD command plan (pkg, freebsd-update, etcupdate) on this host.

A plan is a list of steps: `Command`s (fetch/update.py: argv, environment, exit codes that count
as success, and an optional "run again while this path exists") and named file operations
(lifecycle.plan.Action: mkdir, mount, umount under a jail's root, reached without following the
jail's symlinks, performed by the FreeBSD runner, lifecycle/freebsd/runner.py). `carry_out` runs the steps in order, stops at
the first failure and always runs the plan's cleanup.

The executor is injected: `HostExecutor` on FreeBSD (output on the caller's terminal, or
captured), `require_freebsd()` everywhere else, which refuses with a clear message before
anything is changed. Tests hand in their own executor to make a step fail on purpose.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from iocjail.errors import IocjailError
from iocjail.lifecycle.freebsd.runner import FreeBSDRunner
from iocjail.lifecycle.runtime import RUNDIR
from iocjail.lifecycle.select import on_freebsd
from iocjail.platform import shell

__all__ = ["Executor", "HostExecutor", "NeedsFreeBSD", "PlanStepFailed", "Unavailable", "carry_out", "check_available",
           "default_executor", "describe_short", "on_freebsd"]


class NeedsFreeBSD(IocjailError):
    template = "{} needs FreeBSD: {} does not exist on {}; `iocjail {} --plan …` prints the commands it runs there"
    exit_code = 69  # EX_UNAVAILABLE


class PlanStepFailed(IocjailError):
    template = "{} failed (exit {})"


class Executor(Protocol):
    def run(self, command: Any) -> int:
        """Run a Command (or a file Action); its exit status (0 for a file Action that worked)."""

    def exists(self, path: str) -> bool:
        """Whether a host path exists (a Command's repeat_while)."""


@dataclass
class HostExecutor:
    """Runs the plan here. `capture=True` collects the output in `output` instead of showing it."""

    capture: bool = False
    rundir: Path = RUNDIR
    output: list[str] = field(default_factory=list)
    _run: Callable[..., shell.Result] = shell.run
    _interactive: Callable[..., int] = shell.interactive

    def run(self, command: Any) -> int:
        if hasattr(command, "op"):  # a file Action under a jail's root
            FreeBSDRunner(self.rundir).perform(command, {}, step="plan", undoing=False)
            return 0
        env = dict(command.env) if command.env is not None else None  # exactly the plan's environment
        if not self.capture:
            return self._interactive(list(command.argv), env=env)
        result = self._run(list(command.argv), check=False, env=env)
        self.output += [text for text in (result.stdout, result.stderr) if text]
        return result.returncode

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)


@dataclass
class Unavailable:
    """The executor of a host that cannot run the plan: refuses at once."""

    what: str
    tool: str
    command: str

    def run(self, command: Any) -> int:
        raise NeedsFreeBSD(self.what, self.tool, sys.platform, self.command)

    def exists(self, path: str) -> bool:
        return False


def default_executor(what: str, tool: str, command: str, *, capture: bool = False,
                     rundir: Path | None = None) -> Executor:
    """HostExecutor on FreeBSD, else one that says the plan needs FreeBSD."""
    if on_freebsd():
        return HostExecutor(capture=capture, rundir=rundir or RUNDIR)
    return Unavailable(what, tool, command)


def check_available(executor: Executor) -> None:
    """Raise NeedsFreeBSD now, before a snapshot or any change, if the plan cannot run here."""
    if isinstance(executor, Unavailable):
        executor.run(None)


def carry_out(steps: Sequence[Any], cleanup: Sequence[Any], executor: Executor) -> None:
    """Each step in order (a Command again while its repeat_while path exists); the cleanup
    whatever happened. The first failure raises PlanStepFailed naming the command."""
    try:
        for step in steps:
            _one(step, executor)
    finally:
        for step in cleanup:
            try:
                executor.run(step)
            except IocjailError:
                pass  # the cleanup of a failed step must never hide why it failed


def _one(step: Any, executor: Executor) -> None:
    if hasattr(step, "op"):
        executor.run(step)
        return
    runs = 0
    while True:
        code = executor.run(step)
        runs += 1
        if code not in step.ok_codes:
            raise PlanStepFailed(describe_short(step.argv), code)
        if not step.repeat_while or runs >= step.max_runs or not executor.exists(step.repeat_while):
            return


def describe_short(argv: Sequence[str]) -> str:
    """`freebsd-update install`, `etcupdate (in ioc-www1)`: the tool and its subcommand, for messages."""
    words = list(argv)
    where = ""
    if words and os.path.basename(words[0]) == "jexec":
        names = [w for w in words[1:] if w.startswith("ioc-")]
        if names:
            where = f" (in {names[0]})"
            words = words[words.index(names[0]) + 1:]
    if not words:
        return "a command"
    tool = os.path.basename(words[0])
    last = words[-1] if len(words) > 1 else ""
    sub = f" {last}" if last and "/" not in last and not last.startswith("-") else ""
    return f"{tool}{sub}{where}"
