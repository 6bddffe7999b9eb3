"""`--plan --platform freebsd` reads a real jail off the pool and renders its FreeBSD plan on this
(Linux) host with assumed facts, changing nothing."""

from __future__ import annotations

import pytest

from iocjail.errors import JailNotFound, UsageError
from iocjail.site import config
from iocjail.services.lifecycle import freebsd_plan
from iocjail.site.host import Host
from tests.support.cli import iocjail, names
from tests.support.jails import make_jail, thin_config


@pytest.fixture
def host(zpool):
    assert iocjail("activate", zpool.name).exit_code == 0
    return Host.from_env()


def test_plan_of_a_vnet_jail_from_its_config(host):
    path = make_jail(host.pool, "www1", thin_config("www1", vnet="1", ip4_addr="vnet0|10.1.0.5/24",
                                                  vnet_default_interface="auto", mac_prefix="02ff60",
                                                  memoryuse="deny=1g"))
    before = names(host.pool)
    plan, start, stop = freebsd_plan(host, "www")  # a unique prefix, as start accepts
    assert start[0].startswith("# FreeBSD start plan of www1 (ioc-www1, jid ")
    assert start[0].endswith("host facts assumed, not a FreeBSD host")
    text = "\n".join(start)
    assert f"  env IOCAGE_HOSTNAME=www1 IOCAGE_NAME=www1 jail -f /var/run/jail.ioc-www1.conf -c ioc-www1" in text
    assert f"ln -s ../var/run/log {path}/root/dev/log" in text
    assert "  rctl -a jail:ioc-www1:memoryuse:deny=1g" in text
    assert "jexec ioc-www1 ifconfig epair0b inet 10.1.0.5/24 alias" in text
    assert "rctl -r jail:ioc-www1:memoryuse:deny=1g" in "\n".join(stop)
    assert plan.facts["root"] == f"{path}/root"
    assert names(host.pool) == before  # nothing created, nothing written
    assert not (path / "root" / "etc").exists()


def test_plan_refuses_templates_and_unknown_jails(host):
    make_jail(host.pool, "tpl", thin_config("tpl", type="template", template="1"), "templates")
    with pytest.raises(UsageError, match="never starts"):
        freebsd_plan(host, "tpl")
    with pytest.raises(JailNotFound):
        freebsd_plan(host, "nope")


def test_cli_plans_for_either_platform_change_nothing(host):
    make_jail(host.pool, "www1", thin_config("www1", ip4_addr="em0|192.0.2.10/24"))
    before = names(host.pool)
    _, start, stop = freebsd_plan(host, "www1")
    result = iocjail("start", "--plan", "--platform", "freebsd", "www1")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == start
    assert "ifconfig em0 inet 192.0.2.10/24 alias" in result.output
    result = iocjail("stop", "--plan", "--platform", "freebsd", "www1")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == stop
    assert "ifconfig em0 inet 192.0.2.10 -alias" in result.output
    assert names(host.pool) == before


@pytest.mark.parametrize("argv", [["start", "--platform", "freebsd", "www1"], ["stop", "--platform", "linux", "www1"],
                                  ["start", "--plan", "--rc"], ["stop", "--plan", "--platform", "bsd", "www1"]])
def test_plan_options_misused_are_refused(host, argv):
    make_jail(host.pool, "www1", thin_config("www1"))
    result = iocjail(*argv)
    assert result.exit_code == 2, result.output
    assert not (config.rundir() / "jails" / host.pool / "www1.json").exists()
