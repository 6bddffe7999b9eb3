"""Rules between properties that are each valid alone (see `properties` for the decisions).

`check_rules` looks at the config as it would be after a change and only at the rules whose keys
the change touches, so an old jail that already breaks a rule can still get unrelated changes.
"""

from __future__ import annotations

from collections.abc import Mapping

from iocjail.errors import InvalidValue, PropertyConflict, UsageError
from iocjail.model import addresses as A
from iocjail.model.values import is_true


def wants_dhcp(cfg: Mapping[str, str]) -> bool:
    """dhcp=1, or a DHCP entry in ip4_addr (iocage looks at both)."""
    return is_true(cfg.get("dhcp")) or _has_kind(cfg, "ip4_addr", "dhcp")


def wants_rtadv(cfg: Mapping[str, str]) -> bool:
    return _has_kind(cfg, "ip6_addr", "accept_rtadv")


def _has_kind(cfg: Mapping[str, str], key: str, kind: str) -> bool:
    parse = A.parse_ip4_addr if key == "ip4_addr" else A.parse_ip6_addr
    try:
        return any(addr.kind == kind for addr in parse(cfg.get(key, "none")))
    except InvalidValue:
        return False  # a broken stored value is reported where it is used, not here


def needs(cfg: Mapping[str, str]) -> dict[str, list[str]]:
    """Keys that must be on for ``cfg`` to start: {"vnet": [reasons], "bpf": [reasons]}."""
    missing: dict[str, list[str]] = {}
    if wants_dhcp(cfg):
        missing.setdefault("bpf", []).append("dhcp")
        missing.setdefault("vnet", []).append("dhcp")
    if is_true(cfg.get("bpf")):
        missing.setdefault("vnet", []).append("bpf")
    if wants_rtadv(cfg):
        missing.setdefault("vnet", []).append("accept_rtadv")
    return {key: why for key, why in missing.items() if not is_true(cfg.get(key))}


_NEED_KEYS = frozenset({"dhcp", "bpf", "vnet", "ip4_addr", "ip6_addr"})


def check_rules(
    base: Mapping[str, str] | None, changes: Mapping[str, str], *, imply: bool = False
) -> tuple[dict[str, str], list[UsageError]]:
    """(changes, errors): ``changes`` grows by the implied keys when ``imply`` is set.
    ``base`` None means the config being changed is unknown: only what the change itself
    decides is checked (e.g. dhcp=1 with vnet=0 in the same command)."""
    known = base is not None
    base = base or {}
    result = dict(changes)
    errors: list[UsageError] = []
    if set(result) & _NEED_KEYS:
        for key, why in sorted(needs({**base, **result}).items()):
            reasons = sorted(set(why))
            if imply and key not in changes:
                result[key] = "1"
                continue
            if not known and key not in changes:
                continue  # the jail may well have it on already
            verb = "needs" if len(reasons) == 1 else "need"
            hint = "" if key in changes else f": set {key}=1 as well"
            errors.append(PropertyConflict(f"{' and '.join(reasons)} {verb} {key}=1{hint}"))
    # After the implied keys: dhcp implying bpf=1 must still clash with nat=1.
    merged = {**base, **result}
    if set(result) & {"nat", "bpf"} and is_true(merged.get("nat")) and is_true(merged.get("bpf")):
        errors.append(PropertyConflict("nat and bpf cannot both be on"))
    return result, errors
