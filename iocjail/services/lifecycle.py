"""start, stop, restart, exec, console: the services over the lifecycle engine.

Each start takes the jail's lock, undoes a journal a crash left behind, reserves a JID, gathers
the host facts, builds the plan and hands it to the engine; once the jail is up, config.json
records `last_started` and what the start generated (FreeBSD: the vnet MACs). Each stop takes
the lock and undoes the jail's journal: what was applied, not what the config says now. Batches
(`ALL`, several names) isolate failures per jail.

What differs between FreeBSD (jail(8), jexec) and Linux (namespaces, nsenter) is the host's
runtime (lifecycle/runtime.py): facts and plan, runner, liveness and the argv that enters a jail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Generic, TypeVar

from iocjail.errors import IocjailError, JailNotRunning, JailRunning, UsageError
from iocjail.lifecycle import journal as J
from iocjail.lifecycle.engine import (PrintRunner, Reporter, StopIncomplete, apply, render_plan, rollback,
                                      settle, stop_plan_lines)
from iocjail.lifecycle.freebsd import runtime as freebsd
from iocjail.lifecycle.linux.runtime import LinuxRuntime
from iocjail.lifecycle.plan import Plan
from iocjail.lifecycle.runtime import Command, Runtime, Wrap
from iocjail.lifecycle.select import on_freebsd
from iocjail.model import config as model
from iocjail.model.fstab import Entry as FstabEntry
from iocjail.platform import shell
from iocjail.site import config, state
from iocjail.services import jail_root
from iocjail.site.host import Host
from iocjail.site.jail import with_jail
from iocjail.site.jails import JailRef, all_jails, resolve


T = TypeVar("T")


class NotStartable(UsageError):
    template = "{}: {}"


@dataclass(frozen=True)
class Outcome:
    name: str
    error: IocjailError | None = None
    skipped: str = ""  # why nothing was done (ALL: already running / not running)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Captured:
    """What a command run inside printed, when the caller's stdout is no terminal or file."""

    code: int
    stdout: str = ""
    stderr: str = ""


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _journal_path(host: Host, name: str) -> Path:
    return J.journal_path(config.rundir(), host.pool, name)


def _live_journal(host: Host, name: str) -> J.Journal | None:
    path = _journal_path(host, name)
    if not path.exists():
        return None
    return J.Journal.load(path)


def _up(host: Host, journal: J.Journal | None) -> bool:
    return journal is not None and journal.state == "up" and state.of(host).alive(journal)


def is_running(host: Host, name: str) -> bool:
    return _up(host, _live_journal(host, name))


# -- selecting jails --------------------------------------------------------------------------

def _select(host: Host, names: Sequence[str], *, reverse: bool = False) -> list[JailRef]:
    """NAMES resolved (unique prefixes allowed), or every jail for ALL in priority order
    (descending for stop, as iocage's stop --rc)."""
    if list(names) == ["ALL"]:
        defaults = config.load_defaults(host)
        cfgs = {r.name: (r, config.load(host, r, defaults).effective) for r in all_jails(host, templates=False)}
        refs = [r for r, cfg in cfgs.values() if cfg.get("type") != "template"]  # templates never start
        return sorted(refs, key=lambda r: (int(cfgs[r.name][1].get("priority", "99")), r.name), reverse=reverse)
    return [resolve(host, name, prefix=True) for name in dict.fromkeys(names)]


def _batch(host: Host, names: Sequence[str], one: Callable[[JailRef], None], *, reverse: bool = False,
           quiet_skip: type[IocjailError] | None = None) -> list[Outcome]:
    every = list(names) == ["ALL"]
    outcomes = []
    for ref in _select(host, names, reverse=reverse):
        try:
            one(ref)
            outcomes.append(Outcome(ref.name))
        except IocjailError as err:
            if every and quiet_skip is not None and isinstance(err, quiet_skip):
                outcomes.append(Outcome(ref.name, skipped=str(err)))
            else:
                outcomes.append(Outcome(ref.name, err))
    return outcomes


# -- start ------------------------------------------------------------------------------------

def start(host: Host, names: str | Sequence[str], *, reporter: Reporter | None = None, wrap: Wrap | None = None,
          now: Callable[[], str] = _utc_now) -> list[Outcome]:
    """Start NAMES (or ALL: every jail not running, templates never). A single name given as a
    string (not a list) raises its error instead of reporting it in an Outcome."""
    state.of(host)  # no runtime on this system: one error, before any jail
    if isinstance(names, str):
        start_one(host, resolve(host, names, prefix=True), reporter=reporter, wrap=wrap, now=now)
        return [Outcome(names)]
    return _batch(host, names, lambda ref: start_one(host, ref, reporter=reporter, wrap=wrap, now=now),
                  quiet_skip=JailRunning)


