"""Config files as iocage wrote them over the years: they load, migrate once, and start."""

from __future__ import annotations

from pathlib import Path

import pytest

from iocjail.model import config as C
from iocjail.model import jail_params as J
from iocjail.model import properties as P
from iocjail.model.jail import JailSettings
from iocjail.model.rctl import RCTL_KEYS, rctl_rules
from tests.unit.model.jailconf_reader import read

CORPUS = Path(__file__).parent / "corpus"
DEFAULTS = P.default_config(mac_prefix="02ff60", hostid="4c4c4544-0038-3510-8051-b4c04f4d4e32")
JAIL_FILES = sorted(p.name for p in CORPUS.glob("*.json") if not p.name.startswith("defaults"))
NAT_ONLY = ("nat_prefix", "nat_interface", "nat_backend")


def load(name: str) -> dict[str, str]:
    path = CORPUS / name
    return C.parse_config_json(path.read_text(), str(path))


def migrated(name: str) -> dict[str, str]:
    return C.migrate(load(name), DEFAULTS)[0]


def params_of(name: str, host_version: str | None = None) -> list[J.Param]:
    cfg = migrated(name)
    jail = cfg["host_hostuuid"]
    return J.jail_params(jail, JailSettings.from_effective(C.effective(DEFAULTS, cfg)), f"/iocage/jails/{jail}", "/iocage", host_version)


# file -> (changed by migration?, values after migration, keys that must stay absent)
EXPECT: dict[str, tuple[bool, dict[str, str], tuple[str, ...]]] = {
    "v11_plain.json": (True, {
        "ip6": "disable", "defaultrouter": "auto", "defaultrouter6": "auto", "host_domainname": "", "boot": "1",
        "basejail": "0", "host_time": "1", "template": "0", "vnet": "0", "hostid_strict_check": "0",
        "allow_mlock": "0", "memoryuse": "off", "exec_created": "/usr/bin/true", "vnet_default_interface": "none",
        "allow_nfsd": "0", "compression": "lz4", "last_started": "2018-01-05 10:11:12"}, NAT_ONLY),
    "v13_vnet_default_none.json": (True, {"vnet_default_interface": "auto", "vnet": "1",
                                          "defaultrouter": "192.168.1.1", "rtsold": "0"}, NAT_ONLY),
    "v18_vnet.json": (True, {"boot": "1", "priority": "10", "defaultrouter6": "auto", "host_domainname": "",
                             "vnet_default_interface": "auto", "pcpu": "off", "nat_forwards": "none"}, NAT_ONLY),
    "v26_vnet_bridge.json": (True, {"defaultrouter6": "none", "interfaces": "vnet0:bridge0,vnet1:bridge1",
                                    "allow_raw_sockets": "1", "vnet0_mtu": "auto", "vnet_default_mtu": "1500",
                                    "nat_prefix": "172.16"}, ()),
    "v29_nat.json": (True, {"nat": "1", "nat_forwards": "tcp(80:8080),udp(53)", "allow_mount_fdescfs": "0",
                            "allow_nfsd": "0", "defaultrouter": "auto"}, ()),
    "thin_rctl.json": (True, {"memoryuse": "deny=4G", "CONFIG_VERSION": "34"}, ("pcpu_", "vmemoryuse", "nat")),
    "thin_basejail.json": (True, {"basejail": "1", "boot": "1"}, ("exec_created", "memoryuse")),
    "pluginv2_plex.json": (True, {"plugin_name": "plex", "plugin_repository": C.PLUGIN_REPOSITORY,
                                  "allow_mount_fusefs": "1", "dhcp": "1"}, ("exec_created",)),
    "template.json": (True, {"template": "1", "ip4": "disable", "type": "template"}, ("memoryuse",)),
    "v34_dhcp_bpf_vnet.json": (False, {"dhcp": "1", "ip4_addr": "vnet0|DHCP"}, ("memoryuse",)),
    "thin_accept_rtadv.json": (True, {"rtsold": "1", "vnet": "1", "vnet_interfaces": "em3,em4"}, ("memoryuse",)),
    "thick_v33.json": (True, {"CONFIG_TYPE": "THICK", "ip4": "disable", "host_domainname": "",
                              "defaultrouter": "none", "vnet_default_interface": "none", "nthr": "off",
                              "allow_mount_linsysfs": "0"}, NAT_ONLY),
    "v34_current.json": (False, {"jail_zfs": "1", "jail_param_osrelease": "none"}, ("memoryuse",)),
}


def test_corpus_is_big_enough_and_covered():
    assert len(JAIL_FILES) >= 10
    assert set(EXPECT) == set(JAIL_FILES)


@pytest.mark.parametrize("name", JAIL_FILES)
def test_migration(name):
    original = load(name)
    cfg, changed = C.migrate(original, DEFAULTS)
    want_changed, values, absent = EXPECT[name]
    assert changed is want_changed
    assert cfg["CONFIG_VERSION"] == "34"
    assert {k: cfg.get(k) for k in values} == values
    assert not set(absent) & set(cfg)
    assert C.migrate(cfg, DEFAULTS) == (cfg, False)  # exactly once
    assert C.parse_config_json(C.dump_config_json(cfg), name) == cfg
    if "CONFIG_VERSION" not in original and original.get("CONFIG_TYPE") != "THICK":
        # thin: nothing filled in, but a plugin gets the repository iocage's fix_properties adds
        extra = {"CONFIG_VERSION", "plugin_repository"} if cfg.get("type") == "pluginv2" else {"CONFIG_VERSION"}
        assert set(cfg) == set(original) | extra


@pytest.mark.parametrize("name", JAIL_FILES)
def test_every_effective_value_is_valid(name):
    for key, value in C.effective(DEFAULTS, migrated(name)).items():
        assert P.canonical(key, value) is not None


