"""`create`: jails from a fetched release (thin clone, thick copy, basejail), from a template, or
empty. All-or-nothing for the whole command: names and properties are checked before anything
is made, and a failure at any later step undoes every dataset and snapshot of every jail of it.

ZFS steps per jail (D = POOL/iocage/jails/NAME):

  thin            snapshot releases/REL/root@NAME; clone -p …@NAME D/root
  thick (-T, -b)  snapshot releases/REL/root@NAME; create D; send …@NAME | receive -F D/root;
                  destroy D/root@NAME and releases/REL/root@NAME
  template (-t)   snapshot -r templates/T@NAME; clone -p templates/T/root@NAME D/root
                  (thick: snapshot templates/T/root@NAME and copy it as above)
  empty (-e)      create -p D/root
  template=yes    also: rename D -> templates/NAME; readonly=on

Then config.json, an empty fstab (basejails: the nullfs lines), pkglist.json (-p), and inside
the root (not for -e): /etc/hosts, and /etc/rc.conf when the source has none.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid as uuidlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from iocjail.errors import DatasetExists, IocjailError, JailNotFound, UsageError
from iocjail.fetch.names import validate_release
from iocjail.fetch.update import userland_version
from iocjail.model import config as model
from iocjail.model import properties
from iocjail.model import provision as P
from iocjail.model.values import is_true, validate_jail_name
from iocjail.platform import safe_paths
from iocjail.platform.clock import utc_stamp
from iocjail.platform.zfs import Zfs
from iocjail.site import config, releases
from iocjail.services import packages, provisioning
from iocjail.site.inventory import Inventory, inventory, trust_pool_override
from iocjail.site.host import Host
from iocjail.site.jails import JailRef
from iocjail.services.props import parse_pairs
from iocjail.services.provisioning import Undo, destroy_quietly, rename_back

PKGLIST_FILE = "pkglist.json"
log = logging.getLogger("iocjail.services.create")


@dataclass(frozen=True)
class CreateRequest:
    release: str | None = None
    template: str | None = None
    name: str | None = None
    uuid: str | None = None
    short: bool = False
    count: int = 1
    thick: bool = False
    empty: bool = False
    basejail: bool = False
    clone_basejail: bool = False
    pkglist: tuple[str, ...] | None = None
    props: tuple[str, ...] = ()


@dataclass(frozen=True)
class Created:
    name: str
    dataset: str
    notes: tuple[str, ...] = field(default=())
    failed_packages: tuple[str, ...] = field(default=())  # of -p, when installing them failed


@dataclass(frozen=True)
class _Source:
    """Where the new root comes from: a release's root or a template's."""

    dataset: str  # releases/REL/root or templates/T/root
    kind: str  # "releases" or "templates"
    name: str  # REL or T
    base_config: Callable[[str], dict[str, str]]
    release: str  # for basejail_dirs


def check_flags(req: CreateRequest) -> None:
    sources = [flag for flag, on in (("-r", req.release), ("-t", req.template), ("-e", req.empty)) if on]
    if not sources:
        raise UsageError("give -r RELEASE, -t TEMPLATE or -e (empty jail)")
    if len(sources) > 1:
        raise UsageError(f"{' and '.join(sources)} cannot be combined: a jail has one source")
    if req.empty and (req.thick or req.basejail or req.clone_basejail or req.pkglist is not None):
        raise UsageError("-e makes an empty jail: -T, -b, -B and -p do not apply")
    if req.basejail and req.clone_basejail:
        raise UsageError("-b (copied basejail) and -B (cloned basejail) cannot be combined")
    if req.clone_basejail and req.thick:
        raise UsageError("-B makes a cloned basejail: it cannot be thick (-T); use -b for a copied one")


def uuid4s() -> Iterator[str]:
    while True:
        yield str(uuidlib.uuid4())


def create(host: Host, req: CreateRequest, *, now: Callable[[], str] = utc_stamp,
           fresh_uuid: Iterator[str] | None = None, install_report: packages.Report | None = None) -> list[Created]:
    """Make the jails (all or nothing), then install -p's packages in each: a failed install
    leaves the jail made and names the packages that failed in its notes."""
    made = _create(host, req, now=now, fresh_uuid=fresh_uuid)
    if req.pkglist is None:
        return made
    return [_install(host, c, req.pkglist, install_report) for c in made]


def _install(host: Host, created: Created, pkgs: Sequence[str], report: packages.Report | None) -> Created:
    try:
        failed = packages.install(host, created.name, pkgs, retries=packages.DEFAULT_RETRIES, report=report)
    except IocjailError as err:
        return replace(created, notes=(*created.notes, f"packages not installed ({', '.join(pkgs)}): {err}"),
                       failed_packages=tuple(pkgs))
    if failed:
        note = f"{len(failed)} of {len(pkgs)} packages failed to install: {', '.join(failed)}"
    else:
        note = f"{len(pkgs)} packages installed: {', '.join(pkgs)}"
    return replace(created, notes=(*created.notes, note), failed_packages=tuple(failed))


def _create(host: Host, req: CreateRequest, *, now: Callable[[], str],
            fresh_uuid: Iterator[str] | None) -> list[Created]:
    check_flags(req)
    pairs = parse_pairs(req.props)
    names = P.new_names(req.name, req.count, req.uuid, req.short, fresh_uuid or uuid4s())
    for name in names:
        validate_jail_name(name)  # before a lock file is named after it
    if req.release:
        validate_release(req.release)
    if req.template:
        validate_jail_name(req.template)
    trust_pool_override(host)
    with ExitStack() as locks:
        for key in sorted({P.collision_key(n) for n in names}):
            locks.enter_context(config.lock(host, key))
        if req.release:
            for rel in sorted({req.release, req.release.upper()}):
                locks.enter_context(releases.lock(host, rel))
        if req.template:
            locks.enter_context(config.lock(host, req.template))
        thin = bool(req.release) and not (req.thick or req.basejail)
        early = _EarlySnapshot(host.zfs, f"{host.dataset('releases', req.release or '', 'root')}@{names[0]}") \
            if thin else None
        try:
            inv = inventory(host)
            P.check_new_names(names, inv.all_names())
            source = None if req.empty else _source(host, inv, req)
            base = source.base_config if source else _empty_config
            defaults = provisioning.defaults(host)
            changes = properties.validate_many(pairs, {**defaults, **base(names[0])}, imply=True)
            if req.pkglist is not None and is_true(changes.get("template", "0")):
                raise UsageError("-p cannot be combined with template=yes (templates never start): create "
                                 "the jail with -p, then make it a template with iocjail set template=yes NAME")
            if early and source and early.snapshot != f"{source.dataset}@{names[0]}":
                early.discard()  # the release's name was upper-cased: snapshot it in turn
                early = None
        except BaseException:
            if early:
                early.discard()
            raise
        as_template = is_true(changes.pop("template", "0"))
        job = _Job(host, inv, req, source, changes, as_template, defaults, now, early)
        with provisioning.transaction() as undo:
            if early:
                early.adopt(undo)
            return [_make(job, undo, name) for name in names]


class _EarlySnapshot:
    """The first thin jail's release snapshot, taken while the checks' one query runs: two
    independent zfs round trips at once instead of in turn (what bench/create.py measures).
    If a check fails it is destroyed again, so refused input still leaves nothing behind."""

    def __init__(self, zfs: Zfs, snapshot: str) -> None:
        self.zfs, self.snapshot = zfs, snapshot
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._take, name="early-snapshot", daemon=True)
        self._thread.start()

    def _take(self) -> None:
        try:
            self.zfs.snapshot(self.snapshot)
        except BaseException as err:  # handed to the main thread by adopt()
            self.error = err

    def adopt(self, undo: Undo) -> None:
        """Journal it as the transaction's first step; its own failure fails the create."""
        self._thread.join()
        if not isinstance(self.error, DatasetExists):  # "exists": not ours, never destroyed
            undo.add(f"snapshot {self.snapshot}", destroy_quietly(self.zfs, self.snapshot))
        if self.error is not None:
            raise self.error

    def discard(self) -> None:
        self._thread.join()
        if isinstance(self.error, DatasetExists):
            return
        try:
            destroy_quietly(self.zfs, self.snapshot)()
        except IocjailError as err:  # never hide the refusal the user must see
            log.warning("could not remove %s: %s", self.snapshot, err)


