"""`import NAME|PATH`: an export archive (iocjail's or iocage's) back into a jail.

Order, so that a refused or failed import changes nothing:
1. find the archive (`images/NAME_DATE.zip`, or a path), open it once (everything below reads
   that open file, never the path again) and check its `.sha256` (a full read of the file,
   before the pool is touched; `--no-verify` skips it);
2. check every member (names, sizes, overlaps: see archive/) and map it to a dataset;
3. under the new name's lock, destroy what a killed import of the name left (services/
   half_imports.py), then refuse a name that exists;
4. make the jail's dataset, marked as an import in progress and with mountpoint=none (never
   mounted yet), receive its stream into it (`-F`: into that empty dataset of ours only, never
   over an existing one), refuse properties the stream carried, and give it back its mountpoint
   (which mounts it) before anything is received below it; then each other member with
   `zfs receive -u` (nothing mounted), parents first;
5. refuse what a plain `zfs send` never makes: datasets beyond the members, properties carried
   by the stream (`mountpoint=/etc` would mount over the host);
6. drop the received snapshots and mount the children, parents first, each only on a plain
   directory of its parent (mount(2) follows links: a `root` symlink in the jail's stream would
   mount the jail's root over the host's /etc), and rewrite config.json/fstab where needed
   (model/imported.py), reading them without following a symlink the archive planted; an fstab
   that mounts the host's `/` is refused;
7. check the jail's root as every start does (services/jail_root.py), then remove the mark: the
   import is complete.
A failure at any step destroys what was received; a killed import leaves the marked dataset for
the next import or `clean --runtime`. The result is thick: full streams have no origin, whatever
the exported jail was cloned from.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from iocjail.archive import members as M
from iocjail.archive.opened import OpenedArchive
from iocjail.archive.tarfiles import TarReader
from iocjail.archive.zipfiles import Reader
from iocjail.errors import CorruptConfig, IocjailError, NotFound, UsageError, ZfsError
from iocjail.model import config as model
from iocjail.model import imported as I
from iocjail.model import provision as P
from iocjail.model.jail_root import root_problem
from iocjail.model.values import validate_jail_name
from iocjail.platform import safe_paths
from iocjail.platform.zfs import TYPES
from iocjail.platform.zfs_output import Dataset
from iocjail.site import config
from iocjail.services import half_imports, jail_root, provisioning
from iocjail.services.fetch import QuietReporter, Reporter
from iocjail.site.inventory import Inventory, inventory
from iocjail.site.host import Host
from iocjail.site.jails import JailRef
from iocjail.services.provisioning import transaction

_DATED = r"_[0-9]{4}-[0-9]{2}-[0-9]{2}\.(?:zip|tar\.xz)"
SUFFIXES = (".zip", ".tar.xz")  # iocage's `export -c zip` and `-c lzma`


class ArchiveNotFound(NotFound):
    template = "no export of {!r} in {}"


class SeveralArchives(UsageError):
    template = "several exports of {!r}: {}; give the one to import as a path"


class ChecksumMismatch(IocjailError):
    template = "{}: sha256 {} does not match {} ({}): refusing to import it (--no-verify to import anyway)"


class NoChecksum(IocjailError):
    template = "{} is missing: cannot verify {} (--no-verify to import anyway)"


class ReceiveFailed(IocjailError):
    template = "{}: the stream of {} was refused by zfs ({}): nothing imported"


@dataclass(frozen=True)
class Imported:
    name: str
    archive: Path
    dataset: str
    datasets: tuple[str, ...]
    template: bool
    verified: bool
    received: int  # bytes of zfs streams
    host_commands: tuple[tuple[str, str], ...] = ()  # hooks it runs on this host (model/imported.py)
    host_paths: tuple[tuple[str, str], ...] = ()  # (source, rw/ro) its fstab mounts from this host


def locate(host: Host, what: str, directory: Path | None = None) -> Path:
    """A path (anything with a `/` or ending in .zip/.tar.xz), or NAME's export in `directory`
    (default images/): `NAME_YYYY-MM-DD.zip` (or iocage's `.tar.xz`), exactly one."""
    if "/" in what or what.endswith(SUFFIXES):
        path = Path(what) if directory is None or "/" in what else directory / what
        if not path.is_file():
            raise NotFound(f"{path}: no such archive")
        return path
    validate_jail_name(what)
    where = directory or host.path("images")
    if not where.is_dir():
        raise NotFound(f"{where}: no such directory")
    pattern = re.compile(re.escape(what) + _DATED + "$")
    found = sorted(p for p in where.iterdir() if pattern.match(p.name) and p.is_file())
    if not found:
        raise ArchiveNotFound(what, where)
    if len(found) > 1:
        raise SeveralArchives(what, ", ".join(p.name for p in found))
    return found[0]


def stem_of(path: Path) -> str:
    for suffix in SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    raise UsageError(f"{path.name}: not an export archive (NAME_YYYY-MM-DD.zip or .tar.xz)")


def open_reader(archive: OpenedArchive) -> Reader | TarReader:
    return TarReader(archive) if archive.path.name.endswith(".tar.xz") else Reader(archive)


def verify(archive: OpenedArchive, reporter: Reporter) -> str:
    """Check the open archive against its `.sha256`; on a match, mark it verified."""
    path = archive.path
    checksum = path.with_name(f"{stem_of(path)}.sha256")
    if not checksum.is_file():
        raise NoChecksum(checksum, path)
    expected = M.parse_checksum(checksum.read_text(errors="replace")[:4096], str(checksum))
    reporter.begin(f"Verifying: {path.name}", archive.size, 0)
    try:
        actual = archive.sha256(reporter.advance)
    finally:
        reporter.end()
    if actual != expected:
        raise ChecksumMismatch(path, actual, checksum.name, expected)
    archive.verified = True
    return actual


def import_archive(host: Host, what: str, *, new_name: str | None = None, verify_checksum: bool = True,
                   as_template: bool = False, directory: Path | None = None,
                   reporter: Reporter | None = None) -> Imported:
    reporter = reporter or QuietReporter()
    path = locate(host, what, directory)
    old, date = M.split_stem(stem_of(path))
    new = validate_jail_name(new_name if new_name is not None else old)
    _check_free(host, new)  # before a long verify; again below
    with OpenedArchive(path) as archive:
        if verify_checksum:
            verify(archive, reporter)
        return _import(host, archive, old, date, new, as_template, reporter)


def _check_free(host: Host, new: str) -> None:
    """The name is free, but for what a killed import of it left (removed under the lock)."""
    names = inventory(host).all_names()
    try:
        P.check_new_names([new], names)
    except P.NameTaken:
        halves = {h.name for h in half_imports.found(host) if P.collision_key(h.name) == P.collision_key(new)}
        P.check_new_names([new], [n for n in names if n not in halves])


def _import(host: Host, archive: OpenedArchive, old: str, date: str, new: str, as_template: bool,
            reporter: Reporter) -> Imported:
    path = archive.path
    reader = open_reader(archive)
    try:
        entries = reader.entries()
        planned = M.plan(str(path), old, date, entries)
        category = "templates" if as_template else "jails"
        with ExitStack() as locks:
            for key in sorted({new, P.collision_key(new)}):
                locks.enter_context(config.lock(host, key))
            half_imports.clear(host, new)  # what a killed import of this name left
            inv = inventory(host)
            P.check_new_names([new], inv.all_names())
            M.check_sizes(str(path), entries, int(host.zfs.get(host.dataset(category), "available") or 0))
            base = host.dataset(category, new)
            with transaction() as undo:
                undo.add(f"destroy {base}", half_imports.remover(host, base))
                _make_marked(host, base)
                received = _receive(host, reader, planned[:1], base, new, reporter)  # the jail's own
                _open_base(host, str(path), base)
                received += _receive(host, reader, planned[1:], base, new, reporter)
                received_datasets = _check_received(host, str(path), base, planned)
                _settle(host, str(path), inv.mountpoint_of(base), base, planned, received_datasets)
                hooks, paths = _rewrite_files(host, inv, planned, base, old, new, category, as_template)
                _check_root(host, str(path), JailRef(new, category, base, inv.mountpoint_of(base)))
                if as_template:
                    host.zfs.set(base, {"readonly": "on"})
                host.zfs.inherit(base, I.IMPORT_PROP)  # complete: from here on, a jail
    finally:
        reader.close()
    datasets = tuple(f"{base}/{p.rel}" if p.rel else base for p in planned)
    return Imported(new, path, base, datasets, as_template, archive.verified, received, hooks, paths)


def _check_root(host: Host, archive: str, ref: JailRef) -> None:
    """The root every start will use is the jail's own root dataset, as the start checks it."""
    problem = root_problem(replace(jail_root.facts(host, ref), importing=False))  # the mark is ours
    if problem is not None:
        raise M.UnsafeArchive(archive, f"once received, {problem}")


OURS = {I.IMPORT_PROP: None, "mountpoint": "none"}  # what _make_marked sets (None: any value)


def _make_marked(host: Host, base: str) -> None:
    """The jail's dataset, made with the mark of this import (one `zfs create -o`: no moment
    when it exists unmarked) and never mounted before the receive: zfs-fuse fails about one
    `receive -F` in a hundred with EIO into a dataset it has just unmounted, none into one made
    with mountpoint=none (measured: 2 of 150 against 0 of 150). The mountpoint is inherited
    again once the streams are checked (canmount=off would do too, but cannot be inherited)."""
    host.zfs.create(base, props={I.IMPORT_PROP: half_imports.mark(), "mountpoint": "none"})


def _open_base(host: Host, archive: str, base: str) -> None:
    """The jail's own dataset, checked and mounted before anything is received below it: giving
    it its mountpoint back mounts it and every file system below it that inherits the mountpoint,
    which would mount a child unchecked wherever a `root` link in this stream leads."""
    _refuse_carried(archive, host.zfs.own_properties(base), base)
    host.zfs.inherit(base, "mountpoint")  # back under the iocroot; zfs mounts it (canmount=on)
    if host.zfs.get(base, "mounted") != "yes":
        host.zfs.mount(base)


def _receive(host: Host, reader: Reader | TarReader, planned: tuple[M.Planned, ...], base: str, new: str,
             reporter: Reporter) -> int:
    total = 0
    for item in planned:
        label = f"{new}/{item.rel}" if item.rel else new
        reporter.step(f"Importing dataset: {label}")
        reporter.begin(f"Importing: {label}", item.size or None, 0)
        try:
            # -F for the jail's own stream only: into the marked, empty dataset made just before
            with host.zfs.receiving(f"{base}/{item.rel}" if item.rel else base, force=not item.rel,
                                    no_mount=True) as sink:
                total += reader.copy(item.member, sink, reporter.advance)
        except ZfsError as err:
            raise ReceiveFailed(reader.path.name, label, err) from err
        finally:
            reporter.end()
    return total


def _check_received(host: Host, archive: str, base: str, planned: tuple[M.Planned, ...]) -> list[Dataset]:
    """What a plain full `zfs send` of each dataset gives, and nothing else. Returns what was
    received, snapshots included (one listing serves the checks and _settle)."""
    wanted = {f"{base}/{p.rel}" if p.rel else base for p in planned}
    received = host.zfs.list_datasets(base, recursive=True, types=TYPES)
    extra = sorted({d.name for d in received if not d.is_snapshot} - wanted)
    if extra:
        raise M.UnsafeArchive(archive, f"its streams made datasets no member names ({', '.join(extra)})")
    volumes = sorted(d.name for d in received if d.name in wanted and d.type != "filesystem")
    if volumes:  # never mounted, so `root` would stay whatever the jail's own stream holds there
        raise M.UnsafeArchive(archive, f"its streams made {', '.join(volumes)} no file system")
    _refuse_carried(archive, host.zfs.own_properties(base), base)
    return received


def _refuse_carried(archive: str, own: dict[str, dict[str, str]], base: str) -> None:
    """Properties a stream carried (`mountpoint=/etc` would mount over the host): exports carry
    none. On BASE, the mark and mountpoint=none are ours (_make_marked)."""
    own[base] = {k: v for k, v in own.get(base, {}).items() if k not in OURS or OURS[k] not in (None, v)}
    carried = {ds: props for ds, props in own.items() if props}
    if carried:
        ds, props = sorted(carried.items())[0]
        shown = ", ".join(f"{k}={v}" for k, v in sorted(props.items()))
        raise M.UnsafeArchive(archive, f"its stream for {ds} carries ZFS properties ({shown}); "
                                       "exports never do")


def _settle(host: Host, archive: str, directory: Path, base: str, planned: tuple[M.Planned, ...],
            received: list[Dataset]) -> None:
    """Drop the export snapshots that came with the streams, then mount the children, parents
    first, each on a plain directory of its parents (DIRECTORY: the jail's own mountpoint). An
    export's snapshots share one name (`@ioc-export-DATE`): then one recursive destroy does."""
    snapshots = [d for d in received if d.is_snapshot]
    tops = {f"{base}@{d.snapshot}" for d in snapshots}  # one name on all: the base's snapshot
    if len(tops) == 1 and tops <= {d.name for d in snapshots}:
        host.zfs.destroy(tops.pop(), recursive=True)
    else:
        for snap in sorted(snapshots, key=lambda d: d.name.count("/"), reverse=True):
            host.zfs.destroy(snap.name)
    filesystems = {d.name for d in received if d.type == "filesystem"}
    for item in planned[1:]:  # the jail's own dataset is mounted already (_open_base)
        ds = f"{base}/{item.rel}"
        if ds in filesystems:
            _mountable(archive, directory, base, item.rel)
            host.zfs.mount(ds)


def _mountable(archive: str, directory: Path, base: str, rel: str) -> None:
    """DIRECTORY/rel, made a directory if missing, every component a real directory: zfs mount
    would follow a link the archive's streams put there (`root` -> /etc) and mount over the host."""
    try:
        safe_paths.mkdir(directory, rel)
    except safe_paths.UnsafePath as err:
        name = base.rpartition("/")[2]
        raise M.UnsafeArchive(archive, f"{name}/{rel} would be mounted on {directory / rel}, which its "
                                       f"streams made no plain directory ({err.args[2]})") from None


def _rewrite_files(host: Host, inv: Inventory, planned: tuple[M.Planned, ...], base: str,
                   old: str, new: str, category: str,
                   as_template: bool) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """config.json and fstab as they must be here; returns the config's host-side hooks and
    the host paths the fstab mounts into the jail."""
    directory = inv.mountpoint_of(base)
    provisioning.require_mounted(directory, base)
    text = safe_paths.read_text(directory, "config.json")
    if text is None:
        raise IocjailError(f"{base}: the archive holds no config.json (a plain file): not a jail; nothing imported")
    try:
        stored = model.parse_config_json(text, f"config.json of {new}")
    except CorruptConfig as err:
        raise IocjailError(f"{err}; nothing imported") from err
    defaults = config.load_defaults(host)
    problems = I.config_problems(stored, defaults)
    if problems:
        raise IocjailError(f"config.json of {new} in the archive is not valid: {'; '.join(problems)}; nothing imported")
    cfg = I.imported_config(stored, old, new, as_template=as_template)
    if cfg != stored:
        safe_paths.write_text(directory, "config.json", model.dump_config_json(cfg))
    fstab = safe_paths.read_text(directory, "fstab")
    if fstab is None and safe_paths.exists(directory, "fstab"):  # a link or a FIFO: every start reads it
        raise IocjailError(f"{base}: the archive's fstab is not a plain file; nothing imported")
    paths: tuple[tuple[str, str], ...] = ()
    if fstab is not None:
        source = M.source_iocroot(planned) or str(inv.iocroot)
        jail_dir = f"{inv.iocroot}/{category}/{new}"
        moved = I.imported_fstab(fstab, I.old_directories(source, old), jail_dir)
        if (host_root := I.host_root_source(moved)) is not None:
            raise IocjailError(f"{base}: the archive's fstab mounts the host's / ({host_root}) into the jail; "
                               "nothing imported")
        paths = I.host_sources(moved, f"{jail_dir}/root", f"{inv.iocroot}/releases")
        if moved != fstab:
            safe_paths.write_text(directory, "fstab", moved)
    return I.host_commands(cfg, defaults), paths
