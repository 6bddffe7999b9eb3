"""`get` and `set`: properties of a jail or of the `default` pseudo-jail.

`set` is all-or-nothing: every pair is validated by the registry before anything is written,
and the write is one atomic replace of config.json under the jail's lock. ZFS can still refuse a
value the registry accepts (a reservation larger than the pool, a dedup algorithm the pool lacks):
so the ZFS properties go first, each undone if anything after it fails, and config.json last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from iocjail.errors import UsageError
from iocjail.model import config as model
from iocjail.model import properties
from iocjail.model.sizes import parse_bytes
from iocjail.model.values import is_true
from iocjail.model.zfs_space import Space, apply_order, refusal
from iocjail.site import config
from iocjail.services import templates
from iocjail.site.host import Host
from iocjail.site.jail import with_jail
from iocjail.services.provisioning import Undo, transaction
from iocjail.site.state import Running, running
from iocjail.site.jails import JailRef, all_jails, resolve

DEFAULT = config.DEFAULT
ZFS_PROPS = ("quota", "reservation", "dedup")
UNSET = {"quota": "none", "reservation": "none"}  # not inheritable: "unset" is this value
_SPACE_FACTS = ("used", "available", "quota", "reservation")
ZFS_READONLY = ("origin", "mountpoint", "compressratio", "available", "used")
RUNTIME = ("state", "jid")  # from the runtime (state.running), not stored anywhere


class NotYet(UsageError):
    template = "setting {} is not available yet: {}"


@dataclass(frozen=True)
class Change:
    key: str
    old: str
    new: str


def parse_pairs(pairs: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"expected KEY=VALUE, got {pair!r}")
        out.append((key.strip(), value))
    seen = [k for k, _ in out]
    dupes = sorted({k for k in seen if seen.count(k) > 1})
    if dupes:
        raise UsageError(f"property given more than once: {', '.join(dupes)}")
    return out


def set_props(host: Host, target: str, pairs: Sequence[str]) -> list[Change]:
    wanted = parse_pairs(pairs)
    if target == DEFAULT and any(key == "template" for key, _ in wanted):
        raise UsageError("template is a property of each jail: it cannot be set on default")
    if target == DEFAULT:
        return _set_default(host, wanted)
    with with_jail(host, target) as (ref, current):
        before = current.effective
        canonical = properties.validate_many(wanted, before)
        zfs_part = {k: v for k, v in canonical.items() if k in ZFS_PROPS}
        cfg_part = {k: v for k, v in canonical.items() if k not in ZFS_PROPS}
        changes = [Change(k, _zfs_value(host, ref, k), v) for k, v in zfs_part.items()]
        changes += [Change(k, before.get(k, ""), v) for k, v in cfg_part.items()]
        template = cfg_part.pop("template", None)
        with transaction() as undo:
            _set_zfs(host, ref.dataset, zfs_part, undo)
            if template is not None:  # moves the datasets between jails/ and templates/
                ref = templates.convert(host, ref, current.stored, is_true(template), cfg_part)
            elif cfg_part:
                config.write(host, ref, model.thin(current.stored, cfg_part))
    return changes


def _set_zfs(host: Host, dataset: str, props: Mapping[str, str], undo: Undo) -> None:
    """Set each property; the undo puts back what was there: the old local value, or inheritance.
    A template conversion after this renames the dataset: its properties travel with it, and a
    conversion that fails renames it back before these undos run."""
    if not props:
        return
    parent = dataset.rsplit("/", 1)[0]
    found = {d.name: d for d in host.zfs.list_datasets([dataset, parent], sorted({*props, *_SPACE_FACTS}))}
    before = found[dataset]
    space = Space(*(parse_bytes(before.props.get(k)) or 0 for k in ("used", "quota", "reservation")),
                  parse_bytes(found[parent].props.get("available")) or 0)
    why = refusal(space, props)
    if why:
        raise UsageError(f"{why}: nothing set")
    for key in apply_order(space, props):
        old = before.props.get(key, "")
        host.zfs.set(dataset, {key: props[key]})
        if before.is_local(key) or key in UNSET:
            back = old if before.is_local(key) else UNSET[key]
            undo.add(f"zfs set {key}={back} {dataset}", lambda k=key, v=back: host.zfs.set(dataset, {k: v}))
        else:
            undo.add(f"zfs inherit {key} {dataset}", lambda k=key: host.zfs.inherit(dataset, k))


def _set_default(host: Host, wanted: Sequence[tuple[str, str]]) -> list[Change]:
    zfs_keys = sorted({k for k, _ in wanted} & set(ZFS_PROPS))
    if zfs_keys:
        raise UsageError(f"{', '.join(zfs_keys)} is a ZFS property of each jail, not a default")
    with config.lock(host, DEFAULT):
        current = config.load_defaults(host)
        canonical = properties.validate_many(wanted, current, for_default=True)
        changes = [Change(k, current.get(k, ""), v) for k, v in canonical.items()]
        config.write_defaults(host, {**current, **canonical})
    return changes


def _zfs_value(host: Host, ref: JailRef, key: str) -> str:
    return _zfs_display(key, host.zfs.get(ref.dataset, key))


def _zfs_display(key: str, value: str | None) -> str:
    """iocage shows an unset quota/reservation as `none`; `zfs get -p` says 0."""
    if value is None or (key in ("quota", "reservation") and value == "0"):
        return "none"
    return value


def get_all(host: Host, target: str) -> dict[str, str]:
    """Every property, sorted: defaults overlaid by the jail's own, plus its ZFS properties."""
    if target == DEFAULT:
        return dict(sorted(config.load_defaults(host).items()))
    with with_jail(host, target, lock=False) as (ref, current):
        values = dict(current.effective)
    ds = host.zfs.dataset(ref.dataset, [*ZFS_PROPS, *ZFS_READONLY])
    for key in (*ZFS_PROPS, *ZFS_READONLY):
        values[key] = _zfs_display(key, ds.get(key))
    if values.get("last_started", "none") == "none":
        values["last_started"] = "never"
    values["state"] = _runtime_value(host, ref.name, "state")
    return dict(sorted(values.items()))


