from __future__ import annotations

import pytest

from iocjail.errors import InvalidProperties, InvalidValue, PropertyConflict, ReadOnlyProperty, UnknownProperty
from iocjail.model import properties as P
from iocjail.model.rctl import RCTL_KEYS

BOOLS = [k for k, p in P.REGISTRY.items() if p.parse is P.V.boolean and p.settable]

# key -> ([(input, canonical), ...], [invalid input, ...]). Every settable key must be here.
TABLE: dict[str, tuple[list[tuple[str, str]], list[str]]] = {
    "interfaces": ([("vnet0:bridge0", "vnet0:bridge0"), ("vnet0:bridge0, vnet1:none", "vnet0:bridge0,vnet1:none"),
                    ("vnet3:jailetherbridge", "vnet3:jailetherbridge")],
                   ["vnet0", "em0:bridge0", "vnet4:bridge0", "vnet0:bridge0,vnet0:bridge1", "vnet0:", ":bridge0",
                    "vnet0:bad!name"]),
    "host_domainname": ([("", ""), ("example.org", "example.org")], ["a\0b"]),
    "host_hostname": ([("www-1.example.org", "www-1.example.org")], ["", "a b", "x" * 256, "tab\there"]),
    "exec_fib": ([("0", "0"), ("3", "3"), ("007", "7")], ["-1", "x", "1.5", " "]),
    "ip4_addr": ([("none", "none"), ("10.0.0.5", "10.0.0.5"), ("em0|10.0.0.5/24", "em0|10.0.0.5/24"),
                  ("DEFAULT|10.0.0.5", "10.0.0.5"), ("em0|10.1.1.1/255.255.255.0", "em0|10.1.1.1/24"),
                  ("vnet0|DHCP", "vnet0|DHCP"), ("dhcp", "DHCP"),
                  ("em0|10.0.0.1, em1|10.0.0.2/16", "em0|10.0.0.1,em1|10.0.0.2/16")],
                 ["em0|300.1.1.1", "|10.0.0.1", "10.0.0.1/33", "10.0.0.1/", "2001:db8::1", "em0|", "none,10.0.0.1",
                  "10.0.0.1,10.0.0.1", "10.0.0.1/255.0.255.0", "", "accept_rtadv", "bad iface!|10.0.0.1"]),
    "ip6_addr": ([("none", "none"), ("2001:DB8::0:1", "2001:db8::1"), ("em0|2001:db8::2/64", "em0|2001:db8::2/64"),
                  ("vnet0|accept_rtadv", "vnet0|accept_rtadv"), ("DEFAULT|fd00::1/48", "fd00::1/48")],
                 ["10.0.0.1", "2001:db8::1/129", "DHCP", "|2001:db8::1", "fe80::1%em0", "2001:db8::g"]),
    "ip4_saddrsel": ([("1", "1"), ("off", "0")], ["2"]),
    "ip4": ([("new", "new"), ("INHERIT", "inherit"), ("none", "disable"), ("disable", "disable")], ["yes", "1", ""]),
    "ip6": ([("inherit", "inherit"), ("none", "disable")], ["old"]),
    "defaultrouter": ([("auto", "auto"), ("none", "none"), ("192.168.0.1", "192.168.0.1")],
                      ["192.168.0.256", "fe80::1", "gateway"]),
    "defaultrouter6": ([("auto", "auto"), ("2001:db8::1", "2001:db8::1"), ("fe80::1%em0", "fe80::1%em0")],
                       ["10.0.0.1", "2001:db8::1%em0", "fe80::1%", "x"]),
    "resolver": ([("/etc/resolv.conf", "/etc/resolv.conf"),
                  ("nameserver 1.1.1.1;search lan", "nameserver 1.1.1.1;search lan")],
                 ["x\0"]),
    "mac_prefix": ([("02ff60", "02ff60"), ("0A1B2C", "0a1b2c"), ("fe0000", "fe0000")],
                   ["01ff60", "02ff6", "02ff6g", "02:ff:60"]),
    "vnet_default_interface": ([("none", "none"), ("auto", "auto"), ("em0", "em0"), ("jailether", "jailether")],
                               ["", "em 0", "0em", "a" * 16]),
    "devfs_ruleset": ([("4", "4"), ("0", "0"), ("1000", "1000")], ["-1", "4x", "65536"]),
    "exec_start": ([("/bin/sh /etc/rc", "/bin/sh /etc/rc")], ["a\0"]),
    "exec_stop": ([("/bin/sh /etc/rc.shutdown", "/bin/sh /etc/rc.shutdown")], ["\0"]),
    "exec_prestart": ([("logger \"$name\"; true", "logger \"$name\"; true")], ["\0"]),
    "exec_poststart": ([("/usr/bin/true", "/usr/bin/true")], ["\0"]),
    "exec_prestop": ([("/usr/bin/true", "/usr/bin/true")], ["\0"]),
    "exec_poststop": ([("/usr/bin/true", "/usr/bin/true")], ["\0"]),
    "exec_created": ([("cpuset -l 0 -j ioc-x", "cpuset -l 0 -j ioc-x")], ["\0"]),
    "exec_timeout": ([("60", "60"), ("0", "0")], ["-5", "1m"]),
    "stop_timeout": ([("30", "30")], ["30s", "-1"]),
    "exec_jail_user": ([("root", "root")], ["", "a b"]),
    "exec_system_jail_user": ([("0", "0")], [""]),
    "exec_system_user": ([("root", "root")], ["r oot"]),
    "enforce_statfs": ([("0", "0"), ("2", "2")], ["3", "-1", "two"]),
    "children_max": ([("0", "0"), ("10", "10")], ["-1", "ten"]),
    "login_flags": ([("-f root", "-f root")], ["\0"]),
    "securelevel": ([("-1", "-1"), ("3", "3"), ("2", "2")], ["9", "-2", "high"]),
    "sysvmsg": ([("new", "new"), ("1", "new"), ("0", "disable"), ("2", "inherit")], ["3", "yes"]),
    "sysvsem": ([("inherit", "inherit")], ["none"]),
    "sysvshm": ([("disable", "disable")], ["shared"]),
    "cpuset": ([("off", "off"), ("ALL", "all"), ("0,1,3", "0,1,3"), ("4-7", "4-7"), ("1, 3, 6-7", "1,3,6-7")],
               ["7-4", "1-1", "0,0", "0-3,2", "-1", "a", "1-2-3", "", "0,,1"]),
    "rlimits": ([("off", "off"), ("on", "on")], ["yes"]),
    "priority": ([("1", "1"), ("99", "99"), ("05", "5")], ["5x", "0", "100", "", " 5 x", "1_0"]),
    "depends": ([("none", "none"), ("db1", "db1"), ("db1  db2", "db1 db2")], ["db1 db1", "bad/name", "default", "-x"]),
    "notes": ([("hello world", "hello world")], ["\0"]),
    "comment": ([("none", "none")], ["\0"]),
    "owner": ([("root", "root")], [""]),
    "hostid": ([("8c1b4f9e-1234-11ee-be56-0242ac120002", "8c1b4f9e-1234-11ee-be56-0242ac120002")], ["a b"]),
    "jail_zfs_dataset": ([("iocage/jails/www1/data", "iocage/jails/www1/data"), ("data/a  data/b", "data/a data/b")],
                         ["", "/abs", "a//b", "a/../b", "a b@snap"]),
    "jail_zfs_mountpoint": ([("none", "none"), ("/mnt/data", "/mnt/data")], ["relative/path"]),
    "vnet_interfaces": ([("none", "none"), ("em1", "em1"), ("em1,em2", "em1 em2"), ("em1 em2", "em1 em2")],
                        ["em1 em1", "9x"]),
    "localhost_ip": ([("none", "none"), ("127.0.0.2", "127.0.0.2")], ["127.0.0.1", "10.0.0.1", "127.0.0.300"]),
    "nat_prefix": ([("172.16", "172.16"), ("10.3", "10.3"), ("192.168", "192.168"), ("172.31", "172.31")],
                   ["172.32", "8.8", "10", "10.0.0", "192.169", "a.b"]),
    "nat_interface": ([("none", "none"), ("em0", "em0")], ["em 0"]),
    "nat_backend": ([("ipfw", "ipfw"), ("PF", "pf")], ["iptables"]),
    "nat_forwards": ([("none", "none"), ("tcp(80)", "tcp(80)"), ("tcp(80:8080),udp(53)", "tcp(80:8080),udp(53)"),
                      ("tcp/udp(53:5353)", "tcp/udp(53:5353)"), ("22", "tcp(22)"), ("TCP(443:443)", "tcp(443)")],
                     ["tcp(0)", "tcp(65536)", "sctp(80)", "tcp(80", "tcp(80:)", "tcp(80),tcp(81:80)", "tcp(a)", ""]),
    "plugin_name": ([("plex", "plex")], ["a b"]),
    "plugin_repository": ([("https://example.org/plugins.git", "https://example.org/plugins.git")],
                          [""]),
    "pkg_command": ([("/bin/busybox", "/bin/busybox"), ("none", "none")], ["a;b", "rel/path"]),
    "min_dyn_devfs_ruleset": ([("1000", "1000")], ["-1", "x"]),
    "vnet_default_mtu": ([("1500", "1500"), ("9000", "9000")], ["auto", "10", "70000"]),
    "quota": ([("none", "none"), ("10G", "10G"), ("1.5t", "1.5T"), ("500M", "500M")], ["10", "10K", "big", "-1G"]),
    "reservation": ([("none", "none"), ("2G", "2G")], ["2GB"]),
    "dedup": ([("off", "off"), ("sha256,verify", "sha256,verify")], ["maybe"]),
}
for _i in range(4):
    TABLE[f"vnet{_i}_mac"] = ([("none", "none"), ("02ff60000001 02ff60000002", "02ff60000001 02ff60000002"),
                               ("02:FF:60:00:00:01,02:ff:60:00:00:02", "02:ff:60:00:00:01 02:ff:60:00:00:02")],
                              ["02ff60000001", "02ff60000001 02ff60000001", "03ff60000001 02ff60000002", "xyz abc"])
    TABLE[f"vnet{_i}_mtu"] = ([("auto", "auto"), ("1500", "1500")], ["67", "jumbo"])
