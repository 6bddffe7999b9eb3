"""`start --rc` and `stop --rc`: the boot set started and stopped in parallel, failures isolated.

The order and the parallel rule are model/boot.py's (read its docstring). `run_rc` is the one
scheduler for both directions: a pool of worker threads (starts mostly wait on processes, so
threads are enough) runs an action per jail as soon as the schedule allows. A jail whose action
fails is reported `failed`; the jails that need it are `skipped` with the reason; every other
jail still runs. Outcomes come back in the schedule's order, never in completion order, so the
output of two boots of one host reads the same.

`start --rc` records the jails it started only as dependencies (boot=off) in
`RUNDIR/boot/POOL.json`; `stop --rc` stops them too unless a jail left running still needs
them (iocage leaves them all running, reference §6). The runtime dir is emptied at reboot
(FreeBSD's cleanvar, a tmpfs /run on Linux), which is the lifetime the record needs.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from iocjail.errors import CorruptConfig, IocjailError, JailNotRunning, JailRunning, UsageError
from iocjail.model.boot import BootJail, Schedule, Task, start_schedule, stop_schedule
from iocjail.model.values import is_true
from iocjail.platform.files import atomic_write, locked
from iocjail.site import config, jails, state
from iocjail.site.host import Host
from iocjail.site.jails import JailRef

log = logging.getLogger("iocjail.services.boot")

# An action does one jail; it returns None when it did what was asked, or a note saying why
# nothing needed doing ("already running"); it raises to fail.
Action = Callable[[str], "str | None"]
Clock = Callable[[], float]
Report = Callable[["Outcome"], None]
Attempt = tuple[float, float, "str | None", "BaseException | None"]  # began, ended, note, error

OK_STATES = ("started", "stopped", "already running", "not running", "kept running")


class BootIncomplete(IocjailError):
    """Printed after the per-jail lines: the exit status of a boot that was not complete."""

    template = "{} of {} jails did not {}"


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # started/stopped, a note (already running, …), failed, skipped, left out
    detail: str = ""  # the error, or why it was skipped or left out
    started: float | None = None  # clock readings around the action; None if it never ran
    finished: float | None = None
    dependency: bool = False  # in the run only as a dependency of a boot=on jail

    @property
    def ok(self) -> bool:
        return self.status in OK_STATES

    def line(self) -> str:
        return f"{self.name}: {self.status}" + (f": {self.detail}" if self.detail else "")


def default_jobs() -> int:
    """How many jails start at once by default: starts mostly wait on processes, not CPU."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # FreeBSD's Python has no sched_getaffinity
        cpus = os.cpu_count() or 1
    return min(32, 4 * cpus)


# -- the scheduler ---------------------------------------------------------------------------

def run_rc(schedule: Schedule, action: Action, jobs: int, *, clock: Clock = time.monotonic,
           done: str = "started", report: Report | None = None) -> list[Outcome]:
    """Run `action` on every task of `schedule`, `jobs` at a time, as its order allows.

    A task runs when every task of a lower level and every task in its `after` have finished;
    it is skipped if one of its `needs` did not succeed. Left-out jails are reported too, after
    the tasks. `done` is the status of a task whose action returned None. `report` gets each
    outcome as soon as it and every one before it in the schedule are known: a boot of
    hundreds of jails shows its progress, in a stable order.
    """
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {jobs}")
    finished: dict[str, Outcome] = {}
    pending: list[Task] = list(schedule.tasks)
    in_flight: dict[Future[Attempt], Task] = {}
    reported = 0

    def report_ready() -> None:
        nonlocal reported
        while reported < len(schedule.tasks) and schedule.tasks[reported].name in finished:
            if report:
                report(finished[schedule.tasks[reported].name])
            reported += 1

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="iocjail-rc") as pool:
        try:
            while pending or in_flight:
                for task in _release(pending, finished, in_flight, jobs):
                    in_flight[pool.submit(_attempt, action, task.name, clock)] = task
                report_ready()  # skips are known at release
                if not in_flight:  # nothing runs and nothing may: the schedule was not a DAG
                    for task in pending:
                        finished[task.name] = Outcome(task.name, "skipped", "its order cannot be satisfied",
                                                      dependency=task.dependency)
                    break
                completed, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in completed:
                    task = in_flight.pop(future)
                    finished[task.name] = _outcome(task, future.result(), done)
                report_ready()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # ^C: start nothing more, let running ones end
            raise
    report_ready()
    outcomes = [finished[t.name] for t in schedule.tasks]
    left_out = [Outcome(j.name, "left out", j.reason) for j in schedule.left_out]
    for outcome in left_out:
        if report:
            report(outcome)
    return outcomes + left_out


