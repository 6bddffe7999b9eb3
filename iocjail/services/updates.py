"""`update NAME|REL`: FreeBSD patches for a jail or a release, behind a snapshot.

Every update starts with a recursive snapshot `ioc_update_<userland>_<date>` of what it changes
(the jail's datasets, or the release's); if any command of the plan fails, the datasets are
rolled back to it and the error says so. On success `release` follows the new userland: the
jail's own, or, for a release, that of every basejail mounting it.

* thin and thick jails: freebsd-update -b on the jail's root (lifecycle/updates/jail.py), with a
  jail-specific configuration and work directory kept on the host next to config.json;
* basejails: their base is the release they mount, so the release is what gets updated;
* releases: the plan `fetch` runs after extracting one (fetch/update.py).

The commands run through an executor (lifecycle/commands.py): this host's on FreeBSD, anywhere
else one that refuses, before the snapshot, with a message naming FreeBSD. Tests inject their
own to make a step fail; `--plan` prints the plan and runs nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from iocjail.errors import IocjailError, UsageError
from iocjail.fetch.names import is_freebsd_release
from iocjail.fetch.update import Command, freebsd_update_plan, userland_version
from iocjail.lifecycle.commands import Executor, carry_out, check_available, default_executor, on_freebsd
from iocjail.lifecycle.updates import jail as JU
from iocjail.model import config as model
from iocjail.model.values import is_true
from iocjail.platform import safe_paths
from iocjail.services import batch, plugin_update, plugins
from iocjail.site import config, releases
from iocjail.site.host import Host
from iocjail.site.jails import JailRef, all_jails, resolve

WORK = "iocjail-update"  # in the jail's dataset, beside config.json: conf and work directory


class CannotUpdate(UsageError):
    template = "{}: {}"


class UpdateFailed(IocjailError):
    template = "{}: {}; rolled back to {}: nothing changed"


class RollbackFailed(IocjailError):
    template = "{}: {}; the rollback to {} failed too ({}): roll back by hand (iocjail rollback -n NAME)"


log = logging.getLogger("iocjail.services.updates")


@dataclass(frozen=True)
class Outcome:
    target: str  # the jail or release named on the command line
    kind: str  # "jail", "basejail" (its release was updated) or "release"
    snapshot: str  # full name of the snapshot taken first
    old: str  # userland before
    new: str  # userland after
    release_set: tuple[str, ...] = field(default=())  # jails whose `release` now says `new`
    release: str | None = None  # the release updated (kind release or basejail)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# -- what is updated ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Subject:
    """A resolved target: a jail (thin/thick) or a release (itself, or a basejail's)."""

    kind: str  # "jail", "basejail", "release"
    name: str  # as given (resolved)
    dataset: str  # what is snapshotted and rolled back (recursively)
    root: Path
    userland: str
    release: str | None = None  # the release updated (release, basejail)
    ref: JailRef | None = None


def read_userland(root: Path) -> str | None:
    script = safe_paths.read_text(root, "bin/freebsd-version", 65536) if root.is_dir() else None
    return userland_version(script) if script else None


def dataset_mountpoint(host: Host, dataset: str) -> Path:
    found = host.zfs.list_datasets(dataset, ["mountpoint"], depth=0)
    mountpoint = found[0].get("mountpoint", "") if found else ""
    return Path(mountpoint) if mountpoint and mountpoint.startswith("/") else Path("/nonexistent")


def subject(host: Host, target: str) -> Subject:
    """The jail named TARGET (an exact name first), else the fetched release TARGET, else a jail
    by unique prefix; refused with the reason when it cannot be updated."""
    exact = [r for r in all_jails(host) if r.name == target]
    if not exact and target in {r.name for r in releases.all_releases(host)}:
        return _release_subject(host, target, target, "release")
    ref = exact[0] if exact else resolve(host, target, prefix=True)
    if ref.is_template:
        raise CannotUpdate(ref.name, "is a template: make it a jail (iocjail set template=no), update it, "
                                     "and make it a template again")
    cfg = config.load(host, ref).effective
    if is_true(cfg.get("basejail")):
        fstab = (ref.path / "fstab").read_text() if (ref.path / "fstab").exists() else ""
        source = JU.basejail_source(fstab, str(host.iocroot))
        if source is None:
            raise CannotUpdate(ref.name, "is a basejail whose fstab mounts no release: nothing to update")
        kind, base = source
        if kind == "templates":
            raise CannotUpdate(ref.name, f"is a basejail of template {base}: update {base} instead")
        return _release_subject(host, base, ref.name, "basejail", ref)
    root = ref.path / "root"
    userland = read_userland(root)
    if userland is None or not is_freebsd_release(userland):
        raise CannotUpdate(ref.name, f"has no FreeBSD userland to update (release {cfg.get('release', '?')}, "
                                     "no /bin/freebsd-version naming one)")
    return Subject("jail", ref.name, ref.dataset, root, userland, None, ref)


def _release_subject(host: Host, release: str, name: str, kind: str, ref: JailRef | None = None) -> Subject:
    rel = releases.require_complete(host, release)
    root = dataset_mountpoint(host, f"{rel.dataset}/root")
    userland = read_userland(root)
    if userland is None or not is_freebsd_release(userland):
        raise CannotUpdate(name, f"release {release} has no FreeBSD userland (no /bin/freebsd-version naming one)")
    return Subject(kind, name, rel.dataset, root, userland, release, ref)


def jail_conf(subj: Subject) -> str:
    text = safe_paths.read_text(subj.root, "etc/freebsd-update.conf")
    if text is None:
        raise CannotUpdate(subj.name, "has no /etc/freebsd-update.conf (its ServerName and KeyPrint are needed)")
    try:
        return JU.jail_update_conf(text, has_src=safe_paths.exists(subj.root, "usr/src/Makefile"))
    except JU.BadUpdateConf as err:
        raise CannotUpdate(subj.name, f"its /etc/freebsd-update.conf {err}") from None


def work_paths(ref: JailRef) -> tuple[Path, Path]:
    """(configuration file, work directory) of freebsd-update for a jail, on the host."""
    return ref.path / WORK / "freebsd-update.conf", ref.path / WORK / "db"


def update_plan(host: Host, subj: Subject, term: str) -> tuple[tuple[Command, ...], tuple[Command, ...]]:
    """(steps, cleanup) of `update` for a resolved subject."""
    if subj.kind == "jail":
        assert subj.ref is not None
        conf, work = work_paths(subj.ref)
        target = JU.Target(str(subj.root), f"{work}/", str(conf), subj.userland)
        return JU.jail_update_plan(target, term), ()
    if not (subj.root / "etc" / "freebsd-update.conf").is_file():
        raise CannotUpdate(subj.name, f"release {subj.release} has no etc/freebsd-update.conf")
    plan = freebsd_update_plan(str(subj.root), subj.userland, term)
    return plan.steps, plan.cleanup


def plan_lines(host: Host, target: str) -> list[str]:
    """`update --plan`: what would run, on FreeBSD; nothing runs, nothing is written."""
    subj = subject(host, target)
    steps, cleanup = update_plan(host, subj, os.environ.get("TERM", "dumb"))
    what = f"release {subj.release}" + (f" (the base of basejail {subj.name})" if subj.kind == "basejail" else "")
    lines = [f"# update plan of {subj.name if subj.kind == 'jail' else what} on FreeBSD, "
             f"running {subj.userland}",
             f"# first: zfs snapshot -r {subj.dataset}@{JU.snapshot_name('update', subj.userland, utc_now())}"]
    if subj.kind == "jail":
        assert subj.ref is not None
        conf, _ = work_paths(subj.ref)
        lines.append(f"# {conf}: the jail's /etc/freebsd-update.conf, for a jail:")
        lines += [f"#   {ln}" for ln in jail_conf(subj).splitlines()[1:] if ln.strip() and not ln.startswith("#")]
    lines += [c.describe() for c in steps]
    lines += [f"cleanup: {c.describe()}" for c in cleanup]
    lines.append("# on failure: zfs rollback of each dataset to the snapshot")
    return lines


# -- running ------------------------------------------------------------------------------------

class Reporter(plugins.Reporter, Protocol):
    """What `update NAME` tells as it goes: a plugin's steps, the plugin updated, freebsd-update begun."""

    def plugin_updated(self, done: plugin_update.Updated) -> None: ...

    def updating(self, target: str) -> None: ...


class Quiet(plugins.Quiet):
    def plugin_updated(self, done: plugin_update.Updated) -> None:
        pass

    def updating(self, target: str) -> None:
        pass


def update(host: Host, target: str, *, reporter: Reporter | None = None, executor: Executor | None = None,
           now: Callable[[], datetime] = utc_now) -> Outcome | None:
    """`update TARGET`. A plugin jail gets its plugin updated first (iocage's order), then
    freebsd-update, which off FreeBSD is skipped for it (None) and refused for anything else."""
    report = reporter or Quiet()
    if plugins.is_plugin(host, target):
        report.plugin_updated(plugin_update.update(host, target, reporter=report))
        if executor is None and not on_freebsd():
            return None
    report.updating(target)
    return _update(host, subject(host, target), executor, now)


def update_all(host: Host, *, executor: Executor | None = None, now: Callable[[], datetime] = utc_now,
               begin: Callable[[str], None] | None = None,
               done: Callable[[str, Outcome], None] | None = None) -> list[batch.Ran[Outcome]]:
    """`update ALL`: every jail (templates never) in priority order, each behind its own snapshot
    and rolled back on its own failure, the others going on. A release is updated once, with the
    first of its basejails; the rest are skipped as updated (or not) with it, as are jails with
    nothing to update (no FreeBSD userland, a template's basejail). Where freebsd-update cannot
    run, refused before any snapshot."""
    runner = executor or default_executor("update of ALL", "freebsd-update", "update", rundir=config.rundir())
    check_available(runner)
    subjects: dict[str, Subject] = {}
    first_of: dict[str, tuple[str, bool]] = {}  # release -> (its first basejail, whether it worked)

    def skip(ref: JailRef) -> str | None:
        try:
            subj = subjects[ref.name] = subject(host, ref.name)
        except CannotUpdate as err:
            return str(err)
        if subj.release in first_of:
            first, worked = first_of[subj.release]
            return f"its base, release {subj.release}, {'was updated' if worked else 'failed to update'} with {first}"
        return None

    def one(ref: JailRef) -> Outcome:
        subj, worked = subjects[ref.name], False
        try:
            outcome = _update(host, subj, runner, now)
            worked = True
            return outcome
        finally:
            if subj.release is not None:
                first_of[subj.release] = (ref.name, worked)

    return batch.in_every_jail(host, one, skip=skip, begin=begin, done=done)


def _update(host: Host, subj: Subject, executor: Executor | None, now: Callable[[], datetime]) -> Outcome:
    term = os.environ.get("TERM", "dumb")
    conf = jail_conf(subj) if subj.kind == "jail" else ""
    steps, cleanup = update_plan(host, subj, term)
    runner = executor or default_executor(f"update of {subj.name}", "freebsd-update", "update",
                                          rundir=config.rundir())
    check_available(runner)  # before the snapshot: on Linux nothing is changed at all
    lock = config.lock(host, subj.name) if subj.kind == "jail" else releases.lock(host, subj.release or "")
    with lock:
        snap = snapshot_first(host, subj.dataset, "update", subj.userland, now())
        with rolled_back_on_failure(host, subj.name, subj.dataset, snap):
            if subj.kind == "jail":
                prepare_work(subj, conf)
            carry_out(steps, cleanup, runner)
            new = read_userland(subj.root) or subj.userland
            if subj.kind == "jail":
                assert subj.ref is not None
                remove_work(subj.ref)
                changed = set_release(host, subj.ref, new, locked=True)
            else:
                changed = ()
    if subj.kind != "jail":
        changed = set_basejail_releases(host, subj.release or "", new)
    return Outcome(subj.name, subj.kind, snap, subj.userland, new, changed, subj.release)


def prepare_work(subj: Subject, conf: str) -> None:
    """freebsd-update's conf and work directory beside config.json. That directory's contents
    can come from an imported archive: a planted symlink there must never redirect a write
    (`iocjail-update -> /etc` would overwrite the host's freebsd-update.conf), so whatever is
    there is removed without following links, and the new tree made with no-follow opens."""
    assert subj.ref is not None
    remove_work(subj.ref)
    conf_path, work = work_paths(subj.ref)
    safe_paths.mkdir(subj.ref.path, WORK, mode=0o700)
    safe_paths.mkdir(subj.ref.path, str(work.relative_to(subj.ref.path)), mode=0o700)
    safe_paths.write_file(subj.ref.path, str(conf_path.relative_to(subj.ref.path)), conf.encode(), mode=0o600)


def remove_work(ref: JailRef) -> None:
    """Remove the work directory (never through a symlink: a link itself is unlinked)."""
    path = ref.path / WORK
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)  # rmtree does not follow symlinks inside the tree


