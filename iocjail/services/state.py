"""Which jails are running: one query for all of them, never one per jail.

The lifecycle engine keeps a journal `RUNDIR/jails/POOL/NAME.json` (with the JID, the jail's
state and what its start applied) from the start until the stop completes; the host's runtime
(services/runtimes.py) says which of them stand for a live jail, in one query:

* Linux: the journals alone (a directory read): a jail runs while the init its journal names
  (pid and start time) does. A journal whose init is gone (a crash, or a start that failed
  before its init ran) is not a running jail: the next start or stop of that jail undoes it.
* FreeBSD: one `jls --libxo json` call, joined with the journals by kernel name and JID; a jail
  iocjail did not start (iocage's, on a host switching over) is found by its path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from iocjail.services import runtimes
from iocjail.services.config import rundir
from iocjail.services.host import Host
from iocjail.services.runtimes import Running

__all__ = ["Running", "journal_dir", "journals", "running"]


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
        runtime = runtimes.of(host)
    except runtimes.RuntimeMissing:
        return {}  # no runtime, no jail started: list and get still answer
    return runtime.running(host, journals(host))
