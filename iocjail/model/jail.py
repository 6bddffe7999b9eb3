"""A jail's effective config as typed values: what the start plans, `jail_params` and `vnet_plan` read.

`JailSettings.from_effective(cfg)` reads each key once. A key the config lacks takes the
registry's default (model/properties.PROPS), never one restated here; addresses are parsed once
(`ip4`, `ip6`: `Addr` tuples), booleans are iocage's truth (`is_true`), timeouts are seconds or
None for "wait for ever" (jail(8): exec.timeout 0).

Decisions the caller must know:

* The values are the config's own, not re-validated: `param` gives jail_params the canonical
  form (every value through the registry again, so a hand-edited config.json fails with the
  key's name); the typed fields only parse what they need (addresses, interfaces, numbers).
* A hook left empty runs ``/usr/bin/true`` (`hooks`), as iocage's empty exec_* does.
* ``raw`` keeps the whole mapping for the model modules that still read it by key (devfs,
  nat, rctl) and for the ``jail_param_*`` passthroughs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from iocjail.errors import PropertyConflict
from iocjail.model import addresses as A
from iocjail.model import properties as P
from iocjail.model.rctl import RCTL_KEYS
from iocjail.model.values import is_true

HOOKS = ("exec_prestart", "exec_poststart", "exec_prestop", "exec_poststop", "exec_created",
         "exec_start", "exec_stop")
NICS = tuple(f"vnet{i}" for i in range(4))
NO_HOOK = "/usr/bin/true"


def _seconds(value: str) -> float | None:
    seconds = float(value or 0)
    return seconds if seconds > 0 else None  # jail(8): exec.timeout 0 waits for ever


@dataclass(frozen=True)
class JailSettings:
    raw: Mapping[str, str] = field(repr=False)
    hostname: str  # host_hostname; "" when unset (the plans then use the jail's name)
    vnet: bool
    ip4: tuple[A.Addr, ...]
    ip6: tuple[A.Addr, ...]
    ip4_mode: str  # ip4: new, inherit, disable
    ip6_mode: str
    interfaces: tuple[tuple[str, str | None], ...]  # (vnetN, bridge or None)
    vnet_interfaces: tuple[str, ...]  # host NICs moved into the jail
    assign_localhost: bool
    localhost_ip: str  # "none" when not allocated
    exec_fib: str
    exec_clean: bool
    exec_timeout: float | None
    stop_timeout: float
    hooks: Mapping[str, str]  # exec_* → the command ("/usr/bin/true" when empty)
    mount_devfs: bool
    mount_fdescfs: bool
    mount_procfs: bool
    mount_linprocfs: bool
    jail_zfs: bool
    jail_zfs_dataset: str | None  # per-jail; None: the jail's own iocage/jails/NAME/data
    nat: bool
    nat_backend: str
    nat_interface: str
    nat_forwards: str
    cpuset: str
    rctl: bool  # some rctl limit is not off
    resolver: str
    host_time: bool
    dhcp: bool
    bpf: bool
    rtsold: bool
    defaultrouter: str
    defaultrouter6: str
    vnet_default_interface: str
    vnet_default_mtu: int
    mtus: Mapping[str, str]  # vnetN → vnetN_mtu ("auto" or a number)
    macs: Mapping[str, str]  # vnetN → vnetN_mac ("none" or "MAC_A MAC_B")
    mac_prefix: str | None

    @classmethod
    def from_effective(cls, cfg: Mapping[str, str]) -> JailSettings:
        def get(key: str) -> str:
            value = cfg.get(key)
            return value if value is not None else (P.REGISTRY[key].default or "")

        def flag(key: str) -> bool:
            return is_true(get(key))

        return cls(
            raw=cfg, hostname=cfg.get("host_hostname") or "", vnet=flag("vnet"),
            ip4=A.parse_ip4_addr(get("ip4_addr")), ip6=A.parse_ip6_addr(get("ip6_addr")),
            ip4_mode=get("ip4"), ip6_mode=get("ip6"),
            interfaces=A.parse_interfaces(get("interfaces")),
            vnet_interfaces=tuple(n for n in get("vnet_interfaces").replace(",", " ").split() if n != "none"),
            assign_localhost=flag("assign_localhost"), localhost_ip=get("localhost_ip"),
            exec_fib=get("exec_fib"), exec_clean=flag("exec_clean"),
            exec_timeout=_seconds(get("exec_timeout")), stop_timeout=float(get("stop_timeout") or 30),
            hooks={key: cfg.get(key) or NO_HOOK for key in HOOKS},
            mount_devfs=flag("mount_devfs"), mount_fdescfs=flag("mount_fdescfs"),
            mount_procfs=flag("mount_procfs"), mount_linprocfs=flag("mount_linprocfs"),
            jail_zfs=flag("jail_zfs"), jail_zfs_dataset=cfg.get("jail_zfs_dataset"),
            nat=flag("nat"), nat_backend=get("nat_backend"), nat_interface=get("nat_interface"),
            nat_forwards=get("nat_forwards"), cpuset=get("cpuset"),
            rctl=any(get(key) != "off" for key in RCTL_KEYS),
            resolver=get("resolver"), host_time=flag("host_time"), dhcp=flag("dhcp"), bpf=flag("bpf"),
            rtsold=flag("rtsold"), defaultrouter=get("defaultrouter"), defaultrouter6=get("defaultrouter6"),
            vnet_default_interface=get("vnet_default_interface"),
            vnet_default_mtu=int(get("vnet_default_mtu")),
            mtus={nic: get(f"{nic}_mtu") for nic in NICS}, macs={nic: get(f"{nic}_mac") for nic in NICS},
            mac_prefix=cfg.get("mac_prefix"))

    def param(self, key: str) -> str:
        """``key``'s canonical value (the registry's default when unset), as jail(8) gets it."""
        value = self.raw.get(key)
        if value is None:
            value = P.REGISTRY[key].default
        if value is None:
            raise PropertyConflict(f"{key} is not set")
        return P.canonical(key, value)

    def datasets(self, name: str) -> tuple[str, ...]:
        """The jail_zfs datasets, relative to the pool."""
        value = self.jail_zfs_dataset
        return tuple((f"iocage/jails/{name}/data" if value is None else value).split())

    def shared_ip4(self) -> tuple[A.Addr, ...]:
        """ip4 of a jail without vnet: with assign_localhost, ``lo0|localhost_ip`` as well (the
        alias jail(8) or the plan adds and removes with the others)."""
        if not self.assign_localhost:
            return self.ip4
        if self.localhost_ip == "none":
            raise PropertyConflict("assign_localhost is on but no localhost_ip was allocated")
        return (*self.ip4, A.Addr("lo0", self.localhost_ip, None))
