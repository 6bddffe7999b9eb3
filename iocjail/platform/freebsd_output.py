"""Parsers of what FreeBSD's tools print, in their documented formats, into typed values.

* ``jls --libxo json -d -v``: ``{"__version": "2", "jail-information": {"jail": [{"jid": 1,
  "hostname": …, "path": …, "name": …, "state": "ACTIVE"|"DYING", "cpusetid": 2,
  "ipv4_addrs": [...], "ipv6_addrs": [...]}]}}`` (jls(8), libxo(3)).
* ``netstat -rn --libxo json``: ``statistics.route-information.route-table.rt-family[]``, each
  with ``address-family`` ("Internet", "Internet6") and ``rt-entry[]`` (destination, gateway,
  flags, interface-name).
* ``devfs rule showsets``: one ruleset number per line (devfs(8)).
* ``ifconfig`` (no arguments): per interface a ``NAME: flags=HEX<FLAG,…> metric N mtu N`` line,
  then tab-indented lines (``ether``, ``inet ADDR netmask 0xHEX``, ``inet6 ADDR prefixlen N``,
  ``groups:``, ``description:``, ``member:`` of a bridge). Fields are read by keyword, never by
  position (iocage's ``split()[5]`` breaks on every format change, §9.15).
* ``ifconfig epair create``: the name of the new ``a`` side.
* ``sysctl -i NAME…``: ``name: value`` lines.

Malformed input raises `ToolOutputError` naming the tool, never a KeyError deep in a service.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

from iocjail.errors import IocjailError


class ToolOutputError(IocjailError):
    template = "cannot read the output of {}: {}"


@dataclass(frozen=True)
class JailState:
    jid: int
    name: str  # the kernel name, ioc-NAME for iocjail's jails
    path: str
    hostname: str
    state: str  # ACTIVE or DYING
    cpusetid: int | None
    ip4: tuple[str, ...]
    ip6: tuple[str, ...]

    @property
    def dying(self) -> bool:
        return self.state.upper() == "DYING"


@dataclass(frozen=True)
class Route:
    gateway: str
    iface: str
    flags: str


@dataclass(frozen=True)
class Interface:
    name: str
    flags: tuple[str, ...] = ()
    mtu: int | None = None
    ether: str | None = None
    inet: tuple[tuple[str, int], ...] = ()  # (address, prefix length)
    inet6: tuple[tuple[str, int], ...] = ()  # link-local addresses keep their %scope
    groups: tuple[str, ...] = ()
    description: str | None = None
    members: tuple[str, ...] = ()  # a bridge's member interfaces

    def addresses(self) -> frozenset[str]:
        """Every address on the interface, without masks or scopes."""
        return frozenset([a for a, _ in self.inet] + [a.split("%")[0] for a, _ in self.inet6])


def _json(tool: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as err:
        raise ToolOutputError(tool, f"not JSON ({err})") from None


def _strings(value: Any) -> tuple[str, ...]:
    """libxo leaf lists come out as ``["a", "b"]``; older jls nested them one level deeper."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, dict):
        return tuple(s for v in value.values() for s in _strings(v))
    if isinstance(value, list):
        return tuple(s for v in value for s in _strings(v))
    return (str(value),)


def parse_jls_json(text: str) -> dict[str, JailState]:
    """``jls --libxo json -d -v`` → {kernel name: JailState}."""
    data = _json("jls", text)
    try:
        jails = data["jail-information"]["jail"]
    except (KeyError, TypeError):
        raise ToolOutputError("jls", "no jail-information.jail list") from None
    out: dict[str, JailState] = {}
    for entry in jails:
        try:
            jid = int(entry["jid"])
            name = str(entry.get("name") or jid)
            cpuset = entry.get("cpusetid")
            out[name] = JailState(jid, name, str(entry.get("path", "")), str(entry.get("hostname", "")),
                                  str(entry.get("state", "ACTIVE")), None if cpuset is None else int(cpuset),
                                  _strings(entry.get("ipv4_addrs")), _strings(entry.get("ipv6_addrs")))
        except (KeyError, TypeError, ValueError) as err:
            raise ToolOutputError("jls", f"bad jail entry {entry!r}: {err}") from None
    return out


_FAMILIES = {"Internet": 4, "Internet6": 6}


