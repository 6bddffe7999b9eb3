"""`--plan --platform freebsd` reads a real jail off the pool and renders its FreeBSD plan on this
(Linux) host with assumed facts, changing nothing."""

from __future__ import annotations

import pytest

from iocjail.errors import JailNotFound, UsageError
from iocjail.services import freebsd_runtime as R
from iocjail.services.host import Host
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
    plan, start, stop = R.plan(host, "www")  # a unique prefix, as start accepts
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
        R.plan(host, "tpl")
    with pytest.raises(JailNotFound):
        R.plan(host, "nope")
