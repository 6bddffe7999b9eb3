"""`export NAME`: a stopped jail or template into `images/NAME_DATE.zip` + `NAME_DATE.sha256`.

As iocage does it (reference §5): a recursive snapshot `@ioc-export-DATE`, then one full,
non-recursive `zfs send` per dataset, each a member named as iocage names it. Unlike iocage, each
stream goes straight from `zfs send` into the zip (no stream files: the archive is the only disk
use), the sha256 is computed while writing, the archive appears under its name only once complete
(`.NAME_DATE.zip.part` until then), and the snapshots go whatever happens, templates' included.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from iocjail.archive import members as M
from iocjail.archive.zipfiles import COMPRESSION, Writer
from iocjail.errors import DatasetBusy, IocjailError, UsageError, ZfsError
from iocjail.platform.clock import utc_now
from iocjail.platform.files import atomic_write, fsync_dir
from iocjail.site import config
from iocjail.services.fetch import QuietReporter, Reporter
from iocjail.site.host import Host
from iocjail.site.jails import resolve
from iocjail.services.provisioning import RollbackIncomplete
from iocjail.services.templates import refuse_running


class ArchiveExists(UsageError):
    template = "{} already exists: move it away (or import it) before exporting {} again today"


class SnapshotInTheWay(UsageError):
    template = "snapshot {} already exists (left by an interrupted export?): remove it with " \
               "iocjail snapremove {} -n {}"


class NoImagesDir(IocjailError):
    template = "{} does not exist: run iocjail activate {} to create it"


@dataclass(frozen=True)
class Exported:
    name: str
    archive: Path
    checksum: Path
    sha256: str
    size: int  # bytes of the archive
    datasets: tuple[str, ...]
    streamed: int  # bytes of zfs streams


def export(host: Host, name: str, *, compression: str = "store", reporter: Reporter | None = None,
           now: datetime | None = None) -> Exported:
    if compression not in COMPRESSION:
        raise UsageError(f"unknown compression {compression!r}: choose {' or '.join(COMPRESSION)}")
    reporter = reporter or QuietReporter()
    now = now or utc_now()
    ref = resolve(host, name, prefix=True)
    images = host.path("images")
    if not images.is_dir():
        raise NoImagesDir(images, host.pool)
    date = M.date_of(now)
    stem = M.stem(ref.name, date)
    archive, checksum = images / f"{stem}.zip", images / f"{stem}.sha256"
    with config.lock(host, ref.name):
        refuse_running(host, ref.name)
        for path in (archive, checksum):
            if path.exists() or path.is_symlink():
                raise ArchiveExists(path, ref.name)
        found = host.zfs.list_datasets(ref.dataset, ["referenced"], recursive=True)
        rels = [d.name[len(ref.dataset) + 1:] if d.name != ref.dataset else "" for d in found]
        M.check_exportable(ref.name, rels)
        snap = M.snapshot_name(date)
        if host.zfs.exists(f"{ref.dataset}@{snap}"):
            raise SnapshotInTheWay(f"{ref.dataset}@{snap}", ref.name, snap)
        host.zfs.snapshot(f"{ref.dataset}@{snap}", recursive=True)
        published = False
        try:
            part = images / f".{stem}.zip.part"
            part.unlink(missing_ok=True)  # ours, from a killed run: the jail's lock is held
            writer = Writer(part, compression, now)
            streamed = 0
            try:
                for ds, rel in zip(found, rels):
                    reporter.step(f"Exporting dataset: {ds.name}")
                    reporter.begin(f"Exporting: {ref.name}/{rel}" if rel else f"Exporting: {ref.name}",
                                   int(ds.get("referenced") or 0) or None, 0)
                    try:
                        with host.zfs.send(f"{ds.name}@{snap}") as stream:
                            streamed += writer.add(M.member_name(str(host.iocroot), stem, rel), stream,
                                                   reporter.advance)
                    finally:
                        reporter.end()
                digest, size = writer.close()
            except BaseException:
                writer.abort()
                raise
            os.replace(part, archive)
            published = True
            fsync_dir(images)
            atomic_write(checksum, M.format_checksum(digest))
        except BaseException as err:
            if published:
                archive.unlink(missing_ok=True)  # no archive without its checksum
            leftover = _drop_snapshots(host, ref.dataset, snap)
            if leftover:
                raise RollbackIncomplete(str(err), leftover) from err
            raise
        leftover = _drop_snapshots(host, ref.dataset, snap)
        if leftover:
            raise IocjailError(f"exported {archive}, but could not remove {leftover}")
    return Exported(ref.name, archive, checksum, digest, size, tuple(d.name for d in found), streamed)


def _drop_snapshots(host: Host, dataset: str, snap: str) -> str:
    """Destroy DATASET@SNAP and its children's: one recursive destroy, or if that fails, one at
    a time, deepest first, each retried while busy; what could not go, as text."""
    try:
        host.zfs.destroy(f"{dataset}@{snap}", recursive=True)
        return ""
    except ZfsError:
        pass  # one at a time below: the retries see which is busy, the message names what stays
    failed = []
    try:
        found = [d.name for d in host.zfs.snapshots(dataset, recursive=True) if d.snapshot == snap]
    except ZfsError as err:
        return f"the {snap} snapshots of {dataset} ({err})"
    for full in sorted(found, key=lambda n: n.count("/"), reverse=True):
        for attempt in range(5):
            try:
                host.zfs.destroy(full)
                break
            except DatasetBusy as err:  # zfs-fuse: a send interrupted a moment ago may still hold it
                if attempt == 4:
                    failed.append(f"{full} ({err})")
                time.sleep(0.1 * (attempt + 1))
            except ZfsError as err:
                failed.append(f"{full} ({err})")
                break
    return "; ".join(failed)