def snapshot_first(host: Host, dataset: str, kind: str, release: str, when: datetime) -> str:
    snap = f"{dataset}@{JU.snapshot_name(kind, release, when)}"
    host.zfs.snapshot(snap, recursive=True)
    return snap


@contextmanager
def rolled_back_on_failure(host: Host, name: str, dataset: str, snap: str,
                           before: Callable[[], None] | None = None,
                           after: Callable[[], None] | None = None) -> Iterator[None]:
    """On a failure in the block (an interrupt too): `before()` (e.g. stop the jail the block
    started), every filesystem of `dataset` rolled back to `snap`, `after()` (e.g. start again
    a jail that ran before), and UpdateFailed raised in the error's place (RollbackFailed if the
    rollback failed as well)."""
    try:
        yield
    except (IocjailError, OSError, KeyboardInterrupt) as err:
        try:
            if before is not None:
                before()
            rollback(host, dataset, snap)
            if after is not None:
                after()
        except IocjailError as again:
            raise RollbackFailed(name, _reason(err), snap, again) from err
        raise UpdateFailed(name, _reason(err), snap) from err


def _reason(err: BaseException) -> str:
    return "interrupted" if isinstance(err, KeyboardInterrupt) else str(err)


def rollback(host: Host, dataset: str, snap: str) -> None:
    """`zfs rollback` of `dataset` and its filesystems to the snapshot just taken (no newer
    snapshot exists: the lock is held), deepest first."""
    name = snap.partition("@")[2]
    found = host.zfs.list_datasets(dataset, recursive=True, types=("filesystem",))
    for fs in sorted((d.name for d in found), key=lambda n: n.count("/"), reverse=True):
        host.zfs.rollback(f"{fs}@{name}")


