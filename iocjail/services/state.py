"""Which jails are running: one query for all of them, never one per jail.

On Linux the runtime directory is the truth: the lifecycle engine keeps its journal
`RUNDIR/jails/POOL/NAME.json` (with the JID, the jail's state and its init's pid and start time)
from the start until the stop completes. A journal whose init is gone (a crash, or a start that
failed before its init ran) is not a running jail: the next start or stop of that jail undoes it.
On FreeBSD the same question will be one `jls --libxo json` call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iocjail.services.config import rundir
from iocjail.services.host import Host


@dataclass(frozen=True)
class Running:
    name: str
    jid: int
    state: str  # "up", or "starting"/"stopping"/"failed" while a command holds the jail


def journal_dir(host: Host) -> Path:
    return rundir() / "jails" / host.pool


def init_alive(data: dict[str, Any]) -> bool:
    """The journal's jail init still runs (same pid and start time: a pid alone may be reused).
    A state file without the engine's context (the minimal `{jid, state}` form) is taken at its word."""
    if "ctx" not in data:
        return True
    from iocjail.platform import linux  # platform code only when asked: imports stay portable

    ctx = data.get("ctx") or {}
    return linux.alive(ctx.get("pid"), ctx.get("pid_start"))


def running(host: Host) -> dict[str, Running]:
    """name -> Running for every jail whose journal names a live init; a directory read."""
    out: dict[str, Running] = {}
    directory = journal_dir(host)
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text())
            jid = int(data["jid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a journal being written or damaged: the engine's recovery deals with it
        if isinstance(data, dict) and init_alive(data):
            out[path.stem] = Running(path.stem, jid, str(data.get("state", "up")))
    return out
