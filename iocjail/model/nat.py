"""NAT for jails (`nat`, `nat_forwards`, `nat_backend`): the jail's private address and the
firewall rules that translate it, scoped so that a jail's stop removes only its own rules.

Addresses: the first ``{nat_prefix}.I.J/30`` block none of whose addresses the host or a running
jail uses; the first host address is the jail's gateway (the host side of vnet0), the second the
jail's address (iocage's ``gen_nat_ip``). The caller passes what is in use; nothing is probed.

pf: each jail's rules live in their own anchor ``iocjail/NAME``, loaded with ``pfctl -a`` and
flushed at stop. iocage instead rewrites the whole main ruleset. The main pf.conf must reference
the anchors once (``nat-anchor "iocjail/*"``, ``rdr-anchor "iocjail/*"``); see `PF_CONF_HOOKS`.

ipfw: each jail gets its own NAT instance and one rule number of its own for its two rules, both
picked among the numbers the host does not use. Stop deletes exactly that rule number and that
instance. iocage runs ``ipfw -q flush`` and renumbers everyone's rules into 100/101 (§9.9).
Inbound packets pass the instance of each NAT jail in turn, which needs
``net.inet.ip.fw.one_pass=0`` (checked before a start).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from iocjail.errors import PropertyConflict
from iocjail.model.values import parse_nat_forwards

Forward = tuple[str, int, int]  # (proto: tcp, udp or tcp/udp; jail port; host port)

PF_ANCHOR_ROOT = "iocjail"
PF_CONF_HOOKS = (f'nat-anchor "{PF_ANCHOR_ROOT}/*"', f'rdr-anchor "{PF_ANCHOR_ROOT}/*"')
IPFW_NAT_BASE = 4620  # iocage's instance was 462; ours are 4620, 4621, …
IPFW_RULE_BASE = 100  # first rule number tried; taken numbers are skipped
IPFW_MAX_RULE = 65534  # 65535 is the default rule


@dataclass(frozen=True)
class Lease:
    network: str  # 172.16.0.0/30
    gateway: str  # 172.16.0.1: the host side (defaultrouter of a vnet jail)
    address: str  # 172.16.0.2: the jail
    broadcast: str  # 172.16.0.3


def allocate(prefix: str, used: Iterable[str]) -> Lease:
    """The first free /30 of ``prefix`` (``A.B``); ``used`` holds addresses or networks."""
    taken = [ipaddress.ip_network(u, strict=False) for u in used]
    taken4 = [n for n in taken if isinstance(n, ipaddress.IPv4Network)]
    space = ipaddress.IPv4Network(f"{prefix}.0.0/16")
    for block in space.subnets(new_prefix=30):
        if any(block.overlaps(n) for n in taken4):
            continue
        hosts = list(block.hosts())
        return Lease(str(block), str(hosts[0]), str(hosts[1]), str(block.broadcast_address))
    raise PropertyConflict(f"no free NAT address left in {space}")


def forwards(value: str) -> tuple[Forward, ...]:
    """`nat_forwards` as (proto, jail port, host port) triples."""
    try:
        return parse_nat_forwards(value)
    except ValueError as err:
        raise PropertyConflict(f"nat_forwards: {err}") from None


def check_host_ports(mine: Iterable[Forward], others: Mapping[str, Iterable[Forward]]) -> None:
    """Refuse a host port another running NAT jail already forwards (iocage checks this too)."""
    claimed = {(p, host): jail for jail, rules in others.items() for proto, _, host in rules for p in proto.split("/")}
    for proto, _, host in mine:
        for single in proto.split("/"):
            if (single, host) in claimed:
                raise PropertyConflict(f"host port {single}/{host} is already forwarded to jail {claimed[(single, host)]}")


# -- pf ---------------------------------------------------------------------------------------

def pf_anchor(name: str) -> str:
    return f"{PF_ANCHOR_ROOT}/{name}"


def pf_rules(iface: str, address: str, rules: Iterable[Forward]) -> str:
    """The anchor's ruleset (pf.conf(5)): outbound NAT of the jail's address to the first address
    of ``iface``, then one ``rdr pass`` per forward."""
    lines = [f"nat on {iface} inet from {address} to any -> ({iface}:0) static-port"]
    for proto, port, host in rules:
        protos = "{ tcp udp }" if proto == "tcp/udp" else proto
        lines.append(f"rdr pass on {iface} inet proto {protos} from any to ({iface}:0) port {host} "
                     f"-> {address} port {port}")
    return "\n".join(lines) + "\n"


# -- ipfw -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IpfwSlot:
    nat: int  # the jail's NAT instance
    rule: int  # the number of both of its rules


def ipfw_slot(used_nat: Iterable[int], used_rules: Iterable[int]) -> IpfwSlot:
    """The lowest free NAT instance ≥ IPFW_NAT_BASE and rule number ≥ IPFW_RULE_BASE."""
    nats, rules = set(used_nat), set(used_rules)
    nat = IPFW_NAT_BASE
    while nat in nats:
        nat += 1
    rule = IPFW_RULE_BASE
    while rule in rules:
        rule += 1
    if rule > IPFW_MAX_RULE:
        raise PropertyConflict("no free ipfw rule number left for NAT")
    return IpfwSlot(nat, rule)


def ipfw_redirects(address: str, rules: Iterable[Forward]) -> tuple[str, ...]:
    """``redirect_port PROTO ADDR:PORT HOSTPORT`` words for ``ipfw nat N config`` (ipfw(8))."""
    words: list[str] = []
    for proto, port, host in rules:
        for single in proto.split("/"):
            words += ["redirect_port", single, f"{address}:{port}", str(host)]
    return tuple(words)


# -- hooks ------------------------------------------------------------------------------------

def hook_env(lease: Lease, ext_address: str | None, ext_broadcast: str | None) -> dict[str, str]:
    """The variables iocage gives a NAT jail's exec_prestart hook."""
    env = {"INTERNAL_DEFAULT_ROUTER": lease.gateway, "INTERNAL_IP": lease.address,
           "INTERNAL_BROADCAST_IP": lease.broadcast}
    if ext_address:
        env["EXT_HOST"] = ext_address
    if ext_broadcast:
        env["EXT_BCAST"] = ext_broadcast
    return env


def nat_config(vnet: bool, lease: Lease, iface: str) -> dict[str, str]:
    """What a NAT start stores in config.json first, as iocage does: a vnet jail gets the /30 on
    vnet0 and the host side as its gateway; a shared-IP jail gets an alias on the NAT interface."""
    if vnet:
        return {"ip4_addr": f"vnet0|{lease.address}/30", "defaultrouter": lease.gateway}
    return {"ip4_addr": f"{iface}|{lease.address}"}


def lease_of(cfg: Mapping[str, str]) -> Lease | None:
    """The lease stored in a NAT jail's config (ip4_addr ``[iface|]ADDR/30``), or None."""
    first = cfg.get("ip4_addr", "none").split(",")[0].split("|")[-1]
    if first in ("", "none"):
        return None
    try:
        iface = ipaddress.IPv4Interface(first if "/" in first else f"{first}/30")
    except ValueError:
        return None
    block = iface.network
    hosts = list(block.hosts())
    if len(hosts) < 2:
        return None
    return Lease(str(block), str(hosts[0]), str(iface.ip), str(block.broadcast_address))