def _runtime_value(host: Host, name: str, key: str, live: dict[str, Running] | None = None) -> str:
    """`state` (up/down, or the engine's starting/stopping) or `jid` (`-` when not running)."""
    current = (running(host) if live is None else live).get(name)
    if key == "state":
        return current.state if current else "down"
    return str(current.jid) if current else "-"


def _known(key: str) -> None:
    if key not in ZFS_PROPS + ZFS_READONLY + RUNTIME:
        properties.lookup(key)  # the registry's "unknown property ... did you mean" error


def get(host: Host, target: str, key: str) -> str:
    _known(key)
    if key in RUNTIME and target != DEFAULT:
        return _runtime_value(host, resolve(host, target, prefix=True).name, key)
    values = get_all(host, target)
    return values.get(key, "none")


def get_recursive(host: Host, key: str) -> list[tuple[str, str]]:
    """KEY for every jail and template, sorted by name: one zfs call, then config files."""
    _known(key)
    refs = all_jails(host)
    if key in RUNTIME:
        live = running(host)
        return [(r.name, _runtime_value(host, r.name, key, live)) for r in refs]
    if key in ZFS_PROPS + ZFS_READONLY:
        found = host.zfs.list_datasets([r.dataset for r in refs], [key]) if refs else []
        values = {d.name: _zfs_display(key, d.get(key)) for d in found}
        return [(r.name, values.get(r.dataset, "none")) for r in refs]
    defaults = config.load_defaults(host)
    rows = []
    for ref in refs:
        value = config.load(host, ref, defaults).effective.get(key, "none")
        rows.append((ref.name, "never" if key == "last_started" and value == "none" else value))
    return rows
