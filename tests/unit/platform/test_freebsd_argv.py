"""FreeBSD argv, word for word against the tools' synopses (jail(8), jexec(8), jls(8), ifconfig(8),
devfs(8), rctl(8), cpuset(1), route(8), zfs(8), pfctl(8), ipfw(8), sysctl(8))."""

from __future__ import annotations

import pytest

from iocjail.platform import freebsd as F


def test_runtime_conf_and_jail_create_remove():
    conf = F.runtime_conf_path("web.1")
    assert conf == "/var/run/jail.ioc-web_1.conf"
    # jail [-dqv] [-f conf_file] [-p limit] [-cmr] [jail]
    assert F.jail_create_argv(conf, "web.1") == ("jail", "-f", "/var/run/jail.ioc-web_1.conf", "-c", "ioc-web_1")
    assert F.jail_remove_argv(conf, "web.1") == ("jail", "-f", "/var/run/jail.ioc-web_1.conf", "-r", "ioc-web_1")


def test_jexec_forms():
    # jexec [-l] [-u username | -U username] jail [command ...]
    assert F.jexec_argv("web1", ["ls", "/"]) == ("jexec", "ioc-web1", "ls", "/")
    assert F.jexec_argv("web1", ["id"], user="root") == ("jexec", "-u", "root", "ioc-web1", "id")
    assert F.jexec_argv("web1", ["id"], jail_user="www", clean=True) == ("jexec", "-l", "-U", "www", "ioc-web1", "id")
    # setfib [-F] fib utility [argument ...]: only when the jail uses another FIB
    assert F.jexec_argv("web1", ["id"], fib=2) == ("setfib", "2", "jexec", "ioc-web1", "id")
    assert F.jexec_argv("web1", ["id"], fib="0") == ("jexec", "ioc-web1", "id")
    with pytest.raises(ValueError, match="-u or -U"):
        F.jexec_argv("web1", ["id"], user="a", jail_user="b")
    with pytest.raises(ValueError):
        F.jexec_argv("web1", [])


def test_exec_start_runs_like_jail8_exec_start():
    assert F.jexec_shell_argv("web1", "/bin/sh /etc/rc", clean=True) == (
        "jexec", "-l", "ioc-web1", "/bin/sh", "-c", "/bin/sh /etc/rc")


def test_console_is_login_with_login_flags():
    assert F.console_argv("web1") == ("jexec", "-u", "root", "ioc-web1", "login", "-p", "-f", "root")
    assert F.console_argv("web1", "-f admin", fib=1) == (
        "setfib", "1", "jexec", "-u", "root", "ioc-web1", "login", "-p", "-f", "admin")


def test_jls_lists_dying_jails_too_in_json():
    # jls [--libxo] [-dhNnqsv] [-j jail] [parameter ...]
    assert F.jls_argv() == ("jls", "--libxo", "json", "-d", "-v")


def test_aliases():
    assert F.alias_add_argv("em0", 4, "192.0.2.10", 32) == ("ifconfig", "em0", "inet", "192.0.2.10/32", "alias")
    assert F.alias_remove_argv("em0", 4, "192.0.2.10") == ("ifconfig", "em0", "inet", "192.0.2.10", "-alias")
    assert F.alias_add_argv("em0", 6, "2001:db8::5", 64) == ("ifconfig", "em0", "inet6", "2001:db8::5/64", "alias")
    assert F.alias_remove_argv("em0", 6, "2001:db8::5") == ("ifconfig", "em0", "inet6", "2001:db8::5", "-alias")
    with pytest.raises(ValueError):
        F.alias_add_argv("em0", 5, "x", 1)


def test_epair_bridge_and_vnet():
    assert F.epair_create_argv() == ("ifconfig", "epair", "create")
    assert F.iface_rename_argv("epair3a", "vnet0.7") == ("ifconfig", "epair3a", "name", "vnet0.7")
    assert F.iface_mtu_argv("vnet0.7", 9000) == ("ifconfig", "vnet0.7", "mtu", "9000")
    assert F.iface_link_argv("vnet0.7", "02:ff:60:5f:cf:d6") == ("ifconfig", "vnet0.7", "link", "02:ff:60:5f:cf:d6")
    assert F.iface_description_argv("vnet0.7", "associated with jail: web1 as nic: epair0b") == (
        "ifconfig", "vnet0.7", "description", "associated with jail: web1 as nic: epair0b")
    assert F.iface_up_argv("vnet0.7") == ("ifconfig", "vnet0.7", "up")
    assert F.iface_destroy_argv("vnet0.7") == ("ifconfig", "vnet0.7", "destroy")
    assert F.iface_set_argv("x", "mtu", "1500", "up") == ("ifconfig", "x", "mtu", "1500", "up")
    assert F.vnet_move_argv("epair3b", "web.1") == ("ifconfig", "epair3b", "vnet", "ioc-web_1")
    assert F.vnet_reclaim_argv("ix1", "web.1") == ("ifconfig", "ix1", "-vnet", "ioc-web_1")
    assert F.bridge_create_argv("bridge0", ["em0"]) == ("ifconfig", "bridge0", "create", "addm", "em0", "up")
    assert F.bridge_create_argv("bridge1") == ("ifconfig", "bridge1", "create", "up")
    assert F.bridge_addm_argv("bridge0", "vnet0.7") == ("ifconfig", "bridge0", "addm", "vnet0.7", "up")
    assert F.bridge_deletem_argv("bridge0", "vnet0.7") == ("ifconfig", "bridge0", "deletem", "vnet0.7")
    assert F.iface_address_argv("epair0b", 4, "10.0.0.5/24") == ("ifconfig", "epair0b", "inet", "10.0.0.5/24", "alias")
    assert F.iface_address_argv("epair0b", 6, "2001:db8::5/64") == (
        "ifconfig", "epair0b", "inet6", "2001:db8::5/64", "alias")


