"""Whether the path a start would use as a jail's root is that jail's own root. Pure.

Both runtimes start a jail in `JAILDIR/root` (JAILDIR: the mountpoint of `…/jails/NAME`). That
path must be where the jail's own dataset `…/jails/NAME/root` is mounted, and nothing else: a
`root` that is a symlink (to a release every `create -r` clones, another jail's root, the host's
`/`) or a directory of the jail's dataset with nothing mounted on it would run the jail's init,
and mount its fstab, devfs and procfs, wherever that leads. The facts come from ZFS (the dataset,
its `mountpoint` and `mounted`), from the path walked one component at a time below the iocroot
without following links, and from the mount table (Linux /proc/self/mountinfo, FreeBSD `mount -p`):
the file system mounted on top at that path must be the dataset itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RootFacts:
    path: str  # the jail's root as the start would use it: JAILDIR/root
    dataset: str  # POOL/iocage/jails/NAME/root
    exists: bool  # the dataset exists
    mountpoint: str | None  # its `mountpoint` property
    mounted: bool  # its `mounted` property
    unsafe: str | None  # why the path is no plain directory (a symlink on the way, not a directory)
    mounted_here: str | None  # the source of the file system on top at the path (mount table)
    importing: bool = False  # the jail's dataset still carries the mark of an import (model/imported.py)


def root_problem(f: RootFacts) -> str | None:
    """Why FACTS' path is not the jail's own root, None when it is."""
    if f.importing:
        return "its import did not finish (import it again, or run `iocjail clean --runtime`)"
    if not f.exists:
        return f"it has no root dataset ({f.dataset})"
    if f.mountpoint != f.path:
        return f"its root dataset {f.dataset} is mounted at {f.mountpoint or 'none'}, not at {f.path}"
    if f.unsafe is not None:
        return f"its root is not a plain directory: {f.unsafe}"
    if not f.mounted:
        return f"its root dataset {f.dataset} is not mounted"
    if f.mounted_here != f.dataset:
        what = f"{f.mounted_here} is mounted there" if f.mounted_here else "nothing is mounted there"
        return f"its root {f.path} is not its root dataset {f.dataset}: {what}"
    return None
