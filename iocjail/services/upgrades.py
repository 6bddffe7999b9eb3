"""`upgrade NAME -r NEWREL`: a jail to a new FreeBSD release, behind a snapshot.

Thin and thick jails: `freebsd-update -r NEW upgrade`, then `install` as many times as it asks
(lifecycle/updates/jail.py), with the jail's configuration for jails kept on the host. /etc files the
jail never changed are replaced, changed ones merged, conflicts given to $EDITOR.

Basejails: their base is a release, so the upgrade re-points their read-only nullfs lines at
releases/NEW (which must be fetched, with its sources for etcupdate), sets `release`, restarts the
jail on the new base and merges /etc inside it with etcupdate (iocage's way).

Either way a snapshot `ioc_upgrade_<userland>_<date>` comes first and any failure rolls the jail
back to it (stopping it first if the upgrade started it). Afterwards the jail's packages were
built for the old release: `reinstall_packages` is the book's `pkg upgrade -f`, offered by the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from iocjail.errors import IocjailError, UsageError
from iocjail.fetch.update import Command
from iocjail.lifecycle.commands import Executor, carry_out, check_available, default_executor
from iocjail.lifecycle.plan import Action
from iocjail.lifecycle.updates import jail as JU
from iocjail.platform import safe_paths
from iocjail.platform.files import atomic_write
from iocjail.services import batch, lifecycle, packages, plugin_update, plugins
from iocjail.services.enter import Captured
from iocjail.services.updates import (CannotUpdate, Outcome, Subject, dataset_mountpoint, jail_conf,
                                      prepare_work, read_userland, remove_work, rolled_back_on_failure, set_release,
                                      snapshot_first, subject, utc_now, work_paths)
from iocjail.site import config, releases, state
from iocjail.site.host import Host
from iocjail.site.jails import JailRef, resolve


class Runtime(Protocol):
    """Starting and stopping the jail a basejail upgrade needs running (injected by tests)."""

    def running(self, name: str) -> bool: ...

    def start(self, name: str) -> None: ...

    def stop(self, name: str) -> None: ...


@dataclass
class HostRuntime:
    host: Host

    def running(self, name: str) -> bool:
        return name in state.running(self.host)

    def start(self, name: str) -> None:
        lifecycle.start(self.host, name)

    def stop(self, name: str) -> None:
        lifecycle.stop(self.host, name)


@dataclass(frozen=True)
class UpgradePlan:
    subject: Subject
    new: str
    steps: tuple[Command | Action, ...]
    cleanup: tuple[Command | Action, ...]
    conf: str = ""  # the jail's freebsd-update.conf for jails (thin, thick)
    new_root: Path | None = None  # the new release's root (basejails)


def build(host: Host, name: str, new: str) -> UpgradePlan:
    """The upgrade of jail NAME to NEW, checked: refused (a sentence) before anything changes."""
    subj = subject(host, name)
    if subj.kind == "release":
        raise CannotUpdate(subj.name, f"a release is not upgraded in place: fetch {new} (iocjail fetch -r {new})")
    refusal = JU.upgrade_refusal(subj.userland, new)
    if refusal:
        raise CannotUpdate(subj.name, refusal)
    term, editor = os.environ.get("TERM", "dumb"), os.environ.get("EDITOR", "vi")
    if subj.kind == "basejail":
        return _basejail_plan(host, subj, new)
    assert subj.ref is not None
    conf_path, work = work_paths(subj.ref)
    target = JU.Target(str(subj.root), f"{work}/", str(conf_path), subj.userland, _binary(host, new))
    return UpgradePlan(subj, new, JU.jail_upgrade_plan(target, new, term, editor), (), jail_conf(subj))


def _binary(host: Host, new: str) -> str:
    """The new release's own freebsd-update (it knows that release) when it is fetched."""
    if new in releases.fetched(host):
        root = dataset_mountpoint(host, host.dataset("releases", new, "root"))
        if safe_paths.read_text(root, "usr/sbin/freebsd-update", 16) is not None:
            return str(root / "usr" / "sbin" / "freebsd-update")
    return JU.HOST_FREEBSD_UPDATE


def _basejail_plan(host: Host, subj: Subject, new: str) -> UpgradePlan:
    assert subj.ref is not None
    try:
        rel = releases.require_complete(host, new)
    except IocjailError as err:
        raise CannotUpdate(subj.name, f"a basejail is upgraded onto a fetched release: {err}") from None
    new_root = dataset_mountpoint(host, f"{rel.dataset}/root")
    if not safe_paths.exists(new_root, "usr/src/Makefile"):
        raise CannotUpdate(subj.name, f"release {new} has no sources (usr/src), which etcupdate merges /etc from: "
                                      "fetch its src.txz too")
    plan = JU.basejail_upgrade_plan(subj.name, str(subj.ref.path / "root"), str(new_root / "usr" / "src"),
                                    os.environ)
    return UpgradePlan(subj, new, plan.steps, plan.cleanup, new_root=new_root)


