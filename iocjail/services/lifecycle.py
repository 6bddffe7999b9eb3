"""start, stop, restart, clean --runtime: the services over the lifecycle engine.

Each start takes the jail's lock, undoes a journal a crash left behind, reserves a JID, gathers
the host facts, builds the plan and hands it to the engine; once the jail is up, config.json
records `last_started` and what the start generated (FreeBSD: the vnet MACs). Each stop takes
the lock and undoes the jail's journal: what was applied, not what the config says now. Batches
(`ALL`, several names) isolate failures per jail.

What differs between FreeBSD (jail(8), jexec) and Linux (namespaces, nsenter) is the host's
runtime (lifecycle/runtime.py): facts and plan, runner, liveness and the argv that enters a jail.
exec and console are services/enter.py; the ALL and several-names machinery services/batch.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from iocjail.errors import IocjailError, JailNotRunning, JailRunning, UsageError
from iocjail.lifecycle import journal as J
from iocjail.lifecycle.engine import (PrintRunner, Reporter, StopIncomplete, apply, render_plan, rollback,
                                      settle, stop_plan_lines)
from iocjail.lifecycle.freebsd import runtime as freebsd
from iocjail.lifecycle.linux.runtime import LinuxRuntime
from iocjail.lifecycle.plan import Plan
from iocjail.lifecycle.runtime import Wrap
from iocjail.lifecycle.select import on_freebsd
from iocjail.model import config as model
from iocjail.model.fstab import Entry as FstabEntry
from iocjail.platform import shell
from iocjail.platform.clock import utc_stamp
from iocjail.site import config, state
from iocjail.services import jail_root
from iocjail.services.batch import Outcome, batch
from iocjail.site.host import Host
from iocjail.site.jail import with_jail
from iocjail.site.jails import JailRef, resolve


class NotStartable(UsageError):
    template = "{}: {}"



def _journal_path(host: Host, name: str) -> Path:
    return J.journal_path(config.rundir(), host.pool, name)


def live_journal(host: Host, name: str) -> J.Journal | None:
    path = _journal_path(host, name)
    if not path.exists():
        return None
    return J.Journal.load(path)


def is_up(host: Host, journal: J.Journal | None) -> bool:
    return journal is not None and journal.state == "up" and state.of(host).alive(journal)


def is_running(host: Host, name: str) -> bool:
    return is_up(host, live_journal(host, name))



# -- start ------------------------------------------------------------------------------------

def start(host: Host, names: str | Sequence[str], *, reporter: Reporter | None = None, wrap: Wrap | None = None,
          now: Callable[[], str] = utc_stamp) -> list[Outcome]:
    """Start NAMES (or ALL: every jail not running, templates never). A single name given as a
    string (not a list) raises its error instead of reporting it in an Outcome."""
    state.of(host)  # no runtime on this system: one error, before any jail
    if isinstance(names, str):
        start_one(host, resolve(host, names, prefix=True), reporter=reporter, wrap=wrap, now=now)
        return [Outcome(names)]
    return batch(host, names, lambda ref: start_one(host, ref, reporter=reporter, wrap=wrap, now=now),
                  quiet_skip=JailRunning)


def _startable(ref: JailRef, cfg: dict[str, str]) -> None:
    if ref.is_template or cfg.get("type") == "template":
        raise NotStartable(ref.name, "is a template: templates never start (clone a jail from it)")
    if cfg.get("type") == "basejail":
        raise NotStartable(ref.name, "is a legacy basejail (type=basejail), which iocage does not start either")


def _recover(host: Host, name: str, reporter: Reporter | None = None) -> None:
    """Undo a journal that no running jail stands behind (a crash, a failed stop)."""
    journal = live_journal(host, name)
    if journal is None:
        return
    if is_up(host, journal):
        raise JailRunning(name, journal.jid)
    errors = rollback(journal, state.of(host).runner(config.rundir(), journal.facts), reporter)
    settle(journal)  # kept only while something is left to release
    if errors:
        raise StopIncomplete(name, errors)


def start_one(host: Host, ref: JailRef, *, reporter: Reporter | None = None, wrap: Wrap | None = None,
              now: Callable[[], str] = utc_stamp) -> None:
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
    journal = live_journal(host, name)
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
    return batch(host, names, lambda ref: stop_one(host, ref.name, force=force, reporter=reporter, wrap=wrap),
                  reverse=True, quiet_skip=JailNotRunning)


def stop_one(host: Host, name: str, *, force: bool = False, reporter: Reporter | None = None,
             wrap: Wrap | None = None) -> None:
    """Undo the jail's journal; -f skips the user's hooks (exec_prestop, exec_stop, exec_poststop)."""
    with config.lock(host, name):
        journal = live_journal(host, name)
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
    return batch(host, names, one)


# -- live mounts (fstab -a/-r on a running jail) -------------------------------------------

def _up_journal(host: Host, name: str) -> J.Journal | None:
    """The journal of jail NAME if it is up with its init alive (the caller holds the lock)."""
    journal = live_journal(host, name)
    return journal if is_up(host, journal) else None


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
                journal = live_journal(host, name)
                if journal is None or is_up(host, journal):
                    continue
                if reporter:
                    reporter.begin(name, "stop")
                _recover(host, name, reporter)
            outcomes.append(Outcome(name))
        except IocjailError as err:
            outcomes.append(Outcome(name, err))
    return outcomes
