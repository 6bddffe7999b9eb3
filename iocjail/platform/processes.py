"""Which process this is, and whether one recorded earlier still runs: the owner of a mark
(an import in progress) names itself by host, pid and start time, since a pid alone is reused."""

from __future__ import annotations

import os
import socket

from iocjail.platform import linux_procs


def host_name() -> str:
    return socket.gethostname() or "-"


def start_time(pid: int) -> str:
    """The process's start time where the system says it (Linux /proc), else `-`."""
    return linux_procs.start_time(pid) or "-"


def running(pid: int, start: str) -> bool:
    """PID runs, and is the process that recorded `start` (where a start time is known)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it runs, as another user
    return start == "-" or linux_procs.start_time(pid) == start