def plan_lines(host: Host, name: str, new: str) -> list[str]:
    """`upgrade --plan`: what would run, on FreeBSD; nothing runs, nothing is written."""
    up = build(host, name, new)
    subj = up.subject
    snap = JU.snapshot_name("upgrade", subj.userland, utc_now())
    lines = [f"# upgrade plan of {subj.name} ({subj.kind}) from {subj.userland} to {new} on FreeBSD",
             f"# first: zfs snapshot -r {subj.dataset if subj.kind == 'jail' else _jail_dataset(subj)}@{snap}"]
    if subj.kind == "basejail":
        assert subj.ref is not None
        lines += [f"# fstab: nullfs sources moved from releases/{subj.release}/root to releases/{new}/root",
                  f"# config.json: release={read_userland(up.new_root) if up.new_root else new}",
                  "# the jail is (re)started on its new base, and stopped again if it was not running"]
    else:
        assert subj.ref is not None
        conf, _ = work_paths(subj.ref)
        lines.append(f"# {conf}: the jail's /etc/freebsd-update.conf, for a jail:")
        lines += [f"#   {ln}" for ln in up.conf.splitlines() if ln.strip() and not ln.startswith("#")]
    lines += [JU.describe(s) for s in up.steps]
    lines += [f"cleanup: {JU.describe(s)}" for s in up.cleanup]
    lines.append("# on failure: zfs rollback of the jail's datasets to the snapshot")
    lines.append(f"# then: reinstall every package for {new} (pkg upgrade -f), offered")
    return lines


def _jail_dataset(subj: Subject) -> str:
    assert subj.ref is not None
    return subj.ref.dataset


class Reporter(plugins.Reporter, Protocol):
    """What `upgrade NAME` tells as it goes: a plugin's update steps, the upgrade begun."""

    def upgrading(self, name: str, new: str) -> None: ...


class Quiet(plugins.Quiet):
    def upgrading(self, name: str, new: str) -> None:
        pass


@dataclass(frozen=True)
class Upgraded:
    """What `upgrade NAME` did, and what comes next: a reinstall of the jail's packages, to ask
    about (`offer`) or to run now (`reinstall`)."""

    target: str
    outcome: Outcome | None = None  # None for a plugin jail: see `plugin`
    plugin: plugin_update.Updated | None = None  # a plugin jail, upgraded to its manifest's release, then updated
    offer: bool = False
    reinstall: bool = False


def upgrade(host: Host, name: str, new: str | None, *, reinstall: bool | None = None,
            reporter: Reporter | None = None, executor: Executor | None = None, runtime: Runtime | None = None,
            now: Callable[[], datetime] = utc_now) -> Upgraded:
    """`upgrade NAME -r NEW`. A plugin jail goes to its manifest's release, then its plugin is
    updated (iocage's plugin upgrade); any other jail to NEW, its packages' reinstall then run
    (`reinstall=True`), offered (None) or not (False)."""
    report = reporter or Quiet()
    if plugins.is_plugin(host, name):
        return Upgraded(name, plugin=_plugin(host, name, new, report, executor, runtime, now))
    if new is None:
        raise UsageError(f"{name}: upgrade to which release? (-r RELEASE)")
    report.upgrading(name, new)
    done = _upgrade(host, build(host, name, new), executor, runtime, now)
    return Upgraded(done.target, done, offer=reinstall is None, reinstall=bool(reinstall))


def _plugin(host: Host, name: str, release: str | None, report: Reporter, executor: Executor | None,
            runtime: Runtime | None, now: Callable[[], datetime]) -> plugin_update.Updated:
    """The jail moved to its manifest's release (refused off FreeBSD before anything changes),
    then updated. A `release` other than the manifest's is refused: the plugin decides."""
    ref = resolve(host, name, prefix=True)
    cfg = config.load(host, ref).effective
    manifest = plugin_update.plugin_source_of(host, ref, cfg).manifest
    if release is not None and release != manifest.release:
        raise UsageError(f"{ref.name} is a plugin jail: its manifest moves it to {manifest.release}, not {release}")
    if cfg.get("release", "").rsplit("-p", 1)[0] != manifest.release:
        _upgrade(host, build(host, ref.name, manifest.release), executor, runtime, now)
    return plugin_update.update(host, ref.name, reporter=report, now=now)


def _upgrade(host: Host, up: UpgradePlan, executor: Executor | None, runtime: Runtime | None,
             now: Callable[[], datetime]) -> Outcome:
    subj, new = up.subject, up.new
    assert subj.ref is not None
    runner = executor or default_executor(f"upgrade of {subj.name}", "freebsd-update" if subj.kind == "jail"
                                          else "etcupdate", "upgrade", rundir=config.rundir())
    check_available(runner)  # before the snapshot: on Linux nothing is changed at all
    if subj.kind == "basejail":
        return _upgrade_basejail(host, up, runner, runtime or HostRuntime(host), now)
    with config.lock(host, subj.name):
        snap = snapshot_first(host, subj.ref.dataset, "upgrade", subj.userland, now())
        with rolled_back_on_failure(host, subj.name, subj.ref.dataset, snap):
            prepare_work(subj, up.conf)
            carry_out(up.steps, up.cleanup, runner)
            userland = read_userland(subj.root) or new
            remove_work(subj.ref)
            changed = set_release(host, subj.ref, userland, locked=True)
    return Outcome(subj.name, subj.kind, snap, subj.userland, userland, changed)


