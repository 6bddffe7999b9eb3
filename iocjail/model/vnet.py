"""A jail's network as data: vnet NICs (names, MACs, MTU, addresses, routes) and the shared-IP
aliases of a jail without vnet. Pure: host facts come in as plain values.

vnet, per ``interfaces`` pair ``vnetN:BRIDGE`` (reference §2.5 step 13): an epair whose host side
is renamed ``vnetN.JID`` (MTU, MAC ``mac_a``, a description naming the jail) and joins BRIDGE
(created if missing, with ``vnet_default_interface`` as its first member); the jail side is moved
into the jail, renamed ``epairNb`` there and given ``mac_b``. MACs are iocage's: ``mac_prefix``
followed by the start of md5(name with ``.``→``_`` + nic), ``mac_b = mac_a + 1``; they are
generated once and stored as ``vnetN_mac = "mac_a mac_b"``. With ``nat`` the host side of vnet0 is
the jail's gateway (``defaultrouter``) on a /30 instead of joining a bridge.

Without vnet, addresses are aliases on host NICs. An address with no ``iface|`` goes on the
interface of the host's default route — unless the host already has that address on a NIC
(iocage's ``check_aliases``; vnet/bridge/epair/pflog NICs do not count). An alias the host
already had is neither added nor removed by the jail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from iocjail.errors import PropertyConflict
from iocjail.model import addresses as A
from iocjail.model.jail import JailSettings

IGNORED_HOST_NICS = ("vnet", "bridge", "epair", "pflog")  # prefixes iocage skips in check_aliases


# -- MAC addresses ---------------------------------------------------------------------------

def generate_mac_pair(prefix: str, name: str, nic: str) -> tuple[str, str]:
    """iocage's MAC pair for ``nic`` of jail ``name``: 12 lowercase hex digits each."""
    digest = hashlib.md5((name.replace(".", "_") + nic).encode("utf-8")).hexdigest()  # noqa: S324 - not security
    mac_a = prefix.lower() + digest[:12 - len(prefix)]
    mac_b = f"{int(mac_a, 16) + 1:012x}"
    return mac_a, mac_b


def colon_mac(mac: str) -> str:
    """``02ab…`` or ``02:ab:…`` → ``02:ab:cd:ef:01:23``, the form ifconfig(8) ``link`` documents."""
    digits = mac.replace(":", "").lower()
    if len(digits) != 12:
        raise ValueError(f"{mac!r} is not a MAC address")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def nic_macs(name: str, cfg: Mapping[str, str], nic: str) -> tuple[str, str, str | None]:
    """(mac_a, mac_b, value to store or None): the stored ``vnetN_mac`` or a new iocage pair."""
    stored = cfg.get(f"{nic}_mac", "none")
    if stored and stored != "none":
        macs = stored.replace(",", " ").split()
        if len(macs) != 2:
            raise PropertyConflict(f"{nic}_mac must hold two MAC addresses, not {stored!r}")
        return colon_mac(macs[0]), colon_mac(macs[1]), None
    prefix = cfg.get("mac_prefix")
    if not prefix or prefix == "none":
        raise PropertyConflict(f"mac_prefix is not set: cannot generate a MAC for {nic}")
    mac_a, mac_b = generate_mac_pair(prefix, name, nic)
    return colon_mac(mac_a), colon_mac(mac_b), f"{mac_a} {mac_b}"


# -- vnet NICs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class VnetNic:
    nic: str  # vnet0
    bridge: str | None  # None: not bridged (interfaces vnetN:none, or vnet0 with nat)
    host_if: str  # vnet0.JID
    jail_if: str  # epair0b
    mac_a: str
    mac_b: str
    mtu: int
    description: str
    create_bridge: bool = False  # the bridge does not exist yet
    bridge_adds: tuple[str, ...] = ()  # host NICs to add to the bridge first (vnet_default_interface)
    nat_gateway: str | None = None  # with nat: the host side's address (GW/30)
    ip4: tuple[str, ...] = ()  # addresses inside, "addr[/len]"
    ip6: tuple[str, ...] = ()
    dhcp: bool = False
    accept_rtadv: bool = False


@dataclass(frozen=True)
class VnetPlan:
    nics: tuple[VnetNic, ...]
    other_ip4: tuple[tuple[str, str], ...] = ()  # (iface inside, addr) for lo0 / vnet_interfaces NICs
    other_ip6: tuple[tuple[str, str], ...] = ()
    gateway4: str | None = None  # default routes inside, already resolved
    gateway6: str | None = None
    save: Mapping[str, str] = field(default_factory=dict)  # vnetN_mac values generated now


@dataclass(frozen=True)
class HostNet:
    """Host facts the vnet plan needs (from ifconfig and netstat -rn)."""

    mtus: Mapping[str, int] = field(default_factory=dict)  # interface → MTU
    bridge_members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # existing bridges
    default_iface: str | None = None  # interface of the IPv4 default route
    gateway4: str | None = None  # the host's default gateways (on the jail's exec_fib)
    gateway6: str | None = None


def jail_side(nic: str) -> str:
    return f"epair{nic[len('vnet'):]}b"


