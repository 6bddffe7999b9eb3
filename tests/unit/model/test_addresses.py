from __future__ import annotations

import pytest

from iocjail.errors import InvalidValue
from iocjail.model import addresses as A
from iocjail.model.addresses import Addr


def test_ip4_entries_are_typed():
    assert A.parse_ip4_addr("em0|10.0.0.5/24,10.0.0.6, DEFAULT|10.0.0.7,vnet1|DHCP") == (
        Addr("em0", "10.0.0.5", 24, "static"),
        Addr(None, "10.0.0.6", None, "static"),
        Addr(None, "10.0.0.7", None, "static"),
        Addr("vnet1", None, None, "dhcp"),
    )
    assert A.parse_ip4_addr("none") == () and A.parse_ip4_addr(" NONE ") == ()


def test_ip6_entries_are_typed():
    assert A.parse_ip6_addr("vnet0|accept_rtadv,em0|2001:db8:0::5/64") == (
        Addr("vnet0", None, None, "accept_rtadv"), Addr("em0", "2001:db8::5", 64, "static"))


def test_format_round_trips():
    for text in ("em0|10.0.0.5/24,10.0.0.6", "DHCP", "vnet0|DHCP,vnet1|192.168.1.2/24"):
        assert A.format_addrs(A.parse_ip4_addr(text)) == text
    assert A.format_addrs(()) == "none"


@pytest.mark.parametrize("value,why", [
    ("em0|300.1.1.1", "not an IPv4 address"),
    ("|10.0.0.1", "is empty"),
    ("em0|", "no address"),
    ("fd00::1", "belongs in ip6_addr"),
    ("10.0.0.1/40", "at most 32"),
    ("10.0.0.1/abc", "not a valid netmask"),
    ("10.0.0.1/-1", "not a valid netmask"),
    ("10.0.0.1,,10.0.0.2", "no address"),
    ("10.0.0.1,10.0.0.1", "listed twice"),
    ("01.2.3.4", "not an IPv4 address"),
])
def test_ip4_errors(value, why):
    with pytest.raises(InvalidValue, match=why) as info:
        A.parse_ip4_addr(value)
    assert info.value.args[0] == "ip4_addr"


def test_ip6_errors_name_ip6_addr():
    with pytest.raises(InvalidValue, match="belongs in ip4_addr") as info:
        A.parse_ip6_addr("em0|10.0.0.1")
    assert info.value.args[0] == "ip6_addr"
    with pytest.raises(InvalidValue, match="not an IPv6"):
        A.parse_ip6_addr("DHCP")


def test_interfaces_typed():
    assert A.parse_interfaces("vnet0:bridge0,vnet1:none") == (("vnet0", "bridge0"), ("vnet1", None))
    with pytest.raises(InvalidValue, match="listed twice"):
        A.parse_interfaces("vnet0:bridge0,vnet0:bridge1")
    with pytest.raises(InvalidValue, match="vnet0 to vnet3"):
        A.parse_interfaces("epair0:bridge0")


def test_nat_prefix_only_rfc1918():
    assert A.nat_prefix("172.20") == "172.20"
    for bad in ("100.64", "169.254", "127.0", "11.0", "172.15"):
        with pytest.raises(ValueError, match="private"):
            A.nat_prefix(bad)


def test_defaultrouter6_scope_only_link_local():
    assert A.defaultrouter6("FE80::1%vnet0") == "fe80::1%vnet0"
    with pytest.raises(ValueError, match="link-local"):
        A.defaultrouter6("2001:db8::1%em0")
