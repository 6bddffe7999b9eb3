"""A start as data: Steps named in jail(8)'s vocabulary, each with its actions and their undo.

An `Action` is either an argv (`op="run"`) or a named host-side operation (`mount`, `write`,
`spawn`, …) that a platform runner performs and can describe as the exact command it runs.
Actions are plain data (strings only), so a whole plan can be journaled as JSON and undone later
by another process, from the journal alone: stop undoes what was applied, not what the config
says now.

Placeholders `{pid}` (and any other key an earlier action reported, such as `{pid_start}`) are
filled in from the run's context when the action runs; a plan printed before the run shows them
as they are.

`Action.needs` ties an undo action to the part of its step that must have completed for the
undo to make sense: it runs only once `needs` of the step's `do` actions completed. A finished
step has completed all of them; a failing one only some, and only their undo runs.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

# jail(8)'s order of a start (DESIGN.md, seed 004); a platform's plan uses these names, in order.
START_ORDER = ("exec.prepare", "ip4.addr", "ip6.addr", "mount", "mount.fstab", "mount.devfs",
               "mount.fdescfs", "mount.procfs", "exec.prestart", "jail", "exec.created",
               "vnet.interface", "resolver", "exec.start", "exec.poststart", "rctl", "cpuset")

# The hooks a stop runs, by the start step and phase that hold them: an error names the hook
# (jail(8)'s exec.prestop, exec.stop, exec.poststop; iocage's exec_prestop, …), not the start step.
STOP_HOOKS = {("exec.poststart", "undo"): "exec.prestop", ("exec.start", "undo"): "exec.stop",
              ("exec.prestart", "cleanup"): "exec.poststop"}

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
# Ops whose args are a user's own text (exec_* commands): never searched for placeholders.
LITERAL_OPS = frozenset({"hook", "jexec"})


@dataclass(frozen=True)
class Action:
    op: str  # "run" (args is an argv), "hook" (args[0] is a user's exec_* command), or a named op
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # added to the environment of the command
    hook: bool = False  # a user's exec_* hook: `stop -f` skips it
    needs: int = 0  # for undo/cleanup actions: completed `do` actions of the step required
    timeout: float | None = None

    def placeholders(self) -> set[str]:
        if self.op in LITERAL_OPS:
            return set()
        return {m.group(1) for arg in self.args for m in _PLACEHOLDER.finditer(arg)}

    def resolve(self, ctx: Mapping[str, str]) -> "Action":
        """The action with every known placeholder replaced by its value in `ctx`."""
        if self.op in LITERAL_OPS:
            return self

        def one(arg: str) -> str:
            return _PLACEHOLDER.sub(lambda m: ctx.get(m.group(1), m.group(0)), arg)

        return Action(self.op, tuple(one(a) for a in self.args), self.env, self.hook, self.needs, self.timeout)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "args": list(self.args)}
        if self.env:
            out["env"] = [list(pair) for pair in self.env]
        if self.hook:
            out["hook"] = True
        if self.needs:
            out["needs"] = self.needs
        if self.timeout is not None:
            out["timeout"] = self.timeout
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Action":
        return cls(str(data["op"]), tuple(str(a) for a in data.get("args", ())),
                   tuple((str(k), str(v)) for k, v in data.get("env", ())), bool(data.get("hook", False)),
                   int(data.get("needs", 0)), None if data.get("timeout") is None else float(data["timeout"]))


def run(*argv: str, needs: int = 0, env: Mapping[str, str] | None = None, timeout: float | None = None) -> Action:
    """An argv action."""
    return Action("run", tuple(argv), tuple((env or {}).items()), False, needs, timeout)


def op(name: str, *args: str, needs: int = 0, env: Mapping[str, str] | None = None,
       hook: bool = False, timeout: float | None = None) -> Action:
    """A named host-side operation (see the platform runner for what each one does)."""
    return Action(name, tuple(args), tuple((env or {}).items()), hook, needs, timeout)


@dataclass(frozen=True)
class Step:
    name: str  # jail(8) vocabulary, so --plan reads like jail.conf
    do: tuple[Action, ...] = ()
    undo: tuple[Action, ...] = ()  # inverse built by the same builder, in the order to run it
    cleanup: tuple[Action, ...] = ()  # run after the undo whenever the step was begun (exec.poststop)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "do": [a.to_dict() for a in self.do],
                "undo": [a.to_dict() for a in self.undo], "cleanup": [a.to_dict() for a in self.cleanup]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Step":
        def actions(key: str) -> tuple[Action, ...]:
            return tuple(Action.from_dict(a) for a in data.get(key, ()))

        return cls(str(data["name"]), actions("do"), actions("undo"), actions("cleanup"))


@dataclass(frozen=True)
class Plan:
    jail: str
    steps: tuple[Step, ...]
    # What a runner needs to undo this plan later without the config: root, jid, log, ….
    facts: Mapping[str, str] = field(default_factory=dict)

    def step_names(self) -> list[str]:
        return [s.name for s in self.steps]


def check_order(steps: Iterable[Step], order: tuple[str, ...] = START_ORDER) -> None:
    """A builder's steps must follow `order` (each name at most once)."""
    positions = []
    for step in steps:
        if step.name not in order:
            raise ValueError(f"unknown step name {step.name!r}")
        positions.append(order.index(step.name))
    if positions != sorted(set(positions)) or len(positions) != len(set(positions)):
        raise ValueError("steps out of jail(8) order or repeated")


def describe_argv(argv: Iterable[str]) -> str:
    return shlex.join(list(argv))


class RootFacts(Protocol):
    @property
    def root(self) -> str: ...
    @property
    def resolv_conf(self) -> str | None: ...  # the host's /etc/resolv.conf, None if it has none
    @property
    def localtime(self) -> bool: ...  # the host has /etc/localtime
