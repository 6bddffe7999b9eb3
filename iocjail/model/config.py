"""config.json and defaults.json as data: reading, writing, overlaying, thinning, migrating.

A jail's config.json is *thin*: its identity keys plus what the user set ("you touched it, you
own it": a key once set stays, even when equal to the default, so later changes of `default` do
not reach it). The effective config is defaults.json overlaid by config.json.

Migration (`migrate`) follows iocage's `check_config`/`fix_properties`, decided as follows:

* A config with no CONFIG_VERSION that is not ``CONFIG_TYPE: THICK`` is a modern thin config:
  nothing is filled in (the defaults provide it); only values are fixed.
* A config with an older CONFIG_VERSION (or a THICK one) comes from before thin configs: the keys
  iocage's migration adds are filled in, with the values the defaults give them today, so the
  effective config does not change by migrating. Defaults-only keys (nat_prefix, …) are not copied
  into jails: a copy would shadow the default for good.
* defaults.json gets every missing key of the registry.
* Value fixes: ip4/ip6 ``none`` → ``disable``; booleans → ``0``/``1``; before v26
  defaultrouter(6) ``none`` → ``auto`` (``none`` meant auto then); before v34 host_domainname
  ``none`` → ``''``; in v12/v13 vnet_default_interface ``none`` → ``auto``; plugins get their
  repository and name when missing. CONFIG_VERSION becomes "34". A newer version is left alone.
* Not here (needs the jail's files): ``release`` from ROOT/bin/freebsd-version, plugin names
  from manifests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from iocjail.errors import CorruptConfig
from iocjail.model import properties as P
from iocjail.model import values as V
from iocjail.model.rctl import RCTL_KEYS

PLUGIN_REPOSITORY = "https://github.com/freenas/iocage-ix-plugins.git"

# Keys iocage's check_config adds to a pre-thin config (versions 2 to 32), in its order.
LEGACY_FILL = (
    "sysvmsg", "sysvsem", "sysvshm", "basejail", "comment", "host_time", "depends", "dhcp", "bpf",
    "vnet_interfaces", "hostid_strict_check", "allow_mlock", "vnet_default_interface", "allow_tun",
    "allow_mount_fusefs", "rtsold", "allow_vmm", "ip_hostname", *RCTL_KEYS, "exec_created",
    "assign_localhost", "localhost_ip", "nat", "nat_forwards", "plugin_name", "plugin_repository",
    "min_dyn_devfs_ruleset", "vnet0_mtu", "vnet1_mtu", "vnet2_mtu", "vnet3_mtu", "vnet_default_mtu",
    "allow_mount_fdescfs", "allow_mount_linprocfs", "allow_nfsd", "allow_mount_linsysfs",
)
_BOOLEANS = frozenset(p.name for p in P.PROPS if p.parse is V.boolean)


# -- JSON ------------------------------------------------------------------------------------

def parse_config_json(text: str, path: str) -> dict[str, str]:
    """A config file's object with every value as a string. iocage itself writes booleans as
    JSON numbers (0/1) and a missing hostid as null: those are read as "0"/"1" and "none".
    Anything else that is not a string is corruption, reported with the file and the key."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CorruptConfig(path, f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    if not isinstance(data, dict):
        raise CorruptConfig(path, f"expected a JSON object, found {type(data).__name__}")
    cfg: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, bool):
            cfg[key] = "1" if value else "0"
        elif isinstance(value, int):
            cfg[key] = str(value)
        elif value is None:
            cfg[key] = "none"
        elif isinstance(value, str):
            cfg[key] = value
        else:
            raise CorruptConfig(path, f"{key}: expected a string, found {type(value).__name__}")
    return cfg


def dump_config_json(cfg: Mapping[str, str]) -> str:
    """As iocage writes it: sorted keys, 4-space indent; plus a final newline."""
    for key, value in cfg.items():
        if not isinstance(value, str):
            raise TypeError(f"config value of {key} must be a string, not {type(value).__name__}")
    return json.dumps(dict(cfg), sort_keys=True, indent=4) + "\n"


# -- overlay and thinning --------------------------------------------------------------------

def effective(defaults: Mapping[str, str], jailcfg: Mapping[str, str]) -> dict[str, str]:
    return {**defaults, **jailcfg}


def thin(existing: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    """config.json after ``changes``: existing keys stay, set keys are added or replaced
    (even when equal to the default); a ``None`` value drops the key (back to the default)."""
    out = dict(existing)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return dict(sorted(out.items()))


# -- migration -------------------------------------------------------------------------------

def _version(cfg: Mapping[str, str]) -> int | None:
    raw = cfg.get("CONFIG_VERSION")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return 0  # unreadable: treat as the oldest


def migrate(
    cfg: Mapping[str, str], defaults: Mapping[str, str], *, default: bool | None = None
) -> tuple[dict[str, str], bool]:
    """(migrated config, changed?). ``default`` says whether ``cfg`` is defaults.json; when
    None it is inferred (a jail's config always has host_hostuuid)."""
    is_default = ("host_hostuuid" not in cfg) if default is None else default
    version = _version(cfg)
    current = int(P.CONFIG_VERSION)
    if version is not None and version > current:
        return dict(cfg), False  # written by something newer: do not downgrade it
    thick = cfg.get("CONFIG_TYPE", "THIN").upper() == "THICK"
    # A current config is only value-fixed (iocage runs fix_properties on every load).
    legacy = version != current and (version is not None or thick)
    out = dict(cfg)
    if is_default:
        _fill(out, [p.name for p in P.PROPS if p.default is not None], defaults)
    elif legacy:
        _fill(out, [k for k in LEGACY_FILL if not P.REGISTRY[k].defaults_only], defaults)
    _fix_values(out, version if legacy or is_default else None)
    out["CONFIG_VERSION"] = P.CONFIG_VERSION
    out = dict(sorted(out.items()))
    return out, out != dict(sorted(cfg.items()))


def _fill(out: dict[str, str], keys: list[str], defaults: Mapping[str, str]) -> None:
    for key in keys:
        if key not in out:
            fallback = P.REGISTRY[key].default
            value = defaults.get(key, fallback)
            if value is not None:
                out[key] = value


def _fix_values(out: dict[str, str], version: int | None) -> None:
    """iocage's fix_properties plus the per-version value changes; ``version`` None = thin."""
    for key in ("ip4", "ip6"):
        if out.get(key, "").lower() == "none":
            out[key] = "disable"
    for key in _BOOLEANS & out.keys():
        out[key] = "1" if V.is_true(out[key]) else "0"
    if version is not None and version < 26:
        for key in ("defaultrouter", "defaultrouter6"):
            if out.get(key) == "none":
                out[key] = "auto"
    if version is not None and version < 34 and out.get("host_domainname") == "none":
        out["host_domainname"] = ""
    if version in (12, 13) and out.get("vnet_default_interface") == "none":
        out["vnet_default_interface"] = "auto"
    if out.get("type") in ("plugin", "pluginv2"):
        if out.get("plugin_repository", "none") == "none":
            out["plugin_repository"] = PLUGIN_REPOSITORY
        if out.get("plugin_name", "none") == "none" and out.get("host_hostuuid"):
            # iocage's last resort: the name a plugin jail was created under, minus "_N".
            out["plugin_name"] = out["host_hostuuid"].rsplit("_", 1)[0]