def vnet_plan(name: str, settings: JailSettings, jid: int, host: HostNet) -> VnetPlan:
    """Every vnet NIC of jail ``name`` with the JID it gets; raises on unusable settings."""
    s = settings
    pairs, ip4, ip6, nat = s.interfaces, s.ip4, s.ip6, s.nat
    nics_known = {nic for nic, _ in pairs}
    others = set(s.vnet_interfaces) | {"lo0"}
    for addr in (*ip4, *ip6):
        iface = addr.iface or "vnet0"
        if iface not in nics_known and iface not in others:
            raise PropertyConflict(f"{addr}: {iface} is not one of the jail's interfaces ({s.raw.get('interfaces')})")
    if (s.dhcp or any(a.kind == "dhcp" for a in ip4)) and not s.bpf:
        raise PropertyConflict("DHCP needs bpf=1 (the DHCP client reads /dev/bpf)")
    default_if = _default_interface(s.vnet_default_interface, host)
    nics: list[VnetNic] = []
    save: dict[str, str] = {}
    for nic, bridge in pairs:
        if nat and nic == "vnet0":
            bridge = None
        mac_a, mac_b, new = nic_macs(name, s.raw, nic)
        if new is not None:
            save[f"{nic}_mac"] = new
        mine4 = [a for a in ip4 if (a.iface or "vnet0") == nic]
        mine6 = [a for a in ip6 if (a.iface or "vnet0") == nic]
        dhcp = s.dhcp or any(a.kind == "dhcp" for a in mine4)
        create = bridge is not None and bridge not in host.bridge_members
        members = () if bridge is None else host.bridge_members.get(bridge, ())
        adds = (default_if,) if bridge is not None and default_if and default_if not in members else ()
        nics.append(VnetNic(
            nic=nic, bridge=bridge, host_if=f"{nic}.{jid}", jail_if=jail_side(nic), mac_a=mac_a, mac_b=mac_b,
            mtu=_mtu(s, nic, bridge, (*members, *adds), host),
            description=f"associated with jail: {name} as nic: {jail_side(nic)}",
            create_bridge=create, bridge_adds=adds,
            nat_gateway=s.raw.get("defaultrouter") if nat and nic == "vnet0" else None,
            ip4=() if dhcp else tuple(_text(a) for a in mine4 if a.kind == "static"),
            ip6=tuple(_text(a) for a in mine6 if a.kind == "static"),
            dhcp=dhcp, accept_rtadv=any(a.kind == "accept_rtadv" for a in mine6)))
    inside4 = tuple((a.iface or "", _text(a)) for a in ip4 if a.iface in others and a.kind == "static")
    inside6 = tuple((a.iface or "", _text(a)) for a in ip6 if a.iface in others and a.kind == "static")
    uses_dhcp = any(n.dhcp for n in nics)
    uses_rtadv = any(n.accept_rtadv for n in nics)
    has4 = any(n.ip4 for n in nics) or bool(inside4)
    has6 = any(n.ip6 for n in nics) or bool(inside6)
    gw4 = _gateway(s.defaultrouter, host.gateway4) if has4 and not uses_dhcp else None
    gw6 = _gateway(s.defaultrouter6, host.gateway6) if has6 and not uses_rtadv else None
    if gw6 and "%" in gw6:  # a link-local gateway names the NIC as the jail sees it
        address, _, zone = gw6.partition("%")
        gw6 = f"{address}%{jail_side(zone) if zone.startswith('vnet') else zone}"
    return VnetPlan(tuple(nics), inside4, inside6, gw4, gw6, save)


def _default_interface(value: str, host: HostNet) -> str | None:
    if value == "none":
        return None
    if value == "auto":
        if host.default_iface is None:
            raise PropertyConflict("vnet_default_interface=auto but the host has no default route")
        return host.default_iface
    if value not in host.mtus:
        raise PropertyConflict(f"vnet_default_interface {value!r} is not an interface of this host")
    return value


def _mtu(s: JailSettings, nic: str, bridge: str | None, members: tuple[str, ...], host: HostNet) -> int:
    value = s.mtus.get(nic, "auto")
    if value != "auto":
        return int(value)
    if bridge is not None and not s.nat and members and members[0] in host.mtus:
        return host.mtus[members[0]]  # the bridge's first member: a smaller MTU would fragment
    return s.vnet_default_mtu


def _gateway(value: str, host_gateway: str | None) -> str | None:
    if value == "none":
        return None
    if value == "auto":
        return host_gateway  # no default route on the host: none inside either
    return value


def _text(addr: A.Addr) -> str:
    return f"{addr.address}" + ("" if addr.prefixlen is None else f"/{addr.prefixlen}")


# -- shared-IP aliases -----------------------------------------------------------------------

@dataclass(frozen=True)
class Alias:
    iface: str
    family: int  # 4 or 6
    address: str
    prefixlen: int  # /32 or /128 when ip4_addr gave no mask, as jail(8) does


def place_bare_addresses(addrs: tuple[A.Addr, ...], default_iface: str | None,
                         host_addresses: Mapping[str, frozenset[str]]) -> tuple[A.Addr, ...]:
    """Bare entries get the default-route interface, unless a host NIC already has the address
    (then the jail just uses it: no alias to add or remove)."""
    on_host = {address for iface, found in host_addresses.items()
               if not iface.startswith(IGNORED_HOST_NICS) for address in found}
    placed = []
    for addr in addrs:
        if addr.iface is None and addr.kind == "static" and default_iface and addr.address not in on_host:
            addr = A.Addr(default_iface, addr.address, addr.prefixlen, addr.kind)
        placed.append(addr)
    return tuple(placed)


def aliases_to_add(addrs: tuple[A.Addr, ...], family: int,
                   host_addresses: Mapping[str, frozenset[str]]) -> tuple[Alias, ...]:
    """The aliases a start adds (and its stop removes): entries naming an interface, minus those
    the interface already has (another jail's or the admin's, which stay theirs)."""
    out: list[Alias] = []
    for addr in addrs:
        if addr.iface is None or addr.address is None or addr.kind != "static":
            continue
        if addr.address in host_addresses.get(addr.iface, frozenset()):
            continue
        length = addr.prefixlen if addr.prefixlen is not None else (32 if family == 4 else 128)
        alias = Alias(addr.iface, family, addr.address, length)
        if alias not in out:
            out.append(alias)
    return tuple(out)
