from pathlib import Path

from iocjail.model.values import derive_mac_prefix, mac_prefix
from iocjail.platform.hostfacts import parse_ifconfig_ether, parse_proc_net_route, parse_route_get, read_hostid

PROC_ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth1\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
"""

ROUTE_GET = """   route to: default
destination: default
       mask: default
    gateway: 192.0.2.1
        fib: 0
  interface: em0
      flags: <UP,GATEWAY,DONE,STATIC>
"""

IFCONFIG_ETHER = """em0: flags=8863<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
\toptions=481009b<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING,VLAN_HWCSUM,VLAN_HWFILTER,NOMAP>
\tether 08:00:27:AB:cd:01
"""


def test_linux_default_route_interface():
    assert parse_proc_net_route(PROC_ROUTE) == "eth0"
    assert parse_proc_net_route(PROC_ROUTE.splitlines()[0] + "\n") is None


def test_freebsd_route_get_and_ifconfig_ether():
    assert parse_route_get(ROUTE_GET) == "em0"
    assert parse_route_get("route: route has not been found\n") is None
    assert parse_ifconfig_ether(IFCONFIG_ETHER) == "08:00:27:ab:cd:01"


def test_mac_prefix_from_host_mac_is_locally_administered_unicast():
    assert derive_mac_prefix("08:00:27:ab:cd:01", b"\xff\xff\xff") == "0a0027"
    assert derive_mac_prefix("01:00:5e:00:00:01", b"") == "02005e"  # multicast bit cleared
    prefix = derive_mac_prefix(None, b"\xff\x12\x34")
    assert prefix == "fe1234" and mac_prefix(prefix) == prefix


def test_hostid_text_only(tmp_path: Path):
    text = tmp_path / "hostid"
    text.write_text("4c4c4544-0038-3510-8051-b4c04f4d4e32\n")
    assert read_hostid(text) == "4c4c4544-0038-3510-8051-b4c04f4d4e32"
    binary = tmp_path / "bin"
    binary.write_bytes(b"\x00\xa8\xc0\xff")
    assert read_hostid(binary) is None
    assert read_hostid(tmp_path / "missing") is None
