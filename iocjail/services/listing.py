"""`list`: every jail (or template) with a constant number of processes, whatever their number.

One batched zfs query names the jails (and, for `-l`, the origin of each `NAME/root`), one
directory read of the runtime state says which run, and each config.json is read directly:
no process per jail (iocage runs several per jail, §9.1-3 of the reference). `-q` reads only the
config files. A config.json that cannot be read makes its jail CORRUPT, never the command fail.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from iocjail.errors import CorruptConfig, UsageError
from iocjail.model import config as model
from iocjail.model import properties
from iocjail.model.imported import IMPORT_PROP
from iocjail.model.values import is_true
from iocjail.site import config, state
from iocjail.site.host import Host

SHORT_SORT = ("jid", "name", "state", "release", "ip4")
LONG_SORT = (*SHORT_SORT, "boot", "type", "ip6", "template")
QUICK_SORT = ("name", "ip4")
NA = "N/A"


@dataclass(frozen=True)
class JailRow:
    """One line of `list`; None means "none" (shown `-`), CORRUPT rows have None everywhere."""

    name: str
    jid: int | None
    state: str  # up, down, CORRUPT (or the engine's starting/stopping)
    release: str | None
    ip4: str | None  # short: addresses only
    ip6: str | None = None
    ip4_addr: str | None = None  # as configured (`iface|addr/mask,…`), for -l
    boot: bool | None = None
    type: str | None = None
    template: str | None = None
    basejail: bool | None = None

    @property
    def corrupt(self) -> bool:
        return self.state == "CORRUPT"


@dataclass(frozen=True)
class QuickRow:
    name: str
    ip4: str | None


def check_sort(column: str, allowed: tuple[str, ...]) -> str:
    key = column.lower()
    if key not in allowed:
        raise UsageError(f"cannot sort by {column!r}: choose one of {', '.join(allowed)}")
    return key


def jails(host: Host, *, templates: bool = False, basejails: bool = False, long: bool = False,
          sort: str = "name") -> list[JailRow]:
    key = check_sort(sort, LONG_SORT if long else SHORT_SORT)
    category = "templates" if templates else "jails"
    parent = host.dataset(category)
    props = ["mountpoint", IMPORT_PROP, "origin"] if long else ["mountpoint", IMPORT_PROP]
    found = host.zfs.list_datasets(parent, props, depth=2 if long else 1)
    origins = {d.name: d.get("origin") for d in found}
    running = {} if templates else state.running(host)
    defaults: dict[str, str] | None = None
    rows = []
    for ds in found:
        name = _child_name(parent, ds.name)
        if name is None or ds.is_local(IMPORT_PROP):  # an import in progress, or one killed: no jail yet
            continue
        if defaults is None:
            defaults = _defaults(host)
        mountpoint = ds.get("mountpoint") or ""
        path = Path(mountpoint) if mountpoint.startswith("/") else host.path(category, name)
        cfg = _read_config(path / "config.json", defaults)
        live = running.get(name)
        row = _row(name, cfg, live.jid if live else None, live.state if live else "down",
                   origins.get(f"{ds.name}/root"), host.dataset("templates"))
        if basejails and not row.basejail:
            continue
        rows.append(row)
    return sorted(rows, key=_sort_key(key))


def quick(host: Host, *, templates: bool = False, basejails: bool = False, sort: str = "name") -> list[QuickRow]:
    """`-q`: names and IPv4 from the config files alone (the directories of the category)."""
    key = check_sort(sort, QUICK_SORT)
    directory = host.path("templates" if templates else "jails")
    rows = []
    for entry in sorted(directory.iterdir()) if directory.is_dir() else []:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        cfg = _read_config(entry / "config.json", None)
        if basejails and not (cfg and is_true(cfg.get("basejail"))):
            continue
        rows.append(QuickRow(entry.name, short_ip4(cfg) if cfg is not None else NA))
    return sorted(rows, key=lambda r: (_natural(getattr(r, key)), r.name))


def _child_name(parent: str, name: str) -> str | None:
    rest = name[len(parent) + 1:] if name.startswith(parent + "/") else ""
    return rest if rest and "/" not in rest else None


def _defaults(host: Host) -> dict[str, str]:
    """defaults.json under the registry's defaults; a broken one must not hide every jail."""
    try:
        stored = config.load_defaults(host)
    except (CorruptConfig, OSError):
        stored = {}
    return {**properties.default_config(), **stored}


