"""`clean`: destroy whole categories of the iocage tree (jails, releases, templates, images, all).

Clones are destroyed before their origins and nothing outside the iocage tree is ever taken
along: a clone elsewhere on the pool that depends on what would go stops the command first.
"""

from __future__ import annotations

from dataclasses import dataclass

from iocjail.errors import IocjailError, UsageError
from iocjail.model.datasets import is_under, plan_destroy
from iocjail.platform.zfs import ACTIVE_PROP
from iocjail.services import half_imports
from iocjail.site.host import Host

# The categories each flag empties. Releases and templates also take the jails and templates
# cloned from them (iocage's "and their jails"); thick jails, which are not clones, stay.
SCOPES = {
    "jails": ("jails",),
    "templates": ("templates",),
    "releases": ("releases", "download"),
    "images": (),
}
DEPENDANTS = ("jails", "templates")


class DependentClones(IocjailError):
    template = "refusing to clean: {} outside the iocage tree depend(s) on it; destroy or promote them first"


@dataclass(frozen=True)
class Cleaned:
    destroyed: tuple[str, ...]  # datasets destroyed (each with its children)
    removed_files: tuple[str, ...]


def clean(host: Host, *, all: bool = False, jails: bool = False, templates: bool = False,
          releases: bool = False, images: bool = False) -> Cleaned:
    if not (all or jails or templates or releases or images):
        raise UsageError("nothing to clean: give -a, -j, -r, -t or -i")
    root = host.iocage_dataset
    fs = host.zfs.list_datasets(host.pool, ["origin"], recursive=True)
    origins = {d.name: d.get("origin") for d in fs}
    present = set(origins)
    if root not in present:
        raise UsageError(f"{root} does not exist: nothing to clean")

    if all:
        units = [root]
    else:
        wanted = {c for flag, on in (("jails", jails), ("templates", templates), ("releases", releases),
                                     ("images", images)) if on for c in SCOPES[flag]}
        # Destroy the children of each category, never the category dataset itself.
        units = [d for d in sorted(present) if _category(root, d) in wanted and d.count("/") == root.count("/") + 2]

    def absorb(name: str) -> str | None:
        if _category(root, name) in DEPENDANTS:
            return "/".join(name.split("/")[: root.count("/") + 3])
        return None

    plan = plan_destroy(units, origins, absorb)
    if plan.blockers:
        raise DependentClones(", ".join(plan.blockers))
    for unit in plan.units:
        host.zfs.destroy(unit, recursive=True)
    for snap in plan.origin_snapshots:
        host.zfs.destroy(snap)
    removed = _remove_images(host) if (images and not all) else []
    if all:
        host.zfs.inherit(host.pool, ACTIVE_PROP)  # the tree is gone: this pool is no longer active
    return Cleaned(plan.units, tuple(removed))


def _category(root: str, name: str) -> str | None:
    """`jails` for ROOT/jails/x/..., None outside ROOT or for ROOT's direct children."""
    if not is_under(name, root) or name.count("/") < root.count("/") + 2:
        return None
    return name.split("/")[root.count("/") + 1]


def _remove_images(host: Host) -> list[str]:
    """Image files live in the images dataset itself (iocage writes them there)."""
    removed = []
    images = host.path("images")
    for entry in sorted(images.iterdir()) if images.is_dir() else []:
        if entry.is_file() and not entry.is_symlink():
            entry.unlink()
            removed.append(entry.name)
    return removed


def half_imports_removed(host: Host) -> list[str]:
    """`clean --runtime`: the datasets of killed imports, destroyed (services/half_imports.py)."""
    return half_imports.clean(host)