def _empty_config(name: str) -> dict[str, str]:
    return P.new_config(name, release=P.EMPTY_RELEASE, cloned_release=P.EMPTY_RELEASE)


def _source(host: Host, inv: Inventory, req: CreateRequest) -> _Source:
    thick = req.thick or req.basejail
    basejail = req.basejail or req.clone_basejail
    if req.template:
        return _template_source(host, inv, req.template, thick, basejail)
    assert req.release
    rel = inv.release(req.release)
    root = inv.mountpoint_of(f"{rel.dataset}/root")
    script = safe_paths.read_text(root, "bin/freebsd-version", 65536) if root.is_dir() else None
    userland = (userland_version(script) if script else None) or rel.name

    def base(name: str) -> dict[str, str]:
        return P.new_config(name, release=userland, cloned_release=None if thick else rel.name, basejail=basejail)

    return _Source(f"{rel.dataset}/root", "releases", rel.name, base, rel.name)


def _template_source(host: Host, inv: Inventory, template: str, thick: bool, basejail: bool) -> _Source:
    dataset = host.dataset("templates", template)
    if not inv.exists(dataset):
        if inv.exists(host.dataset("jails", template)):
            raise UsageError(f"{template!r} is a jail, not a template: make it one with "
                             f"iocjail set template=yes {template}, or copy it with iocjail clone")
        raise JailNotFound(template)
    ref = JailRef(template, "templates", dataset, inv.mountpoint_of(dataset))
    stored = config.load(host, ref).stored

    def base(name: str) -> dict[str, str]:
        return P.from_template(stored, template, name, thick=thick, basejail=basejail)

    return _Source(f"{dataset}/root", "templates", template, base, stored.get("release", ""))