def parse_netstat_rn_json(text: str) -> dict[int, Route]:
    """``netstat -rn --libxo json`` → {4: Route, 6: Route}: the default route of each family
    that has one (the first listed, as the kernel uses it)."""
    data = _json("netstat", text)
    try:
        families = data["statistics"]["route-information"]["route-table"]["rt-family"]
    except (KeyError, TypeError):
        raise ToolOutputError("netstat", "no statistics.route-information.route-table.rt-family") from None
    if isinstance(families, dict):
        families = [families]
    out: dict[int, Route] = {}
    for family in families:
        number = _FAMILIES.get(str(family.get("address-family", "")))
        if number is None or number in out:
            continue
        for entry in family.get("rt-entry", ()):
            if entry.get("destination") == "default" and entry.get("gateway"):
                out[number] = Route(str(entry["gateway"]), str(entry.get("interface-name", "")),
                                    str(entry.get("flags", "")))
                break
    return out


def parse_devfs_showsets(text: str) -> set[int]:
    """``devfs rule showsets`` → the ruleset numbers."""
    sets: set[int] = set()
    for line in text.split():
        if not line.isdigit():
            raise ToolOutputError("devfs rule showsets", f"{line!r} is not a ruleset number")
        sets.add(int(line))
    return sets


_HEADER_RE = re.compile(r"^([^\s:]+): flags=[0-9a-fA-F]+<([^>]*)>(.*)$")


def parse_ifconfig(text: str) -> dict[str, Interface]:
    """``ifconfig`` → {name: Interface}."""
    found: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for raw in text.splitlines():
        if not raw.strip():
            continue
        if not raw[0].isspace():
            match = _HEADER_RE.match(raw)
            if not match:
                raise ToolOutputError("ifconfig", f"unexpected line {raw!r}")
            name, flags, rest = match.groups()
            words = rest.split()
            mtu = int(words[words.index("mtu") + 1]) if "mtu" in words[:-1] else None
            current = {"name": name, "flags": tuple(f for f in flags.split(",") if f), "mtu": mtu,
                       "inet": [], "inet6": [], "groups": (), "members": []}
            found[name] = current
        elif current is not None:
            _detail(current, raw.strip())
    return {name: Interface(d["name"], d["flags"], d["mtu"], d.get("ether"), tuple(d["inet"]), tuple(d["inet6"]),
                            d["groups"], d.get("description"), tuple(d["members"])) for name, d in found.items()}


def _detail(iface: dict[str, Any], line: str) -> None:
    words = line.split()
    key = words[0]
    try:
        if key == "ether":
            iface["ether"] = words[1].lower()
        elif key == "inet":
            iface["inet"].append((words[1].split("/")[0], _netmask(words)))
        elif key == "inet6":
            length = int(words[words.index("prefixlen") + 1]) if "prefixlen" in words else 128
            iface["inet6"].append((words[1], length))
        elif key == "groups:":
            iface["groups"] = tuple(words[1:])
        elif key == "description:":
            iface["description"] = line[len("description:"):].strip()
        elif key == "member:":
            iface["members"].append(words[1])
    except (IndexError, ValueError):
        raise ToolOutputError("ifconfig", f"cannot read {line!r}") from None


def _netmask(words: list[str]) -> int:
    if "/" in words[1]:  # some releases print inet ADDR/LEN
        return int(words[1].split("/")[1])
    if "netmask" not in words:
        return 32
    mask = words[words.index("netmask") + 1]
    value = int(mask, 16) if mask.startswith("0x") else int(ipaddress.IPv4Address(mask))
    return bin(value).count("1")


def parse_epair_create(text: str) -> str:
    """``ifconfig epair create`` → the pair's base name (``epair3`` for ``epair3a``)."""
    name = text.strip()
    if not re.fullmatch(r"epair[0-9]+a", name):
        raise ToolOutputError("ifconfig epair create", f"expected epairNa, got {name!r}")
    return name[:-1]


def parse_sysctl(text: str) -> dict[str, str]:
    """``sysctl -i NAME…`` → {name: value}; names the kernel lacks are simply absent."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            values[name.strip()] = value.strip()
    return values


def parse_ipfw_rule_numbers(text: str) -> set[int]:
    """``ipfw list`` (``00100 allow ip from any to any via lo0`` lines) → the rule numbers."""
    numbers: set[int] = set()
    for line in text.splitlines():
        word = line.split(maxsplit=1)[0] if line.strip() else ""
        if word.isdigit():
            numbers.add(int(word))
    return numbers


def parse_ipfw_nat_ids(text: str) -> set[int]:
    """``ipfw nat show config`` (``ipfw nat 4620 config if em0 …`` lines) → the NAT instances."""
    ids: set[int] = set()
    for line in text.splitlines():
        words = line.split()
        if "nat" in words[:-1] and words[words.index("nat") + 1].isdigit():
            ids.add(int(words[words.index("nat") + 1]))
    return ids
