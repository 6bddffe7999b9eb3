"""`rename OLD NEW`: a stopped jail (or template) and everything that names it.

Steps, each undone if a later one fails (the user sees the old jail or the new one, never half):

1. the origin snapshots named after the jail: `releases/REL/root@OLD` -> `@NEW`, and for jails
   made from a template or by `clone`, `templates/T@OLD` / `jails/SRC@OLD` (with -r: their
   root snapshots go along);
2. the dataset `jails/OLD` -> `jails/NEW` (templates: `templates/…`);
3. config.json: host_hostuuid, host_hostname if it was OLD's default, jail_zfs_dataset;
4. fstab: paths under the jail's directory;
5. a template's dependants: `source_template`, and the nullfs sources of basejails made from it;
6. log/OLD-console.log -> log/NEW-console.log.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from iocjail.errors import CorruptConfig, UsageError
from iocjail.model import config as model
from iocjail.model import provision as P
from iocjail.model.values import validate_jail_name
from iocjail.platform.files import atomic_write
from iocjail.platform.zfs import TYPES, Zfs
from iocjail.site import config
from iocjail.services import provisioning
from iocjail.site.inventory import Inventory, inventory
from iocjail.site.host import Host
from iocjail.site.jails import JailRef, resolve
from iocjail.services.provisioning import Undo, rename_back
from iocjail.services.templates import refuse_running


@dataclass(frozen=True)
class Renamed:
    old: str
    new: str
    dataset: str


def rename(host: Host, old: str, new: str) -> Renamed:
    validate_jail_name(new)
    ref = resolve(host, old)
    if new == ref.name:
        raise UsageError(f"{old!r} is already called {new!r}")
    with ExitStack() as locks:
        for key in sorted({ref.name, P.collision_key(new)}):
            locks.enter_context(config.lock(host, key))
        refuse_running(host, ref.name)
        inv = inventory(host)
        P.check_new_names([new], [n for n in inv.all_names() if n != ref.name])
        tree = host.zfs.list_datasets(host.iocage_dataset, ["origin"], recursive=True, types=TYPES)
        snapshots = {d.name for d in tree if d.is_snapshot}
        origins = {d.name: d.get("origin") for d in tree if not d.is_snapshot}
        moves = origin_moves(host, ref, new, origins, snapshots)
        stored = config.load(host, ref).stored
        dataset = host.dataset(ref.category, new)
        target = JailRef(new, ref.category, dataset, inv.mountpoint_of(dataset))
        with provisioning.transaction() as undo:
            for snap, to, recursive in moves:
                _rename(host.zfs, undo, snap, to, recursive=recursive)
            _rename(host.zfs, undo, ref.dataset, target.dataset)
            with _writable(host.zfs, undo, target):
                _rewrite(undo, target.config_path,
                         lambda _: model.dump_config_json(P.renamed_config(stored, ref.name, new)))
                old_dir, new_dir = f"{inv.iocroot}/{ref.category}/{ref.name}", f"{inv.iocroot}/{ref.category}/{new}"
                _rewrite(undo, target.path / "fstab", lambda text: P.fstab_moved(text, old_dir, new_dir))
            if ref.is_template:
                _update_dependants(host, inv, undo, ref.name, new)
            _move_log(host, undo, ref.name, new)
    return Renamed(ref.name, new, dataset)


def origin_moves(host: Host, ref: JailRef, new: str, origins: dict[str, str | None],
                 snapshots: set[str]) -> list[tuple[str, str, bool]]:
    """(snapshot, new name, recursive) for the origins named after the jail."""
    old = ref.name
    recursive: set[str] = set()
    single: set[str] = set()
    for name, origin in origins.items():
        if not (name == ref.dataset or name.startswith(ref.dataset + "/")) or not origin or "@" not in origin:
            continue
        origin_ds, snap = origin.split("@", 1)
        if snap != old:
            continue
        parent = origin_ds.rsplit("/", 1)[0]
        if origin_ds.endswith("/root") and f"{parent}@{old}" in snapshots and _is_jail_unit(host, parent):
            recursive.add(parent)
        else:
            single.add(origin_ds)
    single = {d for d in single if not any(d == p or d.startswith(p + "/") for p in recursive)}
    moves = [(f"{p}@{old}", f"{p}@{new}", True) for p in sorted(recursive)]
    return moves + [(f"{d}@{old}", f"{d}@{new}", False) for d in sorted(single)]


def _is_jail_unit(host: Host, dataset: str) -> bool:
    parent = dataset.rsplit("/", 1)[0]
    return parent in (host.dataset("jails"), host.dataset("templates"))


def _rename(zfs: Zfs, undo: Undo, old: str, new: str, *, recursive: bool = False) -> None:
    undo.run(f"rename {old}", lambda: zfs.rename(old, new, recursive=recursive),
             rename_back(zfs, new, old, recursive=recursive))


class _writable:
    """Templates are readonly: lift it around our writes (undone with the rest on failure)."""

    def __init__(self, zfs: Zfs, undo: Undo, ref: JailRef) -> None:
        self.zfs, self.undo, self.ref = zfs, undo, ref

    def __enter__(self) -> None:
        if self.ref.is_template:
            self.undo.run(f"readonly {self.ref.dataset}", lambda: self.zfs.set(self.ref.dataset, {"readonly": "off"}),
                          lambda: self.zfs.set(self.ref.dataset, {"readonly": "on"}))

    def __exit__(self, *exc: object) -> None:
        if self.ref.is_template and exc[0] is None:  # journaled: a later undo may need to write
            self.undo.run(f"readonly {self.ref.dataset}", lambda: self.zfs.set(self.ref.dataset, {"readonly": "on"}),
                          lambda: self.zfs.set(self.ref.dataset, {"readonly": "off"}))


def _rewrite(undo: Undo, path: Path, change: Callable[[str], str]) -> None:
    """Replace a file's text by change(text), restoring the old bytes on undo."""
    if not path.is_file() or path.is_symlink():
        return
    before = path.read_bytes()
    after = change(before.decode(errors="replace"))
    if after.encode() == before:
        return
    undo.add(f"restore {path}", lambda: atomic_write(path, before))
    atomic_write(path, after)


