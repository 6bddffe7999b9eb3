"""Processes of a Linux jail, as the host sees them: identity (pid and start time), the members
of a jail's pid namespace, signals. Read from /proc; no process is started here."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from iocjail.errors import IocjailError

HOLDER = Path(__file__).with_name("linux_holder.py")


class RuntimeFailure(IocjailError):
    pass


def start_time(pid: int | str) -> str | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot): with the pid, a process's identity."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


def alive(pid: str | int | None, start: str | None) -> bool:
    return bool(pid) and start is not None and start_time(pid) == start  # type: ignore[arg-type]


def _pid_ns(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def jail_pids(holder: int | str) -> list[int]:
    """Every live process in the holder's pid namespace (the holder included)."""
    ns = _pid_ns(holder)
    if ns is None:
        return []
    if ns == _pid_ns("self"):  # never the host's own namespace: that would be every process
        raise RuntimeFailure(f"process {holder} is not the init of a jail (it shares the host's pid namespace)")
    return [p for p in _pids() if _pid_ns(p) == ns and start_time(p) is not None]


def find_holders(root: str) -> list[int]:
    """Holders of ROOT found by their command line: how a journal that lost the pid finds one."""
    found = []
    for pid in _pids():
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(HOLDER).encode() in args and root.encode() in args and b"unshare" not in args[0]:
            found.append(pid)
    return found


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    left = pids
    while True:
        left = [p for p in left if start_time(p) is not None]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.02)


def signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        if pid <= 1 or pid == os.getpid():
            continue  # 0 and -1 would reach whole process groups; 1 is the host's init
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def kill_holder(pid: int, start: str | None) -> None:
    """SIGKILL the jail's init (the kernel then kills every process of its pid namespace) and
    wait until it and they are gone."""
    if start is None or start_time(pid) != start:
        return
    members = jail_pids(pid)
    signal_all([pid], signal.SIGKILL)
    left = wait_gone([pid, *members], 10.0)
    if left:
        raise RuntimeFailure(f"processes {left} of the jail did not exit after SIGKILL")