@pytest.mark.parametrize("name", JAIL_FILES)
def test_params_render_and_read_back(name):
    params = params_of(name)
    jail = migrated(name)["host_hostuuid"]
    assert read(J.render_jail_conf(jail, params)) == (J.kernel_name(jail), params)
    assert params[0][0] in ("ip4.addr", "ip4.saddrsel", "vnet")
    assert ("persist", None) in params


def test_v11_plain_on_an_11_host():
    assert params_of("v11_plain.json", "11.4-RELEASE-p13") == [
        ("ip4.addr", "em0|192.168.1.10/24"), ("ip4.saddrsel", "1"), ("ip4", "new"), ("ip6.saddrsel", "1"),
        ("ip6", "disable"), ("mount.fdescfs", "1"), ("allow.set_hostname", "1"), ("mount.devfs", "1"),
        ("name", "ioc-www1"), ("sysvmsg", "new"), ("sysvsem", "new"), ("sysvshm", "new"), ("host.domainname", ""),
        ("host.hostname", "www1"), ("path", "/iocage/jails/www1/root"), ("securelevel", "2"),
        ("host.hostuuid", "www1"), ("devfs_ruleset", "4"), ("enforce_statfs", "2"), ("children.max", "0"),
        ("exec.clean", "1"), ("exec.timeout", "60"), ("stop.timeout", "30"),
        ("mount.fstab", "/iocage/jails/www1/fstab"), ("exec.consolelog", "/iocage/log/ioc-www1-console.log"),
        ("persist", None)]


COMMON_TAIL = [("exec.clean", "1"), ("exec.timeout", "60"), ("stop.timeout", "30")]


def test_v34_dhcp_vnet():
    assert params_of("v34_dhcp_bpf_vnet.json") == [
        ("vnet", None), ("mount.fdescfs", "1"), ("allow.set_hostname", "1"), ("mount.devfs", "1"),
        ("name", "ioc-dhcp1"), ("sysvmsg", "new"), ("sysvsem", "new"), ("sysvshm", "new"),
        ("exec.created", "/usr/bin/true"), ("host.domainname", ""), ("host.hostname", "dhcp1"),
        ("path", "/iocage/jails/dhcp1/root"), ("securelevel", "2"), ("host.hostuuid", "dhcp1"),
        ("devfs_ruleset", "4"), ("enforce_statfs", "2"), ("children.max", "0"), *COMMON_TAIL,
        ("mount.fstab", "/iocage/jails/dhcp1/fstab"), ("exec.consolelog", "/iocage/log/ioc-dhcp1-console.log"),
        ("persist", None)]


def test_v34_current_shared_stack_with_zfs_localhost_and_passthrough():
    assert params_of("v34_current.json") == [
        ("ip4.addr", "em0|10.0.0.30/24"), ("ip4.addr", "em0|10.0.0.31/24"), ("ip4.addr", "lo0|127.0.0.30"),
        ("ip6.addr", "em0|2001:db8::30/64"), ("ip4.saddrsel", "1"), ("ip4", "new"), ("ip6.saddrsel", "1"),
        ("ip6", "new"), ("mount.fdescfs", "1"), ("allow.set_hostname", "1"), ("mount.devfs", "1"),
        ("allow.mount", "1"), ("allow.mount.nullfs", "1"), ("allow.mount.zfs", "1"),
        ("name", "ioc-files"), ("sysvmsg", "new"), ("sysvsem", "new"), ("sysvshm", "new"),
        ("exec.created", "/usr/bin/true"), ("host.domainname", "example.org"), ("host.hostname", "files"),
        ("path", "/iocage/jails/files/root"), ("securelevel", "2"), ("host.hostuuid", "files"),
        ("devfs_ruleset", "4"), ("enforce_statfs", "1"), ("children.max", "0"), *COMMON_TAIL,
        ("mount.fstab", "/iocage/jails/files/fstab"), ("exec.consolelog", "/iocage/log/ioc-files-console.log"),
        ("persist", None), ("allow.read_msgbuf", "1")]


def test_v26_vnet_with_extra_interface():
    params = params_of("v26_vnet_bridge.json")
    assert params[:6] == [("vnet", None), ("vnet.interface", "em2"), ("mount.fdescfs", "1"),
                          ("allow.set_hostname", "1"), ("mount.devfs", "1"), ("allow.raw_sockets", "1")]
    assert not any(k.startswith(("ip4", "ip6")) for k, _ in params)


def test_dotted_uuid_db_1_keeps_its_name():
    assert dict(params_of("v18_vnet.json"))["name"] == "ioc-db_1"


def test_thin_rctl_rules():
    cfg = C.effective(DEFAULTS, migrated("thin_rctl.json"))
    assert rctl_rules("limited", cfg) == [
        "jail:ioc-limited:memoryuse:deny=4g", "jail:ioc-limited:maxproc:deny=200",
        "jail:ioc-limited:cputime:sigterm=3600", "jail:ioc-limited:pcpu:deny=50",
        "jail:ioc-limited:readbps:throttle=10m"]


def test_defaults_v28_migrates_to_a_complete_defaults_json():
    old = load("defaults_v28.json")
    cfg, changed = C.migrate(old, P.default_config())
    assert changed
    assert set(P.default_config()) <= set(cfg)
    assert cfg["host_domainname"] == "" and cfg["vnet_default_interface"] == "auto"  # user's choice kept
    assert cfg["allow_nfsd"] == "0" and cfg["allow_mount_linsysfs"] == "0" and cfg["mac_prefix"] == "02ff60"
    assert all(cfg[k] == "off" for k in RCTL_KEYS)
    for key, value in cfg.items():
        P.canonical(key, value)