def _update_dependants(host: Host, inv: Inventory, undo: Undo, old: str, new: str) -> None:
    """Jails (and templates) made from template OLD name it in source_template and, for
    basejails, in their fstab's nullfs sources."""
    old_dir, new_dir = f"{inv.iocroot}/templates/{old}", f"{inv.iocroot}/templates/{new}"
    for category in ("jails", "templates"):
        for name in inv.names(category):
            if category == "templates" and name == old:
                continue  # the template itself, already moved
            dataset = host.dataset(category, name)
            ref = JailRef(name, category, dataset, inv.mountpoint_of(dataset))
            try:
                stored = model.parse_config_json(ref.config_path.read_text(), str(ref.config_path))
            except (OSError, CorruptConfig):
                continue  # not ours to judge here; `get`/`list` report it
            if stored.get("source_template") != old:
                continue
            with _writable(host.zfs, undo, ref):
                cfg = model.thin(stored, {"source_template": new})
                _rewrite(undo, ref.config_path, lambda _: model.dump_config_json(cfg))
                _rewrite(undo, ref.path / "fstab", lambda text: P.fstab_moved(text, old_dir, new_dir))


def _move_log(host: Host, undo: Undo, old: str, new: str) -> None:
    log_dir = host.path("log")
    src, dst = log_dir / f"{old}-console.log", log_dir / f"{new}-console.log"
    if src.is_file() and not src.is_symlink() and not dst.exists():
        def back() -> None:
            if dst.exists() and not src.exists():
                dst.rename(src)

        undo.run(f"rename {src}", lambda: src.rename(dst), back)