def _startable(ref: JailRef, cfg: dict[str, str]) -> None:
    if ref.is_template or cfg.get("type") == "template":
        raise NotStartable(ref.name, "is a template: templates never start (clone a jail from it)")
    if cfg.get("type") == "basejail":
        raise NotStartable(ref.name, "is a legacy basejail (type=basejail), which iocage does not start either")


def _recover(host: Host, name: str, reporter: Reporter | None = None) -> None:
    """Undo a journal that no running jail stands behind (a crash, a failed stop)."""
    journal = _live_journal(host, name)
    if journal is None:
        return
    if _up(host, journal):
        raise JailRunning(name, journal.jid)
    errors = rollback(journal, state.of(host).runner(config.rundir(), journal.facts), reporter)
    settle(journal)  # kept only while something is left to release
    if errors:
        raise StopIncomplete(name, errors)


def start_one(host: Host, ref: JailRef, *, reporter: Reporter | None = None, wrap: Wrap | None = None,
              now: Callable[[], str] = _utc_now) -> None:
    runtime = state.of(host)
    _startable(ref, config.load(host, ref).effective)
    with config.lock(host, ref.name):
        _recover(host, ref.name)
        if reporter:
            reporter.begin(ref.name, "start")
        current = config.load(host, ref)
        cfg = current.effective
        _startable(ref, cfg)
        jail_root.check(host, ref)  # JAILDIR/root is the jail's own dataset, no link: before any change
        journal = J.reserve(config.rundir(), host.pool, ref.name, runtime.taken())
        try:
            built = runtime.build(state.site_of(host, ref), cfg, journal.jid, state.existing_datasets(host, cfg))  # host checks refuse here, before any change
        except BaseException:
            journal.remove()
            raise
        apply(built.plan, runtime.runner(config.rundir(), built.plan.facts, wrap), journal, reporter)
        config.write(host, ref, model.thin(current.stored, {**built.updates, "last_started": now()}))


def plan(host: Host, name: str) -> tuple[Plan, list[str]]:
    """The Linux plan `start NAME` would run and its text, running nothing (`start --plan`; the
    FreeBSD one is freebsd_plan below)."""
    with with_jail(host, name, lock=False) as (ref, current):
        cfg = current.effective
    _startable(ref, cfg)
    linux = LinuxRuntime()
    jid = J.lowest_free(J.used_jids(config.rundir()), linux.taken())
    built = linux.build(state.site_of(host, ref), cfg, jid).plan
    runner = linux.runner(config.rundir(), built.facts)
    header = f"# start plan of {ref.name} ({built.facts['kernel_name']}, jid {jid}, network {built.facts['network']})"
    lines = [header, *render_plan(built, PrintRunner(runner))]
    return built, lines


def freebsd_plan(host: Host, name: str, *, run: freebsd.RunFn = shell.run) -> tuple[Plan, list[str], list[str]]:
    """`start --plan --platform freebsd NAME` (and `stop --plan`): the plan of the jail's current
    config, on this host's facts on FreeBSD and on assumed ones elsewhere. Runs nothing that
    changes the host."""
    with with_jail(host, name, lock=False) as (ref, current):
        cfg = current.effective
    if ref.is_template or cfg.get("type") in ("template", "basejail"):
        raise UsageError(f"{ref.name}: a {cfg.get('type') or 'template'} never starts")
    site = state.site_of(host, ref)
    jid = J.lowest_free(J.used_jids(site.rundir))
    if not on_freebsd():
        return freebsd.assumed_plan(site, cfg, jid)
    return freebsd.host_plan(site, cfg, jid, state.existing_datasets(host, cfg), run=run)


def stop_plan(host: Host, name: str) -> list[str]:
    """What `stop NAME` would run, running nothing (`stop --plan`): the undo of the running jail's
    journal (what was applied, whatever the config says now), or, for a stopped jail, the undo of
    a start of its current config."""
    ref = resolve(host, name, prefix=True)
    applied = journal_stop_plan(host, ref.name)
    if applied is not None:
        return applied
    built, _ = plan(host, ref.name)
    runner = LinuxRuntime().runner(config.rundir(), built.facts)
    return [f"# stop plan of {ref.name}: not running; after a start of its current config, stop would run",
            *stop_plan_lines(built.steps, runner.describe)]


