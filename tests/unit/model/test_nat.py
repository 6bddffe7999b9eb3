"""NAT addresses, per-jail pf anchors and ipfw numbers (reference §2.5 step 5, §2.8)."""

from __future__ import annotations

import pytest

from iocjail.errors import PropertyConflict
from iocjail.model import nat
from iocjail.model.nat import IpfwSlot, Lease, allocate, check_host_ports, forwards, ipfw_redirects, ipfw_slot, pf_rules


def test_first_free_slash_30():
    assert allocate("172.16", []) == Lease("172.16.0.0/30", "172.16.0.1", "172.16.0.2", "172.16.0.3")
    assert allocate("172.16", ["172.16.0.2"]).network == "172.16.0.4/30"
    assert allocate("10.7", ["10.7.0.0/24", "10.7.1.6"]) == Lease("10.7.1.0/30", "10.7.1.1", "10.7.1.2", "10.7.1.3")


def test_used_networks_of_other_families_and_prefixes_are_ignored():
    assert allocate("192.168", ["2001:db8::1", "10.0.0.0/8"]).network == "192.168.0.0/30"


def test_a_host_network_covering_the_prefix_exhausts_it():
    with pytest.raises(PropertyConflict, match="no free NAT address"):
        allocate("172.16", ["172.16.0.0/12"])


def test_forwards_and_host_port_clashes():
    mine = forwards("tcp(80:8080),udp(53),tcp/udp(443)")
    assert mine == (("tcp", 80, 8080), ("udp", 53, 53), ("tcp/udp", 443, 443))
    check_host_ports(mine, {"other": forwards("tcp(22:2222),udp(8080)")})  # udp/8080 ≠ tcp/8080
    with pytest.raises(PropertyConflict, match="host port udp/443 is already forwarded to jail other"):
        check_host_ports(mine, {"other": forwards("udp(443)")})
    with pytest.raises(PropertyConflict, match="nat_forwards"):
        forwards("sctp(1)")


def test_pf_anchor_rules():
    assert nat.pf_anchor("web1") == "iocjail/web1"
    text = pf_rules("em0", "172.16.0.2", forwards("tcp(80:8080),tcp/udp(53)"))
    assert text == (
        "nat on em0 inet from 172.16.0.2 to any -> (em0:0) static-port\n"
        "rdr pass on em0 inet proto tcp from any to (em0:0) port 8080 -> 172.16.0.2 port 80\n"
        "rdr pass on em0 inet proto { tcp udp } from any to (em0:0) port 53 -> 172.16.0.2 port 53\n")
    assert nat.PF_CONF_HOOKS == ('nat-anchor "iocjail/*"', 'rdr-anchor "iocjail/*"')


def test_ipfw_slot_skips_numbers_in_use():
    assert ipfw_slot([], []) == IpfwSlot(4620, 100)
    assert ipfw_slot([4620, 4621, 4623], [100, 101, 200]) == IpfwSlot(4622, 102)
    with pytest.raises(PropertyConflict, match="no free ipfw rule"):
        ipfw_slot([], range(100, 65535))


def test_ipfw_redirects():
    assert ipfw_redirects("172.16.0.2", forwards("tcp(80:8080),tcp/udp(53)")) == (
        "redirect_port", "tcp", "172.16.0.2:80", "8080",
        "redirect_port", "tcp", "172.16.0.2:53", "53",
        "redirect_port", "udp", "172.16.0.2:53", "53")


def test_hook_env_names_of_iocage():
    lease = allocate("172.16", [])
    assert nat.hook_env(lease, "192.0.2.5", "192.0.2.255") == {
        "INTERNAL_DEFAULT_ROUTER": "172.16.0.1", "INTERNAL_IP": "172.16.0.2",
        "INTERNAL_BROADCAST_IP": "172.16.0.3", "EXT_HOST": "192.0.2.5", "EXT_BCAST": "192.0.2.255"}
    assert "EXT_HOST" not in nat.hook_env(lease, None, None)


@pytest.mark.parametrize("value,expected", [
    ("vnet0|172.16.0.6/30", Lease("172.16.0.4/30", "172.16.0.5", "172.16.0.6", "172.16.0.7")),
    ("em0|172.16.0.2", Lease("172.16.0.0/30", "172.16.0.1", "172.16.0.2", "172.16.0.3")),
    ("none", None),
    ("vnet0|DHCP", None),
])
def test_lease_of_a_stored_config(value, expected):
    assert nat.lease_of({"ip4_addr": value}) == expected


def test_nat_config_is_what_iocage_stores():
    lease = allocate("172.16", ["172.16.0.1"])
    assert nat.nat_config(True, lease, "em0") == {"ip4_addr": "vnet0|172.16.0.6/30", "defaultrouter": "172.16.0.5"}
    assert nat.nat_config(False, lease, "em0") == {"ip4_addr": "em0|172.16.0.6"}
    assert nat.lease_of(nat.nat_config(True, lease, "em0")) == lease