for _key in BOOLS:
    TABLE[_key] = ([("1", "1"), ("on", "1"), ("YES", "1"), ("true", "1"), ("0", "0"), ("off", "0"), ("No", "0"),
                    ("FALSE", "0")], ["2", "", "y", "enabled"])
for _key in RCTL_KEYS:
    TABLE.setdefault(_key, ([("off", "off"), ("log=10", "log=10"), ("SIGTERM=5", "sigterm=5")],
                            ["on", "deny", "kill=1"]))

VALID = [(k, raw, canon) for k, (good, _) in TABLE.items() for raw, canon in good]
INVALID = [(k, raw) for k, (_, bad) in TABLE.items() for raw in bad]


def test_table_covers_every_settable_property():
    settable = {k for k, p in P.REGISTRY.items() if p.settable}
    assert settable - set(TABLE) == set()


@pytest.mark.parametrize("key,raw,canon", VALID)
def test_valid_values_and_round_trip(key, raw, canon):
    assert P.validate(key, raw) == canon
    assert P.validate(key, canon) == canon  # the canonical form is a fixed point


@pytest.mark.parametrize("key,raw", INVALID)
def test_invalid_values(key, raw):
    with pytest.raises(InvalidValue) as info:
        P.validate(key, raw)
    assert info.value.args[0] == key
    assert str(info.value).startswith(f"invalid value for {key}: {raw!r}: ")