def journal_stop_plan(host: Host, name: str) -> list[str] | None:
    """The undo of jail NAME's journal as `stop --plan` prints it, on this host's runtime; None
    when it has no journal."""
    journal = _live_journal(host, name)
    if journal is None:
        return None
    runner = state.of(host).runner(config.rundir(), journal.facts)
    begun = [journal.records[i].step for i in journal.begun()]
    return [f"# stop plan of {name} (jid {journal.jid}, {journal.state}): undo what its start applied",
            *stop_plan_lines(begun, runner.describe)]


# -- stop -------------------------------------------------------------------------------------

def stop(host: Host, names: str | Sequence[str], *, force: bool = False, reporter: Reporter | None = None,
         wrap: Wrap | None = None) -> list[Outcome]:
    """Stop NAMES (or ALL: every running jail, highest priority number first). A single name
    given as a string raises its error instead of reporting it in an Outcome."""
    state.of(host)
    if isinstance(names, str):
        stop_one(host, resolve(host, names, prefix=True).name, force=force, reporter=reporter, wrap=wrap)
        return [Outcome(names)]
    return _batch(host, names, lambda ref: stop_one(host, ref.name, force=force, reporter=reporter, wrap=wrap),
                  reverse=True, quiet_skip=JailNotRunning)


def stop_one(host: Host, name: str, *, force: bool = False, reporter: Reporter | None = None,
             wrap: Wrap | None = None) -> None:
    """Undo the jail's journal; -f skips the user's hooks (exec_prestop, exec_stop, exec_poststop)."""
    with config.lock(host, name):
        journal = _live_journal(host, name)
        if journal is None:
            raise JailNotRunning(name)
        if reporter:
            reporter.begin(name, "stop")
        journal.set_state("stopping")
        errors = rollback(journal, state.of(host).runner(config.rundir(), journal.facts, wrap), reporter, force=force)
        settle(journal)  # a failed hook alone leaves no journal: the next start works
        if errors:
            raise StopIncomplete(name, errors)


def restart(host: Host, names: Sequence[str], *, reporter: Reporter | None = None) -> list[Outcome]:
    def one(ref: JailRef) -> None:
        try:
            stop_one(host, ref.name, reporter=reporter)
        except JailNotRunning:
            pass
        start_one(host, ref, reporter=reporter)

    state.of(host)
    return _batch(host, names, one)


# -- live mounts (fstab -a/-r on a running jail) -------------------------------------------

def _up_journal(host: Host, name: str) -> J.Journal | None:
    """The journal of jail NAME if it is up with its init alive (the caller holds the lock)."""
    journal = _live_journal(host, name)
    return journal if _up(host, journal) else None


def mount_live(host: Host, name: str, entry: FstabEntry) -> bool:
    """Mount one fstab entry into jail NAME if it runs (False if it does not). The mount is
    journaled with the jail's mounts, so stop unmounts it after the jail is gone."""
    with config.lock(host, name):
        journal = _up_journal(host, name)
        if journal is None:
            return False
        runtime = state.of(host)
        step = runtime.live_mount(journal, entry)
        if step is None:
            return True  # /proc and /dev/fd are the runtime's own
        runtime.runner(config.rundir(), journal.facts).perform(step.do[0], journal.ctx, step=step.name, undoing=False)
        names = [r.step.name for r in journal.records]
        at = max((i + 1 for i, n in enumerate(names) if n.startswith("mount")), default=0)
        journal.insert_done(at, step, 1)
        return True


def unmount_live(host: Host, name: str, entry: FstabEntry) -> bool:
    """Unmount one fstab entry from jail NAME if it runs (False if it does not)."""
    with config.lock(host, name):
        journal = _up_journal(host, name)
        if journal is None:
            return False
        runtime = state.of(host)
        action = runtime.live_unmount(journal, entry)
        if action is not None:
            runtime.runner(config.rundir(), journal.facts).perform(action, journal.ctx, step="mount.fstab", undoing=True)
        return True  # the start's own undo of this line finds nothing mounted: it is a no-op


# -- exec and console -------------------------------------------------------------------------

def _running_journal(host: Host, ref: JailRef, *, start_first: bool, reporter: Reporter | None) -> J.Journal:
    journal = _live_journal(host, ref.name)
    if not _up(host, journal):
        if not start_first:
            raise JailNotRunning(ref.name)
        start_one(host, ref, reporter=reporter)
        journal = _live_journal(host, ref.name)
    assert journal is not None
    return journal