def _release(pending: list[Task], finished: dict[str, Outcome], in_flight: Mapping[Future[Attempt], Task],
             jobs: int) -> list[Task]:
    """Take from `pending` the tasks that may run now (skipping those whose needs failed)."""
    released: list[Task] = []
    progress = True
    while progress:
        progress = False
        unfinished = [t.level for t in pending] + [t.level for t in in_flight.values()] + [t.level for t in released]
        lowest = min(unfinished, default=0)
        for task in list(pending):
            if task.level != lowest or any(a not in finished for a in task.after):
                continue
            failed = [n for n in task.needs if not finished[n].ok]
            if failed:
                pending.remove(task)
                finished[task.name] = Outcome(task.name, "skipped", _skip_reason(failed[0], finished[failed[0]]),
                                              dependency=task.dependency)
                progress = True  # a skip finishes a task: it may release others
            elif len(in_flight) + len(released) < jobs:
                pending.remove(task)
                released.append(task)
    return released


def _skip_reason(name: str, outcome: Outcome) -> str:
    return f"depends on {name!r}, which {'failed' if outcome.status == 'failed' else 'did not start'}"


def _attempt(action: Action, name: str, clock: Clock) -> Attempt:
    began = clock()
    try:
        note = action(name)
    except Exception as err:  # one jail's failure, whatever it is, must not stop the others
        log.debug("%s failed", name, exc_info=True)
        return began, clock(), None, err
    return began, clock(), note, None


def _outcome(task: Task, result: Attempt, done: str) -> Outcome:
    began, ended, note, err = result
    if err is None:
        return Outcome(task.name, note or done, "", began, ended, task.dependency)
    detail = str(err) if isinstance(err, IocjailError) else f"internal error: {type(err).__name__}: {err}"
    detail = detail.removeprefix(f"{task.name}: ")  # the line already names the jail
    return Outcome(task.name, "failed", detail, began, ended, task.dependency)


# -- start --rc / stop --rc ------------------------------------------------------------------

def start_rc(host: Host, jobs: int | None = None, *, start_one: Action | None = None,
             clock: Clock = time.monotonic, report: Report | None = None) -> list[Outcome]:
    """Start the boot set (model/boot.py) and record the jails started only as dependencies.

    `start_one(name)` starts one jail, without starting its dependencies (the schedule did);
    it returns "already running" (or raises) for a jail that runs. The default is the lifecycle
    engine's.
    """
    with _boot_lock(host):
        found = gather(host)
        action = start_one or _lifecycle_start(host, found.refs)
        outcomes = run_rc(start_schedule(found.jails.values()), action, jobs or default_jobs(), clock=clock,
                          done="started", report=report)
        started = {o.name for o in outcomes if o.dependency and o.status == "started"}
        if started:
            save_record(host, load_record(host) | started)
    return outcomes


def stop_rc(host: Host, jobs: int | None = None, *, stop_one: Action | None = None,
            clock: Clock = time.monotonic, report: Report | None = None) -> list[Outcome]:
    """Stop every boot=on jail and the recorded dependencies nothing left running needs."""
    with _boot_lock(host):
        found = gather(host)
        stop = stop_one or _lifecycle_stop(host)
        recorded = load_record(host)
        schedule = stop_schedule(found.jails.values(), found.running, recorded)

        def action(name: str) -> str | None:
            return "not running" if name not in found.running else stop(name)

        outcomes = run_rc(schedule, action, jobs or default_jobs(), clock=clock, done="stopped", report=report)
        kept = [Outcome(n, "kept running", "a running jail still depends on it", dependency=True)
                for n in schedule.kept]
        for outcome in kept:
            if report:
                report(outcome)
        outcomes += kept
        down = {o.name for o in outcomes if o.status in ("stopped", "not running")}
        save_record(host, {n for n in recorded if n in found.jails and n in found.running and n not in down})
    return outcomes


