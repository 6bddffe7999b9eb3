"""The journal of a jail's start: what the engine is about to do, has done, and has undone.

One JSON file per jail, `RUNDIR/jails/POOL/NAME.json`: the plan (every step with its actions and
their undo), the status of each step (`pending`, `begun`, `done`, `undone`) with the number of
its actions that completed, the context the actions reported (the holder's pid, …), the JID and
the jail's `state` (`starting`, `up`, `stopping`, `failed`). The file is rewritten whole through
a rename after every event, so a crash leaves the previous event or the next, never a torn file.
No fsync: the runtime directory does not outlive a reboot, and nothing it describes does either.

A journal outlives the process that wrote it: `stop` undoes it, and a start or stop that finds
one left by a crash (a state other than `up`, or `up` with its holder gone) undoes it first.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iocjail.errors import IocjailError
from iocjail.lifecycle.plan import Plan, Step
from iocjail.platform.files import atomic_write, locked

STATES = ("starting", "up", "stopping", "failed")


class CorruptJournal(IocjailError):
    template = "runtime journal {} cannot be read ({}): remove it once the jail's mounts and processes are gone"


@dataclass
class StepRecord:
    step: Step
    status: str = "pending"  # pending, begun, done, undone
    completed: int = 0  # `do` actions that completed

    @property
    def begun(self) -> bool:
        return self.status in ("begun", "done")


class Journal:
    """The journal of one jail; `path=None` keeps it in memory (dry runs, unit tests)."""

    def __init__(self, path: Path | None, jail: str = "", jid: int = 0) -> None:
        self.path = path
        self.jail = jail
        self.jid = jid
        self.pool = ""
        self.state = "starting"
        self.ctx: dict[str, str] = {}
        self.facts: dict[str, str] = {}
        self.records: list[StepRecord] = []
        self.owner = os.getpid()

    # -- reading --------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> "Journal":
        try:
            data = json.loads(path.read_text())
            journal = cls(path, str(data["jail"]), int(data["jid"]))
            journal.pool = str(data.get("pool", ""))
            journal.state = str(data["state"])
            journal.ctx = {str(k): str(v) for k, v in data.get("ctx", {}).items()}
            journal.facts = {str(k): str(v) for k, v in data.get("facts", {}).items()}
            journal.owner = int(data.get("owner", 0))
            journal.records = [StepRecord(Step.from_dict(s), str(s.get("status", "pending")),
                                          int(s.get("completed", 0))) for s in data.get("steps", ())]
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise CorruptJournal(path, err) from err
        return journal

    @property
    def steps(self) -> list[Step]:
        return [r.step for r in self.records]

    def begun(self) -> list[int]:
        """Indexes of the steps that were begun and not yet undone, in start order."""
        return [i for i, r in enumerate(self.records) if r.begun]

    # -- writing --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        steps = []
        for record in self.records:
            data = record.step.to_dict()
            data.update(status=record.status, completed=record.completed)
            steps.append(data)
        return {"jail": self.jail, "pool": self.pool, "jid": self.jid, "state": self.state,
                "owner": self.owner, "ctx": self.ctx, "facts": self.facts, "steps": steps}

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        atomic_write(self.path, data, 0o600, durable=False)

    def remove(self) -> None:
        if self.path is not None:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def start(self, plan: Plan) -> None:
        self.jail = plan.jail
        self.facts = dict(plan.facts)
        self.records = [StepRecord(step) for step in plan.steps]
        self.state = "starting"
        self.owner = os.getpid()
        self.save()

    def begin(self, index: int) -> None:
        self.records[index].status = "begun"
        self.save()

    def did(self, index: int, completed: int, out: Mapping[str, str] | None, *, save: bool = True) -> None:
        """`completed` actions of step `index` are done; `save=False` when no undo depends on
        this count (the next save records it)."""
        self.records[index].completed = completed
        if out:
            self.ctx.update(out)
        if save or out:
            self.save()

    def done(self, index: int) -> None:
        self.records[index].status = "done"
        self.save()

    def undone(self, index: int) -> None:
        self.records[index].status = "undone"
        self.save()

    def insert_done(self, index: int, step: Step, completed: int) -> None:
        """Record a step applied to a running jail (a live mount) at `index`, so that stop
        undoes it where its kind belongs in the order."""
        self.records.insert(index, StepRecord(step, "done", completed))
        self.save()

    def set_state(self, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        self.state = state
        self.owner = os.getpid()
        self.save()


# -- where journals live, and JIDs ----------------------------------------------------------

def journal_path(rundir: Path, pool: str, name: str) -> Path:
    return rundir / "jails" / pool / f"{name}.json"


def used_jids(rundir: Path) -> set[int]:
    """JIDs recorded by every journal of every pool: JIDs are host-wide, like the kernel's."""
    used = set()
    for path in (rundir / "jails").glob("*/*.json"):
        try:
            used.add(int(json.loads(path.read_text())["jid"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return used


def lowest_free(used: set[int], taken: Callable[[int], bool] = lambda jid: False) -> int:
    """The lowest JID not in `used` and not `taken` on the host (e.g. a `vnet0.JID` still there)."""
    jid = 1
    while jid in used or taken(jid):
        jid += 1
    return jid


@contextmanager
def jid_lock(rundir: Path) -> Iterator[None]:
    with locked(rundir / "locks" / "jid.lock", "the JID table"):  # threads too (boot --rc)
        yield


def reserve(rundir: Path, pool: str, name: str, taken: Callable[[int], bool] = lambda jid: False) -> Journal:
    """A new journal for `name` holding the lowest free JID, written before the lock is let go,
    so two starts of different jails never get the same JID."""
    with jid_lock(rundir):
        jid = lowest_free(used_jids(rundir), taken)
        journal = Journal(journal_path(rundir, pool, name), name, jid)
        journal.pool = pool
        journal.save()
    return journal
