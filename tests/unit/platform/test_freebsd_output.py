"""Parsers of FreeBSD tool output, on samples written from the tools' documented formats."""

from __future__ import annotations

import pytest

from iocjail.platform.freebsd_output import (
    Interface, JailState, Route, ToolOutputError, parse_devfs_showsets, parse_epair_create, parse_ifconfig,
    parse_jls_json, parse_netstat_rn_json, parse_sysctl,
)

# jls -v with libxo (jls.c: jid, hostname, path, name, state, cpusetid, then the address lists)
JLS = ('{"__version": "2", "jail-information": {"jail": ['
       '{"jid":3,"hostname":"web1","path":"/iocage/jails/web1/root","name":"ioc-web1","state":"ACTIVE",'
       '"cpusetid":5, "ipv4_addrs": ["192.0.2.10","192.0.2.11"], "ipv6_addrs": ["2001:db8::5"]},'
       '{"jid":9,"hostname":"old","path":"/iocage/jails/old/root","name":"ioc-old","state":"DYING",'
       '"cpusetid":8, "ipv4_addrs": [], "ipv6_addrs": []}'
       ']}}\n')


def test_jls_json():
    jails = parse_jls_json(JLS)
    assert jails["ioc-web1"] == JailState(3, "ioc-web1", "/iocage/jails/web1/root", "web1", "ACTIVE", 5,
                                          ("192.0.2.10", "192.0.2.11"), ("2001:db8::5",))
    assert jails["ioc-old"].dying and not jails["ioc-web1"].dying


def test_jls_without_jails_and_nested_leaf_lists():
    assert parse_jls_json('{"__version": "2", "jail-information": {"jail": []}}') == {}
    nested = ('{"jail-information": {"jail": [{"jid":1,"name":"j","path":"/","hostname":"",'
              '"state":"ACTIVE","ipv4_addrs": [{"ipv4_addr": ["10.0.0.1"]}]}]}}')
    assert parse_jls_json(nested)["j"].ip4 == ("10.0.0.1",)
    assert parse_jls_json(nested)["j"].cpusetid is None


@pytest.mark.parametrize("text,why", [
    ("jls: not json", "not JSON"),
    ('{"other": 1}', "no jail-information"),
    ('{"jail-information": {"jail": [{"name": "x"}]}}', "bad jail entry"),
])
def test_jls_errors(text, why):
    with pytest.raises(ToolOutputError, match=why):
        parse_jls_json(text)


# netstat -rn --libxo json (route.c: rt-family[] with address-family and rt-entry[])
NETSTAT = '''{"statistics": {"route-information": {"route-table": {"rt-family": [
 {"address-family": "Internet", "rt-entry": [
   {"destination": "127.0.0.1", "gateway": "link#2", "flags": "UH", "interface-name": "lo0"},
   {"destination": "default", "gateway": "192.0.2.1", "flags": "UGS", "interface-name": "em0"},
   {"destination": "default", "gateway": "192.0.2.254", "flags": "UGS", "interface-name": "em1"}]},
 {"address-family": "Internet6", "rt-entry": [
   {"destination": "::/96", "gateway": "::1", "flags": "UGRS", "interface-name": "lo0"},
   {"destination": "default", "gateway": "fe80::1%em0", "flags": "UGS", "interface-name": "em0"}]}
]}}}}'''


def test_netstat_default_gateways():
    assert parse_netstat_rn_json(NETSTAT) == {4: Route("192.0.2.1", "em0", "UGS"),
                                              6: Route("fe80::1%em0", "em0", "UGS")}


def test_netstat_without_default_route():
    text = ('{"statistics": {"route-information": {"route-table": {"rt-family": {"address-family": "Internet", '
            '"rt-entry": [{"destination": "10.0.0.0/8", "gateway": "link#1", "interface-name": "em0"}]}}}}}')
    assert parse_netstat_rn_json(text) == {}
    with pytest.raises(ToolOutputError, match="netstat"):
        parse_netstat_rn_json('{"statistics": {}}')


def test_devfs_showsets():
    assert parse_devfs_showsets("1\n2\n3\n4\n1000\n") == {1, 2, 3, 4, 1000}
    assert parse_devfs_showsets("") == set()
    with pytest.raises(ToolOutputError):
        parse_devfs_showsets("devfs: ioctl DEVFSIO_SGETNEXT: Operation not supported\n")


