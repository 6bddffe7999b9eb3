"""Finding jails and templates by name, in one zfs call whatever their number."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from iocjail.errors import JailNotFound, UsageError
from iocjail.site.host import Host

CATEGORIES = ("jails", "templates")


@dataclass(frozen=True)
class JailRef:
    name: str
    category: str  # "jails" or "templates"
    dataset: str  # POOL/iocage/jails/NAME
    path: Path  # its mountpoint: config.json, fstab, root/

    @property
    def is_template(self) -> bool:
        return self.category == "templates"

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"


class AmbiguousName(UsageError):
    template = "{!r} matches several jails: {}; give the full name"


def all_jails(host: Host, *, templates: bool | None = None) -> list[JailRef]:
    """Every jail (templates=False), template (True) or both (None), sorted by name."""
    cats = CATEGORIES if templates is None else (("templates",) if templates else ("jails",))
    parents = [host.dataset(c) for c in cats]
    refs = []
    for ds in host.zfs.list_datasets(parents, ["mountpoint"], depth=1):
        parent, _, name = ds.name.rpartition("/")
        if parent not in parents or not name:
            continue
        category = parent.rsplit("/", 1)[1]
        mountpoint = ds.get("mountpoint") or ""
        path = Path(mountpoint) if mountpoint.startswith("/") else host.path(category, name)
        refs.append(JailRef(name, category, ds.name, path))
    return sorted(refs, key=lambda r: (r.name, r.category))


def resolve(host: Host, name: str, *, prefix: bool = False) -> JailRef:
    """An exact name wins; with `prefix`, a unique prefix is accepted as iocage does.

    Destructive commands pass prefix=False: iocage's prefix matching on destroy is a hazard.
    """
    if not name or "/" in name or name in (".", ".."):
        raise UsageError(f"invalid jail name {name!r}")
    refs = all_jails(host)
    exact = [r for r in refs if r.name == name]
    if exact:
        return exact[0]
    if prefix:
        matches = [r for r in refs if r.name.startswith(name)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise AmbiguousName(name, ", ".join(r.name for r in matches))
    raise JailNotFound(name)
