"""Which jails are running: one query for all of them, never one per jail.

The lifecycle engine keeps a journal `RUNDIR/jails/POOL/NAME.json` (with the JID, the jail's
state and what its start applied) from the start until the stop completes; the host's runtime
(lifecycle/runtime.py, `of(host)` below) says which of them stand for a live jail, in one query:

* Linux: the journals alone (a directory read): a jail runs while the init its journal names
  (pid and start time) does. A journal whose init is gone (a crash, or a start that failed
  before its init ran) is not a running jail: the next start or stop of that jail undoes it.
* FreeBSD: one `jls --libxo json` call, joined with the journals by kernel name and JID; a jail
  iocjail did not start (iocage's, on a host switching over) is found by its path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iocjail.errors import DatasetNotFound
from iocjail.lifecycle.runtime import JailSite, Running, Runtime
from iocjail.lifecycle.select import RuntimeMissing, select
from iocjail.model.values import is_true
from iocjail.site.config import rundir
from iocjail.site.host import Host
from iocjail.site.jails import JailRef

__all__ = ["Running", "existing_datasets", "journal_dir", "journals", "of", "running", "site_of"]


def of(host: Host) -> Runtime:
    """The host's runtime: the one it was given, else this system's (remembered on the host)."""
    if host.runtime is None:
        host.runtime = select()
    runtime: Runtime = host.runtime
    return runtime


def site_of(host: Host, ref: JailRef) -> JailSite:
    """Where jail REF lives, as the plain values a runtime takes."""
    return JailSite(ref.name, ref.path, host.iocroot, host.pool, rundir())


def existing_datasets(host: Host, cfg: Mapping[str, str]) -> frozenset[str]:
    """The jail_zfs datasets that exist (a missing one is created by the start)."""
    if not is_true(cfg.get("jail_zfs")):
        return frozenset()
    found = set()
    for dataset in cfg.get("jail_zfs_dataset", "").split():
        try:
            found |= {d.name for d in host.zfs.list_datasets(f"{host.pool}/{dataset}", depth=0)}
        except DatasetNotFound:
            pass
    return frozenset(found)


def journal_dir(host: Host) -> Path:
    return rundir() / "jails" / host.pool


def journals(host: Host) -> dict[str, dict[str, Any]]:
    """name -> the journal's JSON, for every journal of the pool that can be read."""
    out: dict[str, dict[str, Any]] = {}
    directory = journal_dir(host)
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text())
            int(data["jid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a journal being written or damaged: the engine's recovery deals with it
        if isinstance(data, dict):
            out[path.stem] = data
    return out


def running(host: Host) -> dict[str, Running]:
    """name -> Running for every jail of the pool the runtime finds alive."""
    try:
        runtime = of(host)
    except RuntimeMissing:
        return {}  # no runtime, no jail started: list and get still answer
    return runtime.running(lambda: host.iocroot, journals(host))