@dataclass(frozen=True)
class UpgradedAll:
    results: list[batch.Ran[Outcome]]
    offer: tuple[str, ...] = ()  # jails upgraded whose packages' reinstall is left to the user
    reinstalled: tuple[tuple[str, int], ...] = ()  # (jail, exit status of its pkg upgrade -f)

    def reinstall_failed(self) -> int:
        """The first reinstall's non-zero exit status, 0 when none failed."""
        return next((code for _, code in self.reinstalled if code), 0)


def upgrade_all(host: Host, new: str, *, reinstall: bool | None = None, capture: bool = False,
                executor: Executor | None = None, runtime: Runtime | None = None,
                now: Callable[[], datetime] = utc_now, begin: Callable[[str], None] | None = None,
                done: Callable[[str, Outcome], None] | None = None,
                reinstalled: Callable[[str, Captured], None] | None = None) -> UpgradedAll:
    """`upgrade ALL -r NEW`: every jail (templates never) in priority order, each behind its own
    snapshot and rolled back on its own failure, the others going on. Skipped, with the reason:
    jails that cannot go to NEW (already there, newer, no FreeBSD userland, a basejail whose NEW
    is not fetched with its sources) and plugin jails (each goes to its manifest's release:
    upgrade it by name). Where freebsd-update cannot run, refused before any snapshot.
    Nothing is asked: `reinstall=True` reinstalls each upgraded jail's packages right after
    `done` heard of it, None leaves them to the user (`offer`)."""
    runner = executor or default_executor("upgrade of ALL", "freebsd-update", "upgrade", rundir=config.rundir())
    check_available(runner)

    plans: dict[str, UpgradePlan] = {}
    codes: list[tuple[str, int]] = []

    def skip(ref: JailRef) -> str | None:
        if plugins.is_plugin(host, ref.name):
            return "a plugin jail goes to its manifest's release: upgrade it by name"
        try:
            plans[ref.name] = build(host, ref.name, new)
        except CannotUpdate as err:
            return str(err)
        return None

    def upgraded(name: str, outcome: Outcome) -> None:
        if done is not None:
            done(name, outcome)
        if reinstall:
            result = reinstall_packages(host, name, capture=capture, executor=executor)
            if reinstalled is not None:
                reinstalled(name, result)
            codes.append((name, result.code))

    results = batch.in_every_jail(host, lambda ref: _upgrade(host, plans[ref.name], runner, runtime, now),
                                      skip=skip, begin=begin, done=upgraded)
    offer = tuple(r.name for r in results if r.result is not None) if reinstall is None else ()
    return UpgradedAll(results, offer, tuple(codes))


def _upgrade_basejail(host: Host, up: UpgradePlan, runner: Executor, runtime: Runtime,
                      now: Callable[[], datetime]) -> Outcome:
    subj = up.subject
    assert subj.ref is not None and up.new_root is not None
    ref = subj.ref
    userland = read_userland(up.new_root) or up.new
    was_running = runtime.running(ref.name)
    started = False

    def stop_if_started() -> None:
        if started and not was_running:
            runtime.stop(ref.name)

    def stop_started() -> None:  # on failure: whatever runs on the new base goes down first
        if started or (was_running and runtime.running(ref.name)):
            runtime.stop(ref.name)

    def restart_if_it_ran() -> None:  # ... and a jail that ran before runs again, on the old base
        if was_running:
            runtime.start(ref.name)

    with config.lock(host, ref.name):
        snap = snapshot_first(host, ref.dataset, "upgrade", subj.userland, now())
        with rolled_back_on_failure(host, ref.name, ref.dataset, snap, before=stop_started,
                                    after=restart_if_it_ran):
            fstab = ref.path / "fstab"
            atomic_write(fstab, JU.repoint_fstab(fstab.read_text(), str(host.iocroot), subj.release or "", up.new))
            set_release(host, ref, userland, locked=True)
            if was_running:
                runtime.stop(ref.name)  # its base is mounted from the old release: restart on the new one
            runtime.start(ref.name)
            started = True
            carry_out(up.steps, up.cleanup, runner)
            stop_if_started()
    return Outcome(ref.name, subj.kind, snap, subj.userland, userland, (ref.name,), up.new)


def reinstall_packages(host: Host, name: str, *, capture: bool = False,
                       executor: Executor | None = None) -> Captured:
    """The book's `pkg upgrade -f` after an upgrade: every package again, built for the new release."""
    return packages.run_pkg(host, name, ("upgrade", "-f", "-y"), capture=capture, executor=executor)