@pytest.mark.parametrize("key,raw,why", [
    ("priority", "5x", "not an integer"),
    ("securelevel", "9", "between -1 and 3"),
    ("ip4_addr", "em0|300.1.1.1", "'300.1.1.1' is not an IPv4 address"),
    ("ip4_addr", "2001:db8::1", "belongs in ip6_addr"),
    ("ip4_addr", "|10.0.0.1", "interface before '|' is empty"),
    ("memoryuse", "deny=1x", "ACTION=AMOUNT"),
])
def test_messages_say_why(key, raw, why):
    with pytest.raises(InvalidValue, match=why.replace("(", r"\(").replace("|", r"\|")):
        P.validate(key, raw)


@pytest.mark.parametrize("key", [k for k, p in P.REGISTRY.items() if p.default is not None])
def test_every_default_is_canonical(key):
    assert P.canonical(key, P.REGISTRY[key].default) == P.REGISTRY[key].default


@pytest.mark.parametrize("key", ["CONFIG_VERSION", "CONFIG_TYPE", "host_hostuuid", "release", "cloned_release",
                                 "source_template",
                                 "type", "basejail", "last_started", "origin", "mountpoint", "compressratio",
                                 "available", "used", "count", "sync_state", "sync_target", "sync_tgt_zpool",
                                 "compression"])