@dataclass(frozen=True)
class _Job:
    """What every jail of one command shares."""

    host: Host
    inv: Inventory
    req: CreateRequest
    source: _Source | None
    changes: dict[str, str]
    as_template: bool
    defaults: dict[str, str]
    now: Callable[[], str]
    early: _EarlySnapshot | None = None


def _make(job: _Job, undo: Undo, name: str) -> Created:
    host, req, source, changes = job.host, job.req, job.source, job.changes
    zfs = host.zfs
    dataset = host.dataset("jails", name)
    if source is None:
        undo.run(f"create {dataset}", lambda: zfs.create(f"{dataset}/root", parents=True),
                 destroy_quietly(zfs, dataset, recursive=True))
    elif req.thick or req.basejail:
        _copy(zfs, undo, source, name, dataset)
    else:
        _clone(zfs, undo, source, name, dataset, job.early)
    path = job.inv.mountpoint_of(dataset)
    provisioning.require_mounted(path, dataset)
    zfs_part = {k: v for k, v in changes.items() if properties.lookup(k).zfs}
    cfg = {**(source.base_config(name) if source else _empty_config(name)),
           **{k: v for k, v in changes.items() if k not in zfs_part}}
    if job.as_template:
        cfg.update(type="template", template="1")
    if zfs_part:
        zfs.set(dataset, zfs_part)
    notes = _write_files(job, name, path, dict(sorted(cfg.items())))
    if job.as_template:
        target = host.dataset("templates", name)
        _to_template(host, undo, dataset, target)
        return Created(name, target, (*notes, "created as a template"))
    return Created(name, dataset, tuple(notes))


