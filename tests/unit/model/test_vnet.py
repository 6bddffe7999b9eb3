"""vnet NICs, MACs and shared-IP alias placement (reference §2.5 steps 6 and 13)."""

from __future__ import annotations

import pytest

from iocjail.errors import PropertyConflict
from iocjail.model.addresses import Addr, parse_ip4_addr, parse_ip6_addr
from iocjail.model.jail import JailSettings
from iocjail.model.vnet import (
    Alias, HostNet, aliases_to_add, colon_mac, generate_mac_pair, nic_macs, place_bare_addresses, vnet_plan,
)

HOST = HostNet(mtus={"em0": 1500, "igb0": 9000, "bridge0": 1500}, bridge_members={"bridge0": ("igb0",)},
               default_iface="em0", gateway4="192.0.2.1", gateway6="fe80::1%em0")


# -- MACs -------------------------------------------------------------------------------------

def test_mac_pair_is_prefix_plus_md5_of_name_and_nic():
    # md5("web1vnet0") = 5fcfd69ce376c3a852eaa9ee98ca1e6f
    assert generate_mac_pair("02ff60", "web1", "vnet0") == ("02ff605fcfd6", "02ff605fcfd7")


def test_mac_uses_the_name_with_dots_as_underscores():
    # md5("my_jail" + "vnet1") = 0cbbf99a43a6689ca63266bb987655db; iocage hashes its uuid with . → _
    assert generate_mac_pair("0A1B2C", "my.jail", "vnet1") == ("0a1b2c0cbbf9", "0a1b2c0cbbfa")


@pytest.mark.parametrize("name", [f"j{i}" for i in range(64)])
def test_mac_b_is_mac_a_plus_one(name):
    mac_a, mac_b = generate_mac_pair("02ff60", name, "vnet0")
    assert len(mac_a) == len(mac_b) == 12
    assert int(mac_b, 16) == int(mac_a, 16) + 1


def test_colon_form():
    assert colon_mac("02FF605fcfd6") == "02:ff:60:5f:cf:d6"
    assert colon_mac("02:ff:60:5f:cf:d6") == "02:ff:60:5f:cf:d6"
    with pytest.raises(ValueError):
        colon_mac("02ff60")


def test_stored_macs_win_and_new_ones_are_reported_for_saving():
    stored = {"vnet0_mac": "02ff605fcfd6 02ff605fcfd7", "mac_prefix": "aaaaaa"}
    assert nic_macs("web1", stored, "vnet0") == ("02:ff:60:5f:cf:d6", "02:ff:60:5f:cf:d7", None)
    assert nic_macs("web1", {"mac_prefix": "02ff60"}, "vnet0") == (
        "02:ff:60:5f:cf:d6", "02:ff:60:5f:cf:d7", "02ff605fcfd6 02ff605fcfd7")
    with pytest.raises(PropertyConflict, match="mac_prefix is not set"):
        nic_macs("web1", {}, "vnet0")


# -- vnet plan --------------------------------------------------------------------------------

def plan_of(name, cfg, jid, host):
    return vnet_plan(name, JailSettings.from_effective(cfg), jid, host)


def cfg(**over):
    base = {"vnet": "1", "interfaces": "vnet0:bridge0", "ip4_addr": "vnet0|10.0.0.5/24", "ip6_addr": "none",
            "defaultrouter": "auto", "defaultrouter6": "auto", "mac_prefix": "02ff60",
            "vnet_default_interface": "none", "vnet0_mtu": "auto", "vnet_default_mtu": "1500"}
    base.update(over)
    return base


def test_one_bridged_nic():
    plan = plan_of("web1", cfg(), 7, HOST)
    (nic,) = plan.nics
    assert (nic.nic, nic.bridge, nic.host_if, nic.jail_if) == ("vnet0", "bridge0", "vnet0.7", "epair0b")
    assert (nic.mac_a, nic.mac_b) == ("02:ff:60:5f:cf:d6", "02:ff:60:5f:cf:d7")
    assert nic.mtu == 9000  # the bridge's first member, igb0
    assert nic.description == "associated with jail: web1 as nic: epair0b"
    assert not nic.create_bridge and nic.bridge_adds == ()
    assert nic.ip4 == ("10.0.0.5/24",) and plan.gateway4 == "192.0.2.1" and plan.gateway6 is None
    assert plan.save == {"vnet0_mac": "02ff605fcfd6 02ff605fcfd7"}


def test_missing_bridge_is_created_with_the_default_interface():
    plan = plan_of("web1", cfg(interfaces="vnet0:bridge5", vnet_default_interface="auto"), 7, HOST)
    nic = plan.nics[0]
    assert nic.create_bridge and nic.bridge_adds == ("em0",) and nic.mtu == 1500


def test_existing_bridge_gets_a_missing_default_interface():
    nic = plan_of("web1", cfg(vnet_default_interface="em0"), 7, HOST).nics[0]
    assert not nic.create_bridge and nic.bridge_adds == ("em0",) and nic.mtu == 9000
    nic = plan_of("web1", cfg(vnet_default_interface="igb0"), 7, HOST).nics[0]
    assert nic.bridge_adds == ()


