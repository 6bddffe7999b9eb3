"""`get`, `set` and `jailconf` on jails laid out as iocage leaves them on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from iocjail.platform.zfs import Zfs
from tests.support.cli import iocjail, prop
from tests.support.jails import make_jail

IOCJAIL_BIN = str(Path(sys.executable).parent / "iocjail")


THIN = {"CONFIG_VERSION": "34", "host_hostname": "www1", "host_hostuuid": "www1",
        "jail_zfs_dataset": "iocage/jails/www1/data", "release": "13.2-RELEASE-p4",
        "cloned_release": "13.2-RELEASE", "ip4_addr": "em0|192.0.2.10/24"}


@pytest.fixture
def host(zpool):
    assert iocjail("activate", zpool.name).exit_code == 0
    path = make_jail(zpool.name, "www1", THIN)
    return zpool.name, path


def test_set_prints_old_and_new_and_writes_canonical_thin_config(host):
    pool, path = host
    result = iocjail("set", "boot=on", "priority=10", "notes=web server | front", "www1")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["boot: 0 -> 1", "priority: 99 -> 10", "notes: none -> web server | front"]
    stored = json.loads((path / "config.json").read_text())
    assert stored == {**THIN, "boot": "1", "priority": "10", "notes": "web server | front"}
    assert list(stored) == sorted(stored)  # keys sorted, as iocage writes
    assert iocjail("get", "boot", "www1").output == "1\n"


@pytest.mark.parametrize("pair,why", [
    ("priority=5x", "priority"),
    ("ip4_addr=em0|300.1.1.1", "ip4_addr"),
    ("securelevel=9", "securelevel"),
    ("no_such_key=1", "unknown property 'no_such_key'"),
    ("host_hostuuid=other", "cannot be changed"),
    ("bpf=1", "vnet"),
    ("novalue", "KEY=VALUE"),
])
def test_a_bad_value_writes_nothing(host, pair, why):
    _, path = host
    before = (path / "config.json").read_bytes()
    result = iocjail("set", "boot=on", pair, "www1")
    assert result.exit_code == 2
    assert why in result.output and result.output.startswith("iocjail: ")
    assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output
    assert (path / "config.json").read_bytes() == before


def test_template_yes_moves_the_jail_to_templates(host):
    pool, _ = host
    result = iocjail("set", "template=yes", "www1")
    assert result.exit_code == 0 and result.output == "template: 0 -> 1\n"
    tpl = Path(prop(f"{pool}/iocage/templates/www1", "mountpoint"))
    stored = json.loads((tpl / "config.json").read_text())
    assert stored == {**THIN, "type": "template", "template": "1"}
    assert iocjail("get", "type", "www1").output == "template\n"


def test_set_on_a_missing_jail(host):
    result = iocjail("set", "boot=on", "nope")
    assert result.exit_code == 3 and result.output == "iocjail: jail 'nope' not found\n"


def test_default_changes_reach_untouched_jails_only(host):
    pool, path = host
    assert iocjail("set", "priority=20", "www1").exit_code == 0
    # "you touched it, you own it": equal to the default now, but still the jail's own
    assert iocjail("set", "priority=99", "www1").exit_code == 0
    result = iocjail("set", "priority=50", "exec_timeout=120", "default")
    assert result.exit_code == 0, result.output
    assert "priority: 99 -> 50" in result.output
    assert iocjail("get", "priority", "www1").output == "99\n"
    assert iocjail("get", "exec_timeout", "www1").output == "120\n"
    assert json.loads((path / "config.json").read_text())["priority"] == "99"
    defaults = json.loads((Path(prop(f"{pool}/iocage", "mountpoint")) / "defaults.json").read_text())
    assert defaults["priority"] == "50" and defaults["CONFIG_VERSION"] == "34"


def test_defaults_only_keys(host):
    assert iocjail("set", "nat_prefix=10.5", "default").exit_code == 0
    result = iocjail("set", "nat_prefix=10.6", "www1")
    assert result.exit_code == 2 and "default" in result.output


def test_get_all_is_sorted_key_value_lines(host):
    result = iocjail("get", "-a", "www1")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    keys = [line.split(":", 1)[0] for line in lines]
    assert keys == sorted(keys)
    values = dict(line.split(":", 1) for line in lines)
    assert values["ip4_addr"] == "em0|192.0.2.10/24" and values["release"] == "13.2-RELEASE-p4"
    assert values["last_started"] == "never" and values["quota"] == "none"
    assert values["mountpoint"].endswith("/iocage/jails/www1")
    assert json.loads(iocjail("get", "--json", "all", "www1").output)["priority"] == "99"


def test_get_all_default(host):
    result = iocjail("get", "-a", "default")
    values = dict(line.split(":", 1) for line in result.output.splitlines())
    assert values["CONFIG_VERSION"] == "34" and values["exec_start"] == "/bin/sh /etc/rc"
    assert len(values["mac_prefix"]) == 6


def test_get_recursive_table_script_and_json(host):
    pool, _ = host
    make_jail(pool, "db1", {**THIN, "host_hostname": "db1", "host_hostuuid": "db1", "ip4_addr": "none",
                            "boot": "1"})
    table = iocjail("get", "-r", "boot")
    assert table.exit_code == 0 and "| NAME | PROP - boot |" in table.output
    assert iocjail("get", "-r", "-H", "boot").output == "db1\t1\nwww1\t0\n"
    assert json.loads(iocjail("get", "-r", "--json", "boot").output) == {"db1": "1", "www1": "0"}
    assert iocjail("get", "-r", "-H", "quota").output == "db1\tnone\nwww1\tnone\n"


def test_get_unknown_property_suggests(host):
    result = iocjail("get", "prority", "www1")
    assert result.exit_code == 2 and "did you mean priority" in result.output


def test_zfs_properties_are_set_on_the_dataset(host):
    pool, path = host
    result = iocjail("set", "quota=1G", "www1")
    assert result.exit_code == 0, result.output
    assert prop(f"{pool}/iocage/jails/www1", "quota") in ("1G", "1073741824")
    assert "quota" not in json.loads((path / "config.json").read_text())


def _zfs_state(dataset: str) -> str:
    """Every settable ZFS property of `dataset` with its value and source, as `zfs get -p` prints
    them (statistics such as `used`, whose source is `-`, move on their own)."""
    out = subprocess.run(["zfs", "get", "-H", "-p", "-o", "property,value,source", "all", dataset],
                         capture_output=True, text=True, check=True).stdout
    return "\n".join(line for line in out.splitlines() if not line.endswith("\t-"))


@pytest.mark.parametrize("pairs", [
    ["notes=x", "reservation=100T"],           # larger than the pool: zfs refuses, the registry cannot know
    ["comment=y", "dedup=blake3"],             # an algorithm this pool does not have
    ["quota=10G", "reservation=100T"],         # the first ZFS property is accepted, the second refused
    ["reservation=100T", "quota=10G", "boot=on"],
    ["template=yes", "reservation=100T"],      # the refusal comes before the datasets move
    ["quota=3G", "dedup=blake3", "notes=z"],   # zfs alone refuses the dedup: tried before the quota moves
    ["reservation=1G", "quota=500M"],          # each fine alone, not together
])
def test_a_value_zfs_refuses_changes_nothing(host, pairs):
    pool, path = host
    dataset = f"{pool}/iocage/jails/www1"
    assert iocjail("set", "quota=2G", "www1").exit_code == 0  # a local value, to be kept as it is
    config_before, zfs_before = (path / "config.json").read_bytes(), _zfs_state(dataset)
    result = iocjail("set", *pairs, "www1")
    assert result.exit_code != 0
    assert result.output.startswith("iocjail: ") and len(result.output.splitlines()) == 1, result.output
    assert (path / "config.json").read_bytes() == config_before
    assert _zfs_state(dataset) == zfs_before


def test_a_refused_zfs_value_puts_back_inheritance(host):
    """quota was inherited before: after the refused set it is inherited again, not a local copy."""
    pool, _ = host
    dataset = f"{pool}/iocage/jails/www1"
    before = _zfs_state(dataset)
    assert "quota\t0\tdefault" in before
    assert iocjail("set", "quota=10G", "reservation=100T", "www1").exit_code != 0
    assert _zfs_state(dataset) == before


def test_get_pool(host):
    pool, _ = host
    assert iocjail("get", "-p").output == f"{pool}\n"


def test_corrupt_config_is_named_and_left_alone(host):
    _, path = host
    (path / "config.json").write_text('{"CONFIG_VERSION": "34", "boot": ')
    result = iocjail("set", "boot=on", "www1")
    assert result.exit_code != 0 and str(path / "config.json") in result.output
    assert len(result.output.splitlines()) == 1
    assert (path / "config.json").read_text() == '{"CONFIG_VERSION": "34", "boot": '
    assert iocjail("get", "boot", "www1").exit_code != 0


def test_old_config_is_migrated_once_with_a_backup(host):
    pool, _ = host
    old = {"CONFIG_VERSION": "18", "host_hostname": "old1", "host_hostuuid": "old1", "release": "11.2-RELEASE",
           "ip4": "none", "boot": "on", "vnet": "off", "type": "jail", "host_domainname": "none"}
    path = make_jail(pool, "old1", old)
    original = (path / "config.json").read_bytes()
    assert iocjail("get", "boot", "old1").output == "1\n"
    migrated = json.loads((path / "config.json").read_text())
    assert migrated["CONFIG_VERSION"] == "34" and migrated["ip4"] == "disable" and migrated["boot"] == "1"
    assert (path / "config_backup.json").read_bytes() == original
    again = (path / "config.json").read_bytes()
    (path / "config_backup.json").write_text("sentinel")
    assert iocjail("get", "-a", "old1").exit_code == 0
    assert (path / "config.json").read_bytes() == again  # exactly once
    assert (path / "config_backup.json").read_text() == "sentinel"


def test_templates_stay_readonly_after_a_set(host):
    pool, _ = host
    tpl = {**THIN, "host_hostname": "tpl", "host_hostuuid": "tpl", "type": "template", "template": "1"}
    path = make_jail(pool, "tpl", tpl, category="templates")
    Zfs().set(f"{pool}/iocage/templates/tpl", {"readonly": "on"})
    result = iocjail("set", "notes=golden", "tpl")
    assert result.exit_code == 0, result.output
    assert json.loads((path / "config.json").read_text())["notes"] == "golden"
    with pytest.raises(OSError):  # readonly again (zfs-fuse misreports the property while mounted)
        (path / "probe").write_text("x")


def test_concurrent_sets_lose_nothing(host):
    """Eight processes set eight different keys at once: the per-jail lock keeps every one."""
    pool, path = host
    keys = ["allow_chflags", "allow_mlock", "allow_mount", "allow_quotas", "allow_raw_sockets",
            "allow_socket_af", "allow_sysvipc", "allow_vmm"]

    def run(key: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([IOCJAIL_BIN, "set", f"{key}=1", "www1"], capture_output=True, text=True)

    with ThreadPoolExecutor(len(keys)) as pool_:
        results = list(pool_.map(run, keys))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    stored = json.loads((path / "config.json").read_text())
    assert all(stored[k] == "1" for k in keys)


def test_jailconf_prints_a_block_values_cannot_escape(host):
    _, path = host
    assert iocjail("set", 'exec_prestart=echo "x"; } evil { ', "allow_raw_sockets=1", "www1").exit_code == 0
    result = iocjail("jailconf", "www1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == '"ioc-www1" {' and lines[-1] == "}"
    assert '\tip4.addr += "em0|192.0.2.10/24";' in lines
    assert '\tallow.raw_sockets = "1";' in lines
    assert f'\tpath = "{path}/root";' in lines
    assert "\tpersist;" in lines
    assert sum(1 for line in lines if line.strip() == "}") == 1