def test_not_user_settable(key):
    with pytest.raises(ReadOnlyProperty, match=f"^{key} cannot be changed by the user$"):
        P.validate(key, "1")


def test_unknown_key_suggests_close_matches():
    with pytest.raises(UnknownProperty, match=r"unknown property 'prority'; did you mean priority\?"):
        P.validate("prority", "5")
    with pytest.raises(UnknownProperty, match=r"^unknown property 'zzz'$"):
        P.validate("zzz", "5")


def test_registry_matches_iocage_v34_key_count_and_groups():
    names = set(P.REGISTRY)
    assert len(P.PROPS) == len(names)  # no duplicates
    assert set(RCTL_KEYS) <= names
    assert {f"vnet{i}_{s}" for i in range(4) for s in ("mac", "mtu")} <= names
    assert {"allow_nfsd", "allow_mount_linsysfs", "allow_mount_linprocfs", "allow_mount_fdescfs", "allow_tun"} <= names
    assert {p.name for p in P.PROPS if p.zfs} == {"quota", "reservation", "dedup", "origin", "mountpoint",
                                                    "compressratio", "available", "used"}
    assert {p.name for p in P.PROPS if p.defaults_only} == {"nat_prefix", "nat_interface", "nat_backend"}


def test_jail_param_names_follow_iocage_rule():
    params = {p.name: p.jail_param for p in P.PROPS if p.jail_param}
    assert params["allow_raw_sockets"] == "allow.raw_sockets"
    assert params["allow_socket_af"] == "allow.socket_af"
    assert params["allow_set_hostname"] == "allow.set_hostname"
    assert params["allow_mount_zfs"] == "allow.mount.zfs"
    assert params["children_max"] == "children.max"
    assert "allow_tun" not in params and "exec_start" not in params and "exec_fib" not in params


def test_default_config():
    cfg = P.default_config(mac_prefix="02FF60", hostid="abc")
    assert cfg["CONFIG_VERSION"] == "34"
    assert cfg["mac_prefix"] == "02ff60" and cfg["hostid"] == "abc"
    assert cfg["host_domainname"] == "" and cfg["vnet_default_interface"] == "none"
    assert cfg["compression"] == "on" and cfg["origin"] == "readonly" and cfg["memoryuse"] == "off"
    assert list(cfg) == sorted(cfg)
    assert not set(cfg) & set(P.PER_JAIL)
    assert all(isinstance(v, str) for v in cfg.values())
    bare = P.default_config()
    assert "mac_prefix" not in bare and bare["hostid"] == "none"
    with pytest.raises(InvalidValue):
        P.default_config(mac_prefix="01ff60")