def _clone(zfs: Zfs, undo: Undo, source: _Source, name: str, dataset: str, early: _EarlySnapshot | None) -> None:
    if source.kind == "templates":
        parent = source.dataset.rsplit("/", 1)[0]
        snap = f"{parent}@{name}"
        undo.run(f"snapshot {snap}", lambda: zfs.snapshot(snap, recursive=True),
                 destroy_quietly(zfs, snap, recursive=True))
    elif early is None or early.snapshot != f"{source.dataset}@{name}":
        snap = f"{source.dataset}@{name}"
        undo.run(f"snapshot {snap}", lambda: zfs.snapshot(snap), destroy_quietly(zfs, snap))
    undo.run(f"clone {dataset}/root", lambda: zfs.clone(f"{source.dataset}@{name}", f"{dataset}/root", parents=True),
             destroy_quietly(zfs, dataset, recursive=True))


def _copy(zfs: Zfs, undo: Undo, source: _Source, name: str, dataset: str) -> None:
    """A full copy of the source root (send | receive): no dependency on the release left."""
    snap = f"{source.dataset}@{name}"
    undo.run(f"snapshot {snap}", lambda: zfs.snapshot(snap), destroy_quietly(zfs, snap))
    undo.run(f"create {dataset}", lambda: zfs.create(dataset), destroy_quietly(zfs, dataset, recursive=True))
    with zfs.send(snap) as stream:
        zfs.receive(f"{dataset}/root", stream, force=True)
    zfs.destroy(f"{dataset}/root@{name}")
    zfs.destroy(snap)


def _to_template(host: Host, undo: Undo, dataset: str, target: str) -> None:
    zfs = host.zfs
    undo.run(f"rename {dataset}", lambda: zfs.rename(dataset, target), rename_back(zfs, target, dataset))
    undo.run(f"readonly {target}", lambda: zfs.set(target, {"readonly": "on"}),
             lambda: zfs.set(target, {"readonly": "off"}))


def _write_files(job: _Job, name: str, path: Path, cfg: dict[str, str]) -> list[str]:
    inv, req, source = job.inv, job.req, job.source
    notes: list[str] = []
    fstab = ""
    if source is not None:
        root = path / "root"
        provisioning.require_mounted(root, f"{inv.host.dataset('jails', name)}/root")
        if req.basejail or req.clone_basejail:
            fstab = _make_basejail(inv, source, name, root, job.now())
        hosts = safe_paths.read_text(root, "etc/hosts")
        ip4 = {**job.defaults, **cfg}.get("ip4_addr", "none")
        safe_paths.write_text(root, "etc/hosts", P.hosts_file(hosts, name, ip4), sync=False)
        provisioning.write_rc_conf(root, inv.iocroot)
    # No fsync for a jail being made: ZFS commits each rename after the data it names (one
    # transaction group at a time), and a crash before the commit loses the whole create anyway.
    safe_paths.write_text(path, "config.json", model.dump_config_json(cfg), sync=False)
    safe_paths.write_text(path, "fstab", fstab, sync=False)
    if req.pkglist is not None:
        safe_paths.write_text(path, PKGLIST_FILE, _pkglist_json(req.pkglist), sync=False)
    return notes


def _make_basejail(inv: Inventory, source: _Source, name: str, root: Path, stamp: str) -> str:
    src_root = f"{inv.iocroot}/{source.kind}/{source.name}/root"
    # Only what the source has: usr/lib32 is missing on arm64, /boot and /rescue in a Linux
    # userland, and a mount of a missing directory would fail every start.
    dirs = tuple(d for d in P.basejail_dirs(source.release)
                 if (Path(src_root) / d).is_dir() and not (Path(src_root) / d).is_symlink())
    for rel in dirs:
        safe_paths.empty_dir(root, rel)
    return P.basejail_fstab(src_root, f"{inv.iocroot}/jails/{name}/root", dirs, stamp)


def _pkglist_json(pkgs: Sequence[str]) -> str:
    return json.dumps({"pkgs": list(pkgs)}, indent=4) + "\n"


def read_pkglist(path: str) -> tuple[str, ...]:
    """`-p FILE`: the packages it lists, checked before anything is created."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as err:
        raise UsageError(f"cannot read package list {path}: {err.strerror or err}") from None
    return P.parse_pkglist(text, path)