def command_argv(command: Sequence[str]) -> list[str]:
    """iocage's rule: one argument holding spaces or shell syntax is a shell command line
    (`exec www1 "ls /; echo"`); several are an argv run as given; none is a shell."""
    if not command:
        return ["/bin/sh"]
    if len(command) == 1 and any(c in command[0] for c in " \t\n;|&<>()$`'\"*?[]~"):
        return ["/bin/sh", "-c", command[0]]
    return list(command)


def exec_in(host: Host, name: str, command: Sequence[str], *, jail_user: str | None = None,
            host_user: str | None = None, start_first: bool = False, capture: bool = False,
            stdin: bytes | None = None, reporter: Reporter | None = None) -> Captured:
    """Run COMMAND in the running jail NAME; its exit status is passed through."""
    runtime = state.of(host)
    ref = resolve(host, name, prefix=True)
    journal = _running_journal(host, ref, start_first=start_first, reporter=reporter)
    cfg = config.load(host, ref).effective
    return _run(runtime, runtime.exec_command(journal, cfg, command_argv(command), jail_user, host_user),
                capture, stdin)


NOT_RUNNING = "not running"


@dataclass(frozen=True)
class Ran(Generic[T]):
    """One jail of an ALL (`exec`, `pkg`, `update`, `upgrade`): what it gave, or why it did not run."""

    name: str
    result: T | None = None
    error: IocjailError | None = None
    skipped: str = ""


def every_jail(host: Host) -> list[str]:
    """What ALL names: every jail (templates never) in priority order."""
    return [ref.name for ref in _select(host, ["ALL"])]


def in_every_jail(host: Host, one: Callable[[JailRef], T], *, skip: Callable[[JailRef], str | None] | None = None,
                  begin: Callable[[str], None] | None = None,
                  done: Callable[[str, T], None] | None = None) -> list[Ran[T]]:
    """ONE in every jail (templates never), in priority order, one after the other, as iocage's
    ALL: a jail's error is its result and the others go on. `skip` says why a jail is left
    alone (not running, no pkg, nothing to update), before anything is told of it; `begin` is
    told before each jail runs, `done` after, so its output follows its name."""
    results: list[Ran[T]] = []
    for ref in _select(host, ["ALL"]):
        try:
            why = skip(ref) if skip is not None else None
            if why:
                results.append(Ran(ref.name, skipped=why))
                continue
            if begin is not None:
                begin(ref.name)
            result = one(ref)
        except IocjailError as err:
            results.append(Ran(ref.name, error=err))
            continue
        if done is not None:
            done(ref.name, result)
        results.append(Ran(ref.name, result))
    return results


def not_running(host: Host) -> Callable[[JailRef], str | None]:
    """A `skip` for in_every_jail: the jails that are not running."""
    return lambda ref: None if is_running(host, ref.name) else NOT_RUNNING


def console(host: Host, name: str, *, capture: bool = False, stdin: bytes | None = None,
            reporter: Reporter | None = None) -> Captured:
    """A root login in the jail (started first if it is not running), with `login_flags`."""
    runtime = state.of(host)
    ref = resolve(host, name, prefix=True)
    journal = _running_journal(host, ref, start_first=True, reporter=reporter)
    return _run(runtime, runtime.console_command(journal, config.load(host, ref).effective), capture, stdin)


def _run(runtime: Runtime, command: Command, capture: bool, stdin: bytes | None) -> Captured:
    if not capture:
        return Captured(runtime.interactive(command.argv, env=command.env))
    result = runtime.run(command.argv, env=command.env, input=stdin if stdin is not None else b"")
    return Captured(result.returncode, result.stdout, result.stderr)


# -- clean --runtime -----------------------------------------------------------------------------

def recover_all(host: Host, reporter: Reporter | None = None) -> list[Outcome]:
    """`clean --runtime`: undo every journal of the pool that no running jail stands behind (a
    crash, a failed stop), as the next start or stop of each jail would. Running jails and
    their journals are left alone; a journal that cannot be read is reported, never deleted."""
    directory = state.journal_dir(host)
    outcomes = []
    for name in sorted(p.stem for p in directory.glob("*.json")) if directory.is_dir() else []:
        try:
            with config.lock(host, name):
                journal = _live_journal(host, name)
                if journal is None or _up(host, journal):
                    continue
                if reporter:
                    reporter.begin(name, "stop")
                _recover(host, name, reporter)
            outcomes.append(Outcome(name))
        except IocjailError as err:
            outcomes.append(Outcome(name, err))
    return outcomes