def test_jail_identity():
    assert P.jail_identity("my_jail.1") == {
        "host_hostname": "my-jail.1", "host_hostuuid": "my_jail.1", "jail_zfs_dataset": "iocage/jails/my_jail.1/data"}
    with pytest.raises(Exception, match="reserved"):
        P.jail_identity("default")


# -- validate_many ---------------------------------------------------------------------------

def test_validate_many_returns_canonical_values():
    assert P.validate_many([("boot", "on"), ("priority", "05")]) == {"boot": "1", "priority": "5"}
    assert P.validate_many({"ip4": "none"}) == {"ip4": "disable"}


def test_validate_many_lists_every_error():
    with pytest.raises(InvalidProperties) as info:
        P.validate_many([("priority", "5x"), ("securelevel", "9"), ("bogus", "1"), ("boot", "1")])
    assert len(info.value.errors) == 3
    text = str(info.value)
    assert text.startswith("3 invalid properties: ") and "priority" in text and "securelevel" in text
    assert "'bogus'" in text


def test_validate_many_single_error_is_raised_as_is():
    with pytest.raises(InvalidValue, match="priority"):
        P.validate_many([("priority", "0")])


def test_validate_many_refuses_duplicates_and_readonly():
    with pytest.raises(InvalidProperties, match="given more than once"):
        P.validate_many([("boot", "1"), ("boot", "0"), ("release", "x")])


def test_defaults_only_keys():
    with pytest.raises(InvalidValue, match="can only be set on default"):
        P.validate_many([("nat_prefix", "10.1")])
    assert P.validate_many([("nat_prefix", "10.1")], for_default=True) == {"nat_prefix": "10.1"}


# -- passthrough -----------------------------------------------------------------------------

@pytest.mark.parametrize("key,param", [
    ("jail_param_allow.read_msgbuf", "allow.read_msgbuf"),
    ("jail_param_osrelease", "osrelease"),
    ("jail_param_allow.mount.fusefs_x", "allow.mount.fusefs_x"),
    ("jail_param_linux.osname", "linux.osname"),
    ("jail_param_host.hostid", "host.hostid"),
])
def test_passthrough_names(key, param):
    assert P.passthrough_param(key) == param
    assert P.validate(key, "1") == "1"
    assert P.validate(key, "NONE") == "none"


@pytest.mark.parametrize("key,why", [
    ("jail_param_", "not a jail"), ("jail_param_Allow.x", "not a jail"), ("jail_param_allow..x", "not a jail"),
    ("jail_param_allow.x;", "not a jail"), ("jail_param_1x", "not a jail"), ("jail_param_a b", "not a jail"),
    ("jail_param_allow.mount", "managed by iocjail"), ("jail_param_path", "managed by iocjail"),
    ("jail_param_exec.start", "managed by iocjail"), ("jail_param_persist", "managed by iocjail"),
    ("jail_param_nopersist", "managed by iocjail"), ("jail_param_allow.noraw_sockets", "managed by iocjail"),
    ("jail_param_ip4.addr", "managed by iocjail"), ("jail_param_vnet", "managed by iocjail"),
    ("jail_param_mount.devfs", "managed by iocjail"), ("jail_param_securelevel", "managed by iocjail"),
    ("jail_param_name", "managed by iocjail"),
])
def test_passthrough_refused(key, why):
    with pytest.raises(UnknownProperty, match=why):
        P.validate(key, "1")


def test_passthrough_value_may_not_hold_nul():
    with pytest.raises(InvalidValue, match="NUL"):
        P.validate("jail_param_osrelease", "1\0")


def test_conflict_is_a_usage_error():
    with pytest.raises(PropertyConflict):
        P.validate_many([("nat", "1"), ("bpf", "1"), ("vnet", "1")])