# ifconfig(8) without arguments: header line per interface, tab-indented details
IFCONFIG = """\
em0: flags=8863<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
\toptions=481009b<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING,VLAN_HWCSUM,VLAN_HWFILTER,NOMAP>
\tether 52:54:00:AB:cd:01
\tinet 192.0.2.5 netmask 0xffffff00 broadcast 192.0.2.255
\tinet 192.0.2.10 netmask 0xffffffff broadcast 192.0.2.10
\tinet6 fe80::5054:ff:feab:cd01%em0 prefixlen 64 scopeid 0x1
\tinet6 2001:db8::5 prefixlen 64
\tmedia: Ethernet autoselect (1000baseT <full-duplex>)
\tstatus: active
\tnd6 options=29<PERFORMNUD,IFDISABLED,AUTO_LINKLOCAL>
lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0 mtu 16384
\toptions=680003<RXCSUM,TXCSUM,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>
\tinet6 ::1 prefixlen 128
\tinet 127.0.0.1 netmask 0xff000000
\tgroups: lo
bridge0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
\tdescription: jails on the lan
\tether 58:9c:fc:10:ff:a1
\tid 00:00:00:00:00:00 priority 32768 hellotime 2 fwddelay 15
\tmaxage 20 holdcnt 6 proto rstp maxaddr 2000 timeout 1200
\troot id 00:00:00:00:00:00 priority 32768 ifcost 0 port 0
\tmember: vnet0.3 flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>
\t        ifmaxaddr 0 port 5 priority 128 path cost 2000
\tmember: em1 flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>
\t        ifmaxaddr 0 port 2 priority 128 path cost 20000
\tgroups: bridge
vnet0.3: flags=8863<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
\tdescription: associated with jail: web1 as nic: epair0b
\tether 02:ff:60:5f:cf:d6
\tgroups: epair
pflog0: flags=0<> metric 0 mtu 33160
\tgroups: pflog
"""


def test_ifconfig():
    found = parse_ifconfig(IFCONFIG)
    assert list(found) == ["em0", "lo0", "bridge0", "vnet0.3", "pflog0"]
    em0 = found["em0"]
    assert em0 == Interface(
        "em0", ("UP", "BROADCAST", "RUNNING", "SIMPLEX", "MULTICAST"), 1500, "52:54:00:ab:cd:01",
        (("192.0.2.5", 24), ("192.0.2.10", 32)), (("fe80::5054:ff:feab:cd01%em0", 64), ("2001:db8::5", 64)))
    assert em0.addresses() == {"192.0.2.5", "192.0.2.10", "fe80::5054:ff:feab:cd01", "2001:db8::5"}
    assert found["lo0"].inet == (("127.0.0.1", 8),) and found["lo0"].groups == ("lo",)
    bridge = found["bridge0"]
    assert bridge.members == ("vnet0.3", "em1") and bridge.description == "jails on the lan"
    assert found["vnet0.3"].description == "associated with jail: web1 as nic: epair0b"
    assert found["pflog0"].flags == () and found["pflog0"].mtu == 33160


def test_ifconfig_cidr_form_and_garbage():
    found = parse_ifconfig("epair0b: flags=8863<UP> metric 0 mtu 9000\n\tinet 10.0.0.5/24 broadcast 10.0.0.255\n")
    assert found["epair0b"].inet == (("10.0.0.5", 24),)
    with pytest.raises(ToolOutputError):
        parse_ifconfig("ifconfig: interface foo does not exist\n")
    with pytest.raises(ToolOutputError, match="cannot read"):
        parse_ifconfig("em0: flags=1<UP> mtu 1500\n\tinet\n")


def test_epair_create():
    assert parse_epair_create("epair12a\n") == "epair12"
    with pytest.raises(ToolOutputError):
        parse_epair_create("ifconfig: SIOCIFCREATE2: File exists\n")


def test_sysctl_lines():
    assert parse_sysctl("kern.racct.enable: 1\nkern.features.vimage: 1\n") == {
        "kern.racct.enable": "1", "kern.features.vimage": "1"}
    assert parse_sysctl("") == {}


def test_ipfw_rule_numbers_and_nat_instances():
    from iocjail.platform.freebsd_output import parse_ipfw_nat_ids, parse_ipfw_rule_numbers
    listing = ("00100 allow ip from any to any via lo0\n00200 deny ip from any to 127.0.0.0/8\n"
               "00100 nat 4620 ip4 from 172.16.0.2 to any out via em0\n65535 deny ip from any to any\n")
    assert parse_ipfw_rule_numbers(listing) == {100, 200, 65535}
    config = "ipfw nat 4620 config if em0 same_ports redirect_port tcp 172.16.0.2:80 8080\nipfw nat 7 config if em1\n"
    assert parse_ipfw_nat_ids(config) == {4620, 7}
    assert parse_ipfw_nat_ids("") == set() and parse_ipfw_rule_numbers("") == set()