def test_unknown_default_interface_is_refused():
    with pytest.raises(PropertyConflict, match="vnet_default_interface 'lagg0'"):
        plan_of("web1", cfg(vnet_default_interface="lagg0"), 7, HOST)
    with pytest.raises(PropertyConflict, match="no default route"):
        plan_of("web1", cfg(vnet_default_interface="auto"), 7, HostNet())


def test_mtu_explicit_and_default():
    assert plan_of("web1", cfg(vnet0_mtu="1400"), 7, HOST).nics[0].mtu == 1400
    lone = cfg(interfaces="vnet0:bridge9", vnet_default_mtu="1492")
    assert plan_of("web1", lone, 7, HOST).nics[0].mtu == 1492  # a new bridge with no member


def test_two_nics_addresses_and_link_local_gateway():
    plan = plan_of("web1", cfg(interfaces="vnet0:bridge0,vnet1:none", ip4_addr="10.0.0.5/24,vnet1|10.1.0.5/16",
                                 ip6_addr="vnet1|2001:db8::5/64", defaultrouter="10.0.0.1",
                                 defaultrouter6="fe80::1%vnet1"), 3, HOST)
    first, second = plan.nics
    assert first.ip4 == ("10.0.0.5/24",) and second.ip4 == ("10.1.0.5/16",) and second.ip6 == ("2001:db8::5/64",)
    assert second.bridge is None and second.host_if == "vnet1.3" and second.jail_if == "epair1b"
    assert plan.gateway4 == "10.0.0.1" and plan.gateway6 == "fe80::1%epair1b"
    assert set(plan.save) == {"vnet0_mac", "vnet1_mac"}


def test_dhcp_and_accept_rtadv_skip_static_setup():
    plan = plan_of("web1", cfg(ip4_addr="vnet0|DHCP", ip6_addr="vnet0|accept_rtadv", bpf="1"), 7, HOST)
    nic = plan.nics[0]
    assert nic.dhcp and nic.accept_rtadv and nic.ip4 == () and nic.ip6 == ()
    assert plan.gateway4 is None and plan.gateway6 is None
    assert plan_of("web1", cfg(dhcp="1", bpf="1"), 7, HOST).nics[0].dhcp


def test_dhcp_needs_bpf():
    with pytest.raises(PropertyConflict, match="bpf=1"):
        plan_of("web1", cfg(dhcp="1"), 7, HOST)


def test_address_on_an_unknown_nic_is_refused():
    with pytest.raises(PropertyConflict, match="vnet2 is not one of the jail's interfaces"):
        plan_of("web1", cfg(ip4_addr="vnet2|10.0.0.5/24"), 7, HOST)


def test_vnet_interfaces_and_lo0_addresses_are_set_inside():
    plan = plan_of("web1", cfg(ip4_addr="vnet0|10.0.0.5/24,lo0|127.0.1.1,ix1|198.51.100.7/24",
                                 vnet_interfaces="ix1"), 7, HOST)
    assert plan.other_ip4 == (("lo0", "127.0.1.1"), ("ix1", "198.51.100.7/24"))


def test_nat_makes_vnet0_the_gateway_instead_of_a_bridge_member():
    plan = plan_of("web1", cfg(nat="1", ip4_addr="vnet0|172.16.0.2/30", defaultrouter="172.16.0.1"), 7, HOST)
    nic = plan.nics[0]
    assert nic.bridge is None and nic.nat_gateway == "172.16.0.1" and nic.mtu == 1500
    assert plan.gateway4 == "172.16.0.1"


def test_gateway_none_and_host_without_gateway():
    assert plan_of("web1", cfg(defaultrouter="none"), 7, HOST).gateway4 is None
    assert plan_of("web1", cfg(), 7, HostNet(mtus={"bridge0": 1500})).gateway4 is None


# -- shared-IP aliases ------------------------------------------------------------------------

def test_bare_addresses_go_on_the_default_interface_unless_the_host_has_them():
    addrs = parse_ip4_addr("192.0.2.10,192.0.2.20/24,em1|198.51.100.1")
    host = {"em0": frozenset({"192.0.2.20"}), "bridge0": frozenset({"192.0.2.10"})}  # bridges do not count
    placed = place_bare_addresses(addrs, "em0", host)
    assert [str(a) for a in placed] == ["em0|192.0.2.10", "192.0.2.20/24", "em1|198.51.100.1"]
    assert place_bare_addresses(addrs, None, host) == addrs  # no default route: left as given


def test_aliases_skip_what_the_interface_already_has():
    addrs = parse_ip4_addr("em0|192.0.2.10,em0|192.0.2.11/24,192.0.2.12")
    have = {"em0": frozenset({"192.0.2.10"})}
    assert aliases_to_add(addrs, 4, have) == (Alias("em0", 4, "192.0.2.11", 24),)
    six = parse_ip6_addr("em0|2001:db8::5,em0|2001:db8::6/64")
    assert aliases_to_add(six, 6, {}) == (Alias("em0", 6, "2001:db8::5", 128), Alias("em0", 6, "2001:db8::6", 64))


def test_aliases_default_to_a_host_mask_and_skip_duplicates():
    addrs = (Addr("lo0", "127.0.1.2", None), Addr("lo0", "127.0.1.2", None))
    assert aliases_to_add(addrs, 4, {}) == (Alias("lo0", 4, "127.0.1.2", 32),)