def check(outcomes: Collection[Outcome], verb: str) -> None:
    """Raise BootIncomplete (exit 1) unless every jail is where the run meant it to be."""
    bad = [o for o in outcomes if not o.ok]
    if bad:
        raise BootIncomplete(len(bad), len(outcomes), verb)


@dataclass(frozen=True)
class Found:
    jails: dict[str, BootJail]  # every jail and template, as the boot graph reads them
    refs: dict[str, JailRef]
    running: dict[str, state.Running]


def gather(host: Host) -> Found:
    """Every jail and template as the boot graph sees it, and the running jails.

    One zfs call names them, each config.json is read directly. A config that cannot be read
    makes only its jail (and its dependants) fail to boot: it is marked broken, and boot=on,
    so that the run reports it rather than skipping it silently.
    """
    host.iocroot  # resolved once here: worker threads share the Host
    defaults = config.load_defaults(host)
    found: dict[str, BootJail] = {}
    refs: dict[str, JailRef] = {}
    for ref in jails.all_jails(host):
        if ref.name in found and ref.is_template:
            continue  # a jail and a template of one name: the jail is what start resolves
        refs[ref.name] = ref
        try:
            found[ref.name] = boot_jail(ref.name, config.load(host, ref, defaults).effective, ref.is_template)
        except (CorruptConfig, OSError) as err:
            found[ref.name] = BootJail(ref.name, boot=True, template=ref.is_template, broken=str(err))
    return Found(found, refs, state.running(host))


def boot_jail(name: str, cfg: Mapping[str, str], template: bool = False) -> BootJail:
    """A jail's effective config as the boot graph reads it."""
    depends = tuple(d for d in cfg.get("depends", "none").split() if d != "none")
    template = template or is_true(cfg.get("template")) or cfg.get("type") == "template"
    raw = cfg.get("priority", "99")
    try:
        priority = int(raw)
    except ValueError:  # iocage let `priority=5x` through (reference §9.11)
        return BootJail(name, True, 99, depends, template, f"invalid priority {raw!r}: expected a number")
    return BootJail(name, is_true(cfg.get("boot")), priority, depends, template)


# -- the record of jails started as dependencies ----------------------------------------------

def record_path(host: Host) -> Path:
    return config.rundir() / "boot" / f"{host.pool}.json"


def load_record(host: Host) -> set[str]:
    """Jails `start --rc` started only as dependencies; a damaged record counts as empty."""
    try:
        data = json.loads(record_path(host).read_text())
        return {str(n) for n in data["started_as_dependency"]}
    except FileNotFoundError:
        return set()
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("ignoring damaged %s: %s", record_path(host), err)
        return set()


def save_record(host: Host, names: Collection[str]) -> None:
    path = record_path(host)
    if not names:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps({"started_as_dependency": sorted(names)}, indent=2) + "\n")


def _boot_lock(host: Host) -> AbstractContextManager[None]:
    """One `--rc` run per pool at a time: a second waits, then fails clearly."""
    return locked(config.rundir() / "locks" / f"{host.pool}.boot.lock", "the boot set (--rc)", timeout=60.0)


def _lifecycle_start(host: Host, refs: Mapping[str, JailRef]) -> Action:
    """The lifecycle engine's start of one jail (imported late: it pulls in the platform)."""
    from iocjail.services import lifecycle

    def action(name: str) -> str | None:
        try:
            lifecycle.start_one(host, refs[name])
        except JailRunning:
            return "already running"
        return None

    return action


def _lifecycle_stop(host: Host) -> Action:
    from iocjail.services import lifecycle

    def action(name: str) -> str | None:
        try:
            lifecycle.stop_one(host, name)
        except JailNotRunning:
            return "not running"
        return None

    return action
