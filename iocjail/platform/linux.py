"""Linux namespaces for jails: the unshare/nsenter argv, bind mounts and the mount table, the
host's network links, and unmounting safely. The runner that performs a Linux plan's ops with
these is lifecycle/linux/runner.py.

The jail's init is the holder (platform/linux_holder.py), started as
`setsid --fork unshare … --fork -- python -I -S linux_holder.py ROOT HOSTNAME`: setsid detaches it
from the starting command's session (closing a terminal never reaches a jail), and unshare's
parent waits for it outside the jail. The holder's host pid and start time identify it (a pid
alone may be reused); commands enter the jail with `nsenter --target PID` and every namespace.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from iocjail.errors import CommandFailed
from iocjail.platform import safe_paths, shell
from iocjail.platform.files import locked
from iocjail.platform.linux_procs import HOLDER, RuntimeFailure, alive, find_holders, jail_pids, start_time
from iocjail.platform.mounts import mountinfo, parse_mountinfo

__all__ = ["HOLDER", "RuntimeFailure", "alive", "find_holders", "holder_argv", "jail_pids", "jid_in_use",
           "link_exists", "mounted", "net_lock", "nsenter_argv", "spawn_argv", "start_time", "umount_by_id",
           "umount_retrying"]

log = logging.getLogger("iocjail.platform.linux")


def holder_argv() -> tuple[str, ...]:
    return (sys.executable, "-I", "-S", str(HOLDER))


def spawn_argv(root: str, hostname: str, net: str, holder: tuple[str, ...]) -> list[str]:
    spaces = ["--mount", "--uts", "--ipc", "--pid", *(["--net"] if net != "host" else [])]
    return ["setsid", "--fork", "unshare", *spaces, "--fork", "--propagation", "slave", "--", *holder, root, hostname]


def nsenter_argv(pid: str | int, *, uid: int | None = None, gid: int | None = None) -> list[str]:
    """Enter every namespace of the holder, its root and working directory."""
    creds = (["--setuid", str(uid)] if uid is not None else []) + (["--setgid", str(gid)] if gid is not None else [])
    return ["nsenter", "--target", str(pid), "--mount", "--uts", "--ipc", "--net", "--pid", "--root", "--wd",
            *creds, "--"]


# -- mounts ---------------------------------------------------------------------------------

def mounts() -> list[tuple[str, str, str]]:
    """(mount point, fstype, propagation tags) of every mount of this mount namespace, in order."""
    return [(m.target, m.fstype, m.tags) for m in parse_mountinfo(mountinfo())]


def mount_id_of(held: str) -> int | None:
    """The mount ID of what `/proc/PID/fd/N` (safe_paths.pinned) holds, from its fdinfo."""
    try:
        text = Path(held.replace("/fd/", "/fdinfo/")).read_text()
    except OSError:
        return None
    found = re.search(r"^mnt_id:\s*(\d+)$", text, re.M)
    return int(found.group(1)) if found else None


def mounted(path: str) -> str | None:
    """The fstype of the topmost mount on `path`, None if nothing is mounted there."""
    found = [fstype for point, fstype, _ in mounts() if point == path.rstrip("/") or (point == "/" and path == "/")]
    return found[-1] if found else None


_NET_THREADS = threading.Lock()  # fcntl locks exclude processes; parallel starts (--rc) are threads


@contextmanager
def net_lock(rundir: Path) -> Iterator[None]:
    with _NET_THREADS, locked(rundir / "locks" / "net.lock", "host networking"):
        yield


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def jid_in_use(jid: int) -> bool:
    """A host interface named like a jail's veth end (`vnetN.JID`) already uses this JID."""
    try:
        names = os.listdir("/sys/class/net")
    except OSError:
        return False
    return any(n.startswith("vnet") and n.endswith(f".{jid}") for n in names)


def umount_retrying(argv: list[str]) -> None:
    for attempt in range(10):
        try:
            shell.run(argv)
            return
        except CommandFailed as err:
            if "busy" not in err.stderr or attempt == 9:
                raise
            time.sleep(0.1)  # processes just killed may still hold it


def umount_by_id(root: str, mount_id: int, point: str) -> None:
    """Unmount mount MOUNT_ID at POINT under ROOT, reached without following a symlink and held
    open, and only if what is held is that very mount: no path swapped in meanwhile redirects it.
    Detached (-l) because the descriptor holding it keeps it busy; nothing else can."""
    try:
        with safe_paths.pinned(Path(root), point[len(root):], kind="any") as held:
            if mount_id_of(held) == mount_id:
                shell.run(["umount", "-l", "--no-canonicalize", held])
    except (safe_paths.UnsafePath, OSError) as err:  # left in the table: the caller names it
        log.debug("cannot reach mount %d at %s: %s", mount_id, point, err)
