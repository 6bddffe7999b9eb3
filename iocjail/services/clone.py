"""`clone SRC -n NEW`: a stopped jail's datasets cloned, with fresh support files.

ZFS steps per clone: `snapshot -r jails/SRC@NEW`, then `clone` of jails/SRC@NEW to jails/NEW and
of every filesystem below it (root, and data datasets if any) to the same place under jails/NEW.
Then config.json (the source's, with SRC replaced by NEW where it stands as a name, its own MACs
and start time dropped, the given properties on top), fstab (paths under jails/SRC moved), and
in the root /etc/hosts (SRC replaced) and the `hostname=` of /etc/rc.conf.

Templates are not cloned (iocage: "use create -t"); a running source is refused, since its
files are changing under the snapshot. All-or-nothing over the whole command.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from iocjail.errors import UsageError
from iocjail.model import config as model
from iocjail.model import properties
from iocjail.model import provision as P
from iocjail.model.values import is_true, validate_jail_name
from iocjail.platform import safe_paths
from iocjail.platform.files import atomic_write
from iocjail.site import config
from iocjail.services import provisioning
from iocjail.services.create import Created, uuid4s
from iocjail.site.inventory import Inventory, inventory
from iocjail.site.host import Host
from iocjail.site.jails import JailRef, resolve
from iocjail.services.props import parse_pairs
from iocjail.services.provisioning import Undo, destroy_quietly, rename_back
from iocjail.services.templates import is_template, refuse_running


class CannotCloneTemplate(UsageError):
    template = "{0!r} is a template: templates are not cloned, create jails from it with iocjail create -t {0} -n NAME"


@dataclass(frozen=True)
class _Job:
    host: Host
    inv: Inventory
    src: JailRef
    stored: dict[str, str]
    children: tuple[str, ...]  # filesystems below jails/SRC, relative ("root", "data", ...)
    changes: dict[str, str]
    as_template: bool


def clone(host: Host, source: str, *, name: str | None = None, count: int = 1, uuid: str | None = None,
          props: Sequence[str] = (), fresh_uuid: Iterator[str] | None = None) -> list[Created]:
    pairs = parse_pairs(props)
    names = P.new_names(name, count, uuid, False, fresh_uuid or uuid4s())
    for new in names:
        validate_jail_name(new)
    src = resolve(host, source, prefix=True)
    if src.is_template:
        raise CannotCloneTemplate(src.name)
    with ExitStack() as locks:
        for key in sorted({src.name, *(P.collision_key(n) for n in names)}):
            locks.enter_context(config.lock(host, key))
        refuse_running(host, src.name)
        inv = inventory(host)
        P.check_new_names(names, inv.all_names())
        stored = config.load(host, src).stored
        if is_template(stored):
            raise CannotCloneTemplate(src.name)
        defaults = provisioning.defaults(host)
        first = P.clone_config(stored, src.name, names[0])
        changes = properties.validate_many(pairs, {**defaults, **first}, imply=True)
        as_template = is_true(changes.pop("template", "0"))
        below = host.zfs.list_datasets(src.dataset, recursive=True, types=("filesystem",))
        children = tuple(d.name[len(src.dataset) + 1:] for d in below if d.name != src.dataset)
        job = _Job(host, inv, src, stored, children, changes, as_template)
        with provisioning.transaction() as undo:
            return [_clone_one(job, undo, new) for new in names]


def _clone_one(job: _Job, undo: Undo, new: str) -> Created:
    zfs, src = job.host.zfs, job.src
    snap = f"{src.dataset}@{new}"
    dataset = job.host.dataset("jails", new)
    undo.run(f"snapshot {snap}", lambda: zfs.snapshot(snap, recursive=True),
             destroy_quietly(zfs, snap, recursive=True))
    undo.run(f"clone {dataset}", lambda: zfs.clone(snap, dataset), destroy_quietly(zfs, dataset, recursive=True))
    for child in job.children:  # parents first: zfs lists them that way
        zfs.clone(f"{src.dataset}/{child}@{new}", f"{dataset}/{child}")
    path = job.inv.mountpoint_of(dataset)
    provisioning.require_mounted(path, dataset)
    zfs_part = {k: v for k, v in job.changes.items() if properties.lookup(k).zfs}
    cfg = {**P.clone_config(job.stored, src.name, new), **{k: v for k, v in job.changes.items() if k not in zfs_part}}
    if job.as_template:
        cfg.update(type="template", template="1")
    if zfs_part:
        zfs.set(dataset, zfs_part)
    _fresh_files(job, new, path, dict(sorted(cfg.items())))
    if job.as_template:
        target = job.host.dataset("templates", new)
        undo.run(f"rename {dataset}", lambda: zfs.rename(dataset, target), rename_back(zfs, target, dataset))
        undo.run(f"readonly {target}", lambda: zfs.set(target, {"readonly": "on"}),
                 lambda: zfs.set(target, {"readonly": "off"}))
        return Created(new, target, ("created as a template",))
    return Created(new, dataset)


def _fresh_files(job: _Job, new: str, path: Path, cfg: dict[str, str]) -> None:
    old = job.src.name
    atomic_write(path / "config.json", model.dump_config_json(cfg))
    fstab = path / "fstab"
    if fstab.is_file() and not fstab.is_symlink():
        iocroot = job.inv.iocroot
        atomic_write(fstab, P.fstab_moved(fstab.read_text(), f"{iocroot}/jails/{old}", f"{iocroot}/jails/{new}"))
    root = path / "root"
    if "root" not in job.children or not root.is_dir():
        return
    hosts = safe_paths.read_text(root, "etc/hosts")
    if hosts is not None:
        safe_paths.write_text(root, "etc/hosts", P.replace_word(hosts, old, new))
    rc_conf = safe_paths.read_text(root, "etc/rc.conf")
    rewritten = P.rc_conf_hostname(rc_conf, cfg.get("host_hostname", P.default_hostname(new))) if rc_conf is not None else None
    if rewritten is not None:
        safe_paths.write_text(root, "etc/rc.conf", rewritten)