def _read_config(path: Path, defaults: Mapping[str, str] | None) -> dict[str, str] | None:
    """The effective config (migrated in memory, never written by a read-only command); None
    when the file is missing or unreadable."""
    try:
        cfg = model.parse_config_json(path.read_text(), str(path))
    except (CorruptConfig, OSError, UnicodeDecodeError):
        return None
    if defaults is None:
        return cfg
    if cfg.get("CONFIG_VERSION") != properties.CONFIG_VERSION:
        cfg, _ = model.migrate(cfg, defaults, default=False)
    return model.effective(defaults, cfg)


def _row(name: str, cfg: dict[str, str] | None, jid: int | None, run_state: str, root_origin: str | None,
         templates_parent: str) -> JailRow:
    if cfg is None:
        return JailRow(name, jid, "CORRUPT", None, None)
    return JailRow(
        name=name, jid=jid, state=run_state, release=_none(cfg.get("release")), ip4=short_ip4(cfg),
        ip6=_none(cfg.get("ip6_addr")), ip4_addr=_none(cfg.get("ip4_addr")) or short_ip4(cfg), boot=is_true(cfg.get("boot")), type=cfg.get("type", "jail"),
        template=_template_of(root_origin, templates_parent), basejail=is_true(cfg.get("basejail")))


def _none(value: str | None) -> str | None:
    return None if value in (None, "", "none", "-") else value


def _template_of(origin: str | None, templates_parent: str) -> str | None:
    """`T` for a root cloned from `templates/T/root@…`; None for a release origin or no origin."""
    if not origin or not origin.startswith(templates_parent + "/"):
        return None
    return origin[len(templates_parent) + 1:].split("/", 1)[0].split("@", 1)[0]


# -- display forms (iocage's column rules) -------------------------------------------------------

def short_release(release: str | None) -> str | None:
    """iocage's short list drops the patch level: 13.2-RELEASE-p4 -> 13.2-RELEASE."""
    if release is None:
        return None
    head, _, tail = release.rpartition("-p")
    return head if head and tail.isdigit() else release


def short_ip4(cfg: Mapping[str, str]) -> str | None:
    """Addresses without `iface|` and `/mask`, comma-separated; DHCP jails show DHCP."""
    value = cfg.get("ip4_addr", "none")
    if is_true(cfg.get("dhcp")) and value in ("none", ""):
        return "DHCP"
    if value in ("none", ""):
        return None
    addrs = []
    for item in value.split(","):
        addr = item.strip().split("|", 1)[-1].split("/", 1)[0]
        addrs.append("DHCP" if addr.upper() == "DHCP" else addr)
    return ",".join(dict.fromkeys(addrs))


def display_name(name: str, long: bool) -> str:
    """A UUID name is cut to its first 8 characters in the short list, as iocage does."""
    if long or len(name) != 36:
        return name
    try:
        uuid.UUID(name)
    except ValueError:
        return name
    return name[:8]


def display(row: JailRow, long: bool) -> JailRow:
    """The row as the table shows it: short name and release, N/A for a CORRUPT jail."""
    if row.corrupt:
        return replace(row, name=display_name(row.name, long), release=NA, ip4=NA, ip6=NA, type=NA,
                       template=NA)
    if long:
        return replace(row, ip4=row.ip4_addr)
    return replace(row, name=display_name(row.name, False), release=short_release(row.release))


def to_json(row: JailRow, long: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"jid": row.jid, "name": row.name, "state": row.state,
                           "release": row.release if long else short_release(row.release),
                           "ip4": row.ip4_addr if long else row.ip4}
    if long:
        out.update(boot=row.boot, type=row.type, ip6=row.ip6, template=row.template, basejail=row.basejail)
    return out


# -- sorting -------------------------------------------------------------------------------------

_DIGITS = re.compile(r"(\d+)")


def _natural(value: object) -> tuple[Any, ...]:
    """None last; numbers inside strings compare as numbers (9.3 < 11.2, 10.0.0.9 < 10.0.0.10)."""
    if value is None or value == NA:
        return (1,)
    if isinstance(value, (bool, int)):
        return (0, int(value))
    parts = _DIGITS.split(str(value))
    return (0, *[(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts])


def _sort_key(key: str) -> Callable[[JailRow], tuple[Any, ...]]:
    return lambda row: (_natural(getattr(row, key)), row.name)
