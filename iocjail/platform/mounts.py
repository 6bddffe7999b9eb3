"""The mount table, read as the kernel keeps it, and paths walked without following links.

What is mounted at a path is asked of the kernel, not of ZFS's `mounted` property: on Linux
/proc/self/mountinfo (this process's mount namespace), on FreeBSD `mount -p` (one line per mount
in fstab(5) form, in mount order; statfs(2) of the path gives the same `f_mntfromname`). In
both, of several file systems mounted on one path the last listed is the one on top, the one a
process entering the path sees.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from iocjail.platform import shell

_ESCAPE_RE = re.compile(r"\\([0-7]{3})")
RunFn = Callable[..., shell.Result]


@dataclass(frozen=True)
class Mounted:
    source: str  # the dataset for ZFS (`pool/iocage/jails/web/root`), the device, or the bind's source fs
    target: str  # where it is now (Linux's table follows renames of its parents)
    fstype: str
    mount_id: int = 0  # Linux: stable for the mount's life, wherever it is moved (0 on FreeBSD)
    parent_id: int = 0
    tags: str = ""  # Linux: propagation (shared:N, master:N)


def _unescape(field: str) -> str:
    """`\\040` and friends: how both tables write a space, tab, newline or backslash in a path."""
    return _ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mounted]:
    """Linux proc(5) mountinfo: `ID PARENT MAJ:MIN ROOT TARGET OPTS [OPTIONAL…] - FSTYPE SOURCE SUPER`."""
    out = []
    for line in text.splitlines():
        fields = line.split(" ")
        if "-" not in fields[6:]:
            continue
        dash = fields.index("-", 6)
        if len(fields) < dash + 3:
            continue
        out.append(Mounted(_unescape(fields[dash + 2]), _unescape(fields[4]), fields[dash + 1],
                           int(fields[0]), int(fields[1]), " ".join(fields[6:dash])))
    return out


def parse_mount_p(text: str) -> list[Mounted]:
    """FreeBSD `mount -p`: `SOURCE TARGET FSTYPE OPTIONS DUMP PASS`, tabs or spaces between."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            out.append(Mounted(_unescape(fields[0]), _unescape(fields[1]), fields[2]))
    return out


def table(*, system: str = sys.platform, run: RunFn = shell.run) -> list[Mounted]:
    """Every mount this process sees, in mount order."""
    if system.startswith("freebsd"):
        return parse_mount_p(run(["mount", "-p"]).stdout)
    return parse_mountinfo(mountinfo())


def mountinfo() -> str:
    """This process's Linux mount table. Names are bytes on disk: read with surrogateescape, so
    os.fsencode gives the exact bytes back."""
    return Path("/proc/self/mountinfo").read_bytes().decode(errors="surrogateescape")


def on_top(mounts: list[Mounted], path: str) -> Mounted | None:
    """The file system a process entering `path` sees there; None if nothing is mounted on it."""
    found = [m for m in mounts if m.target == path]
    return found[-1] if found else None


def mounted_at(path: Path, *, system: str = sys.platform, run: RunFn = shell.run) -> Mounted | None:
    """What is mounted on top at `path` (its links resolved, as the kernel writes targets)."""
    return on_top(table(system=system, run=run), os.path.realpath(path))


def unsafe_below(base: Path, path: Path) -> str | None:
    """Why `path` is not a plain directory reached from `base` through plain directories
    (each component lstat'ed, no link followed), None when it is. `base` itself is the admin's
    (the iocroot may well sit behind a link); a path outside it is walked from `/`."""
    try:
        rest = path.relative_to(base)
        at = base
    except ValueError:
        rest, at = path.relative_to("/"), Path("/")
    for part in rest.parts:
        at = at / part
        if part in (".", ".."):
            return f"{at} has '{part}' in it"
        try:
            mode = os.lstat(at).st_mode
        except FileNotFoundError:
            return f"{at} does not exist"
        if stat.S_ISLNK(mode):
            return f"{at} is a symlink (to {os.readlink(at)})"
        if not stat.S_ISDIR(mode):
            return f"{at} is not a directory"
    return None
