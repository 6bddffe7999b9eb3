"""The check every start makes before anything runs: the jail's root is its own root dataset.

Both runtimes use `JAILDIR/root` as the root (JAILDIR being the mountpoint of `…/jails/NAME`,
`JailRef.path`). An archive, an older iocjail or a hand can leave `root` a symlink or a plain
directory; model/jail_root.py says why that refuses the start, from the facts gathered here: one
`zfs get` of the jail's datasets, the path walked without following links, and the mount table.
"""

from __future__ import annotations

from pathlib import Path

from iocjail.errors import IocjailError
from iocjail.model import imported as I
from iocjail.model.jail_root import RootFacts, root_problem
from iocjail.platform import mounts
from iocjail.site.host import Host
from iocjail.site.jails import JailRef


class UnsafeRoot(IocjailError):
    template = "{}: refusing to start: {}"


def facts(host: Host, ref: JailRef) -> RootFacts:
    dataset = f"{ref.dataset}/root"
    found = {d.name: d for d in host.zfs.list_datasets(ref.dataset, ["mountpoint", "mounted", I.IMPORT_PROP],
                                                        depth=1)}
    own = found.get(dataset)
    jail = found.get(ref.dataset)
    path = ref.path / "root"
    unsafe = mounts.unsafe_below(_iocroot(host, ref), path)
    top = mounts.mounted_at(path) if unsafe is None else None
    return RootFacts(
        path=str(path), dataset=dataset, exists=own is not None,
        mountpoint=own.get("mountpoint") if own else None, mounted=own is not None and own.get("mounted") == "yes",
        unsafe=unsafe, mounted_here=top.source if top else None,
        importing=jail is not None and jail.is_local(I.IMPORT_PROP))


def _iocroot(host: Host, ref: JailRef) -> Path:
    """Where the walk starts: the iocroot when the jail is under it (the admin's, links allowed)."""
    iocroot = Path(host.iocroot)
    return iocroot if ref.path.is_relative_to(iocroot) else Path("/")


def check(host: Host, ref: JailRef) -> None:
    """UnsafeRoot unless REF's root is the mountpoint of its own `…/root` dataset."""
    problem = root_problem(facts(host, ref))
    if problem is not None:
        raise UnsafeRoot(ref.name, problem)