def test_routes_and_sysrc():
    assert F.route_default_argv(4, "10.0.0.1") == ("route", "add", "default", "10.0.0.1")
    assert F.route_default_argv(6, "fe80::1%epair0b") == ("route", "add", "-inet6", "default", "fe80::1%epair0b")
    assert F.sysrc_argv("ifconfig_epair0b=SYNCDHCP") == ("sysrc", "ifconfig_epair0b=SYNCDHCP")
    assert F.sysrc_argv("ifconfig_epair0b", delete=True) == ("sysrc", "-x", "ifconfig_epair0b")


def test_devfs():
    # devfs rule [-s ruleset] add [rulenum] rulespec ; devfs rule -s N delset ; devfs rule showsets
    assert F.devfs_rule_add_argv(1000, ("hide",)) == ("devfs", "rule", "-s", "1000", "add", "hide")
    assert F.devfs_rule_add_argv(1000, ("path", "pty[pqrsPQRSlmnoLMNO]*", "unhide")) == (
        "devfs", "rule", "-s", "1000", "add", "path", "pty[pqrsPQRSlmnoLMNO]*", "unhide")
    assert F.devfs_delset_argv(1000) == ("devfs", "rule", "-s", "1000", "delset")
    assert F.devfs_showsets_argv() == ("devfs", "rule", "showsets")


def test_rctl_and_cpuset():
    assert F.rctl_add_argv("jail:ioc-web1:memoryuse:deny=2g") == ("rctl", "-a", "jail:ioc-web1:memoryuse:deny=2g")
    assert F.rctl_remove_argv("jail:ioc-web1:") == ("rctl", "-r", "jail:ioc-web1:")
    # cpuset [-l cpu-list] [-j jail | ...]
    assert F.cpuset_argv("0,2-3", 7) == ("cpuset", "-l", "0,2-3", "-j", "7")


def test_mounts_and_zfs_jail():
    assert F.mount_argv("procfs", "proc", "/iocage/jails/web1/root/proc") == (
        "mount", "-t", "procfs", "proc", "/iocage/jails/web1/root/proc")
    assert F.umount_argv("/iocage/jails/web1/root/proc") == ("umount", "/iocage/jails/web1/root/proc")
    # zfs jail jailid|jailname filesystem ; zfs unjail jailid|jailname filesystem
    assert F.zfs_jail_argv("web1", "tank/iocage/jails/web1/data") == (
        "zfs", "jail", "ioc-web1", "tank/iocage/jails/web1/data")
    assert F.zfs_unjail_argv("web1", "tank/iocage/jails/web1/data") == (
        "zfs", "unjail", "ioc-web1", "tank/iocage/jails/web1/data")


def test_nat_firewalls_touch_only_their_own_rules():
    assert F.pf_load_argv("iocjail/web1", "/var/run/iocjail/nat/web1.pf") == (
        "pfctl", "-a", "iocjail/web1", "-f", "/var/run/iocjail/nat/web1.pf")
    assert F.pf_flush_argv("iocjail/web1") == ("pfctl", "-a", "iocjail/web1", "-F", "all")
    assert F.ipfw_nat_config_argv(4620, "em0", ("redirect_port", "tcp", "172.16.0.2:80", "8080")) == (
        "ipfw", "-q", "nat", "4620", "config", "if", "em0", "same_ports",
        "redirect_port", "tcp", "172.16.0.2:80", "8080")
    out, inbound = F.ipfw_nat_rules_argv(101, 4620, "em0", "172.16.0.2")
    assert out == ("ipfw", "-q", "add", "101", "nat", "4620", "ip4", "from", "172.16.0.2", "to", "any",
                   "out", "via", "em0")
    assert inbound == ("ipfw", "-q", "add", "101", "nat", "4620", "ip4", "from", "any", "to", "any",
                       "in", "via", "em0")
    assert F.ipfw_delete_argv(101) == ("ipfw", "-q", "delete", "101")
    assert F.ipfw_nat_delete_argv(4620) == ("ipfw", "-q", "nat", "4620", "delete")
    every = [F.pf_load_argv("a", "f"), F.pf_flush_argv("a"), F.ipfw_nat_config_argv(1, "em0"),
             F.ipfw_delete_argv(1), F.ipfw_nat_delete_argv(1), *F.ipfw_nat_rules_argv(1, 1, "em0", "x")]
    assert not any("flush" in argv for argv in every)  # iocage's `ipfw -q flush` wipes the host's rules


def test_sysctl():
    assert F.sysctl_set_argv("net.inet.ip.forwarding", "1") == ("sysctl", "net.inet.ip.forwarding=1")
    assert F.sysctl_read_argv(["kern.racct.enable", "kern.features.vimage"]) == (
        "sysctl", "-i", "kern.racct.enable", "kern.features.vimage")


def test_bridge_create_with_a_description_marks_it():
    assert F.bridge_create_argv("bridge5", ["em0"], "iocjail") == (
        "ifconfig", "bridge5", "create", "description", "iocjail", "addm", "em0", "up")
