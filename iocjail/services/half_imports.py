"""Imports a `kill -9` (or a crash, or a power cut) left half done, found and removed.

An import makes the jail's dataset itself, marked (`IMPORT_PROP`, model/imported.py), before
its first stream is received, and removes the mark as its last step: a dataset in `jails/` or
`templates/` that carries the mark is not a jail yet, whatever it holds. Its owner is known by
host, pid and start time. The import holds the name's lock from before it makes the dataset to
after it removes the mark, so a mark whose name's lock is free and whose owner no longer runs
(or ran on another host, before the pool moved here) is a half import: the next import of the
name, or `clean --runtime`, destroys it. An import in progress is never touched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from iocjail.errors import DatasetNotFound, IocjailError, ZfsError
from iocjail.model import imported as I
from iocjail.model import provision as P
from iocjail.platform import processes
from iocjail.platform.clock import utc_now
from iocjail.platform.files import LockTimeout
from iocjail.site import config
from iocjail.site.host import Host

CATEGORIES = ("jails", "templates")


class ImportInProgress(IocjailError):
    template = "{}: an import of it is in progress ({}); wait for it to end"
    exit_code = 75


@dataclass(frozen=True)
class Half:
    name: str
    dataset: str
    raw: str | None  # the mark as found
    mark: I.ImportMark | None

    def owner_gone(self) -> bool:
        alive = self.mark is not None and processes.running(self.mark.pid, self.mark.start)
        return I.owner_gone(self.mark, processes.host_name(), alive)

    def owner(self) -> str:
        m = self.mark
        return f"pid {m.pid} on {m.host}, since {m.since}" if m else "owner unknown"


def mark(now: datetime | None = None) -> str:
    """The mark this process puts on the dataset it imports into."""
    pid = os.getpid()
    since = (now or utc_now()).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return I.ImportMark(processes.host_name(), pid, processes.start_time(pid), since).text()


def found(host: Host) -> list[Half]:
    """Every marked dataset directly under jails/ and templates/: one zfs call."""
    parents = [host.dataset(c) for c in CATEGORIES]
    try:
        listed = host.zfs.list_datasets(parents, [I.IMPORT_PROP], depth=1)
    except DatasetNotFound:
        return []  # no jails/ or templates/ yet: no import either
    out = []
    for ds in listed:
        parent, _, name = ds.name.rpartition("/")
        if parent in parents and ds.is_local(I.IMPORT_PROP):
            raw = ds.get(I.IMPORT_PROP)
            out.append(Half(name, ds.name, raw, I.parse_import_mark(raw)))
    return out


def remover(host: Host, dataset: str) -> Callable[[], None]:
    """Destroy DATASET and all below it, checked (a destroy -r that meets a child vanishing under
    it, as a killed receive's does, reports "does not exist" and stops: so look again)."""

    def undo() -> None:
        for attempt in range(5):
            if not host.zfs.exists(dataset):
                return
            try:
                host.zfs.destroy(dataset, recursive=True)
            except DatasetNotFound:
                pass
            except ZfsError:
                if attempt == 4:
                    raise
            time.sleep(0.2 * attempt)
        if host.zfs.exists(dataset):
            raise IocjailError(f"{dataset} is still there")

    return undo


def clear(host: Host, name: str) -> list[str]:
    """Under the locks of NAME and its collision key (the caller holds them): destroy the half
    imports that would take the name; ImportInProgress if one's owner still runs."""
    key = P.collision_key(name)
    gone = []
    for half in found(host):
        if P.collision_key(half.name) != key:
            continue
        if not half.owner_gone():
            raise ImportInProgress(half.name, half.owner())
        remover(host, half.dataset)()
        gone.append(half.dataset)
    return gone


def clean(host: Host) -> list[str]:
    """`clean --runtime`: destroy every half import whose owner is gone; one whose lock is held
    or whose owner runs is in progress, and stays."""
    gone = []
    for half in found(host):
        try:
            with config.lock(host, half.name, timeout=0), config.lock(host, P.collision_key(half.name), timeout=0):
                if half.owner_gone() and _still_marked(host, half):
                    remover(host, half.dataset)()
                    gone.append(half.dataset)
        except LockTimeout:
            continue  # an import (or another command) holds it: in progress
    return gone


def _still_marked(host: Host, half: Half) -> bool:
    """Looked at again under the lock: the import may have ended between the listing and now."""
    try:
        ds = host.zfs.dataset(half.dataset, [I.IMPORT_PROP])
    except DatasetNotFound:
        return False
    return ds.is_local(I.IMPORT_PROP) and ds.get(I.IMPORT_PROP) == half.raw