def set_release(host: Host, ref: JailRef, new: str, *, locked: bool = False) -> tuple[str, ...]:
    """`release` of the jail set to NEW (the caller may already hold its lock)."""
    def write() -> tuple[str, ...]:
        current = config.load(host, ref)
        if current.effective.get("release") == new:
            return ()
        config.write(host, ref, model.thin(current.stored, {"release": new}))
        return (ref.name,)

    if locked:
        return write()
    with config.lock(host, ref.name):
        return write()


def basejails_of(host: Host, release: str) -> list[JailRef]:
    """The basejails whose fstab mounts their base from releases/RELEASE."""
    defaults = config.load_defaults(host)
    out = []
    for ref in all_jails(host):
        try:
            cfg = config.load(host, ref, defaults).effective
        except IocjailError as err:  # a corrupt config is not this command's to judge, but say so
            log.warning("%s: skipped (its release is not updated): %s", ref.name, err)
            continue
        fstab = ref.path / "fstab"
        if is_true(cfg.get("basejail")) and fstab.exists():
            if JU.basejail_source(fstab.read_text(), str(host.iocroot)) == ("releases", release):
                out.append(ref)
    return out


def set_basejail_releases(host: Host, release: str, new: str) -> tuple[str, ...]:
    changed: list[str] = []
    for ref in basejails_of(host, release):
        changed += set_release(host, ref, new)
    return tuple(changed)
