"""Network-valued properties: `ip4_addr`, `ip6_addr`, `interfaces`, `localhost_ip`, `nat_prefix`,
`defaultrouter`/`defaultrouter6`.

`ip4_addr`/`ip6_addr` are comma lists of ``[iface|]addr[/mask]``. ``DEFAULT|addr`` is stored as a
bare ``addr`` (iocage does the same). ``DHCP`` / ``iface|DHCP`` is IPv4 only and
``accept_rtadv`` / ``iface|accept_rtadv`` IPv6 only; both need vnet (checked by the registry's
cross-property rules, not here). Masks may be prefix lengths or dotted IPv4 netmasks and are
stored as prefix lengths.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from iocjail.errors import InvalidValue
from iocjail.model.values import interface_name

Kind = Literal["static", "dhcp", "accept_rtadv"]

_VNET_NIC_RE = re.compile(r"^vnet([0-3])$")


@dataclass(frozen=True)
class Addr:
    iface: str | None  # None: no interface given (jail(8) adds no alias; vnet means vnet0)
    address: str | None  # canonical text; None for dhcp / accept_rtadv
    prefixlen: int | None  # None: no mask given (/32 or /128 when an alias is added)
    kind: Kind = "static"

    def __str__(self) -> str:
        if self.kind == "dhcp":
            body = "DHCP"
        elif self.kind == "accept_rtadv":
            body = "accept_rtadv"
        else:
            body = f"{self.address}" + ("" if self.prefixlen is None else f"/{self.prefixlen}")
        return f"{self.iface}|{body}" if self.iface else body


def parse_ip4_addr(value: str) -> tuple[Addr, ...]:
    """`ip4_addr` → its entries; ``()`` for ``none``. Raises ``InvalidValue``."""
    return _parse_list("ip4_addr", value, 4)


def parse_ip6_addr(value: str) -> tuple[Addr, ...]:
    return _parse_list("ip6_addr", value, 6)


def format_addrs(addrs: tuple[Addr, ...]) -> str:
    return ",".join(map(str, addrs)) if addrs else "none"


def ip4_addr(value: str) -> str:
    """Registry parser: the canonical `ip4_addr` string."""
    return format_addrs(parse_ip4_addr(value))


def ip6_addr(value: str) -> str:
    return format_addrs(parse_ip6_addr(value))


def _parse_list(key: str, value: str, family: int) -> tuple[Addr, ...]:
    # iocage strips spaces from IP values before checking them (§2.3.5).
    compact = "".join(value.split())
    if compact.lower() == "none":
        return ()
    if not compact:
        raise InvalidValue(key, value, "empty; use none for no address")
    addrs: list[Addr] = []
    for item in compact.split(","):
        try:
            addr = _parse_item(item, family)
        except ValueError as err:
            raise InvalidValue(key, value, f"{item!r}: {err}") from None
        if addr in addrs:
            raise InvalidValue(key, value, f"{item!r} is listed twice")
        addrs.append(addr)
    return tuple(addrs)


def _parse_item(item: str, family: int) -> Addr:
    iface: str | None = None
    body = item
    if "|" in item:
        iface, body = item.split("|", 1)
        if not iface:
            raise ValueError("the interface before '|' is empty")
        iface = None if iface == "DEFAULT" else interface_name(iface)
    if not body:
        raise ValueError("no address")
    special = body.lower()
    if family == 4 and special == "dhcp":
        return Addr(iface, None, None, "dhcp")
    if family == 6 and special == "accept_rtadv":
        return Addr(iface, None, None, "accept_rtadv")
    address, slash, mask = body.partition("/")
    ip = _parse_ip(address, family)
    prefixlen = _parse_mask(mask, family) if slash else None
    return Addr(iface, str(ip), prefixlen, "static")


def _parse_ip(text: str, family: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv{family} address") from None
    if ip.version != family:
        other = "ip6_addr" if ip.version == 6 else "ip4_addr"
        raise ValueError(f"{text!r} is an IPv{ip.version} address: it belongs in {other}")
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        raise ValueError("a %scope is not allowed in a jail address")
    return ip


def _parse_mask(mask: str, family: int) -> int:
    bits = 32 if family == 4 else 128
    if mask.isdigit() and mask.isascii():
        if int(mask) > bits:
            raise ValueError(f"/{mask}: the prefix length is at most {bits}")
        return int(mask)
    if family == 4:
        try:
            return ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
        except ValueError:
            pass
    raise ValueError(f"/{mask} is not a valid netmask")


# -- interfaces ------------------------------------------------------------------------------

def parse_interfaces(value: str) -> tuple[tuple[str, str | None], ...]:
    """`interfaces`: ``vnet0:bridge0[,vnet1:bridge1]`` → ((nic, bridge or None), ...)."""
    pairs: list[tuple[str, str | None]] = []
    for item in "".join(value.split()).split(","):
        nic, colon, bridge = item.partition(":")
        if not colon or not nic or not bridge:
            raise InvalidValue("interfaces", value, f"{item!r}: expected vnetN:BRIDGE")
        if not _VNET_NIC_RE.match(nic):
            raise InvalidValue("interfaces", value, f"{nic!r}: the jail side must be vnet0 to vnet3")
        if any(nic == seen for seen, _ in pairs):
            raise InvalidValue("interfaces", value, f"{nic} is listed twice")
        if bridge.lower() == "none":
            pairs.append((nic, None))
            continue
        try:
            pairs.append((nic, interface_name(bridge)))
        except ValueError as err:
            raise InvalidValue("interfaces", value, f"{bridge!r}: {err}") from None
    return tuple(pairs)


def interfaces(value: str) -> str:
    return ",".join(f"{nic}:{bridge or 'none'}" for nic, bridge in parse_interfaces(value))


# -- single addresses ------------------------------------------------------------------------

def localhost_ip(value: str) -> str:
    """`localhost_ip`: ``none`` or a host address in 127.0.0.0/8 other than 127.0.0.1."""
    if value.strip().lower() == "none":
        return "none"
    ip = _parse_ip(value.strip(), 4)
    if ip not in ipaddress.IPv4Network("127.0.0.0/8") or str(ip) in ("127.0.0.0", "127.0.0.1",
                                                                     "127.255.255.255"):
        raise ValueError("must be an address in 127.0.0.0/8 other than 127.0.0.1")
    return str(ip)


_RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def nat_prefix(value: str) -> str:
    """`nat_prefix`: ``A.B``, the first half of a private (RFC 1918) /16."""
    parts = value.strip().split(".")
    if len(parts) != 2 or not all(p.isdigit() and p.isascii() and int(p) <= 255 for p in parts):
        raise ValueError("expected A.B, e.g. 172.16")
    network = ipaddress.IPv4Network(f"{int(parts[0])}.{int(parts[1])}.0.0/16")
    if not any(network.subnet_of(private) for private in _RFC1918):
        raise ValueError("must be private: 10.X, 172.16-31 or 192.168")
    return f"{int(parts[0])}.{int(parts[1])}"


def defaultrouter(value: str) -> str:
    """`defaultrouter`: ``auto`` (the host's gateway), ``none`` (no route) or an IPv4 address."""
    word = value.strip().lower()
    if word in ("auto", "none"):
        return word
    return str(_parse_ip(value.strip(), 4))


def defaultrouter6(value: str) -> str:
    """`defaultrouter6`: like `defaultrouter`; a link-local gateway may carry ``%iface``."""
    word = value.strip().lower()
    if word in ("auto", "none"):
        return word
    address, percent, zone = value.strip().partition("%")
    ip = _parse_ip(address, 6)
    if not percent:
        return str(ip)
    if not ip.is_link_local:
        raise ValueError("only a link-local gateway takes a %interface")
    return f"{ip}%{interface_name(zone)}"
