"""The Linux plan as data: steps in jail(8) order, exact argv, undo pairing, refusals."""

from __future__ import annotations

import pytest

from iocjail.lifecycle.linux import plan as linux_plan
from iocjail.lifecycle.linux.plan import LinuxFacts, UnsupportedOnLinux, parse_fstab, unmount_order
from iocjail.lifecycle.steps import clean_env
from iocjail.lifecycle.plan import START_ORDER, op, run
from iocjail.model.jail import JailSettings
from iocjail.model.properties import default_config
from iocjail.lifecycle.linux.runner import LinuxRunner
from iocjail.platform.linux import spawn_argv

ROOT = "/iocage/jails/www1/root"
HOLDER = ("/usr/bin/python3", "-I", "-S", "/x/linux_holder.py")


def facts(**extra) -> LinuxFacts:
    base = dict(jid=3, root=ROOT, holder=HOLDER, console_log="/iocage/log/www1-console.log",
                resolv_conf="nameserver 192.0.2.1\n", localtime=True)
    base.update(extra)
    return LinuxFacts(**base)


def build_linux_plan(name: str, cfg: dict[str, str], facts: LinuxFacts):
    return linux_plan.build_linux_plan(name, JailSettings.from_effective(cfg), facts)


def network_mode(name: str, cfg: dict[str, str]) -> str:
    return linux_plan.network_mode(name, JailSettings.from_effective(cfg))


def cfg(**extra: str) -> dict[str, str]:
    return {**default_config(), "host_hostname": "www1", **extra}


def step(plan, name):
    return next(s for s in plan.steps if s.name == name)


def test_default_jail_steps_follow_jail8_order():
    plan = build_linux_plan("www1", cfg(), facts())
    assert plan.step_names() == ["mount", "mount.devfs", "exec.prestart", "jail", "exec.created", "resolver",
                                 "exec.start", "exec.poststart"]
    positions = [START_ORDER.index(n) for n in plan.step_names()]
    assert positions == sorted(positions)
    assert plan.facts == {"platform": "linux", "root": ROOT, "jid": "3", "console_log": "/iocage/log/www1-console.log",
                          "kernel_name": "ioc-www1", "network": "private"}


def test_the_mount_step_is_undone_last_by_everything_under_the_root_then_private():
    mount = step(build_linux_plan("www1", cfg(), facts()), "mount")
    assert mount.undo == (op("umount_under", ROOT, needs=1), op("private", ROOT, needs=1))
    assert build_linux_plan("www1", cfg(), facts()).steps[0] == mount  # so its undo runs after every other


def test_unmount_order_is_everything_strictly_under_the_root_deepest_first():
    table = [(20, 1, "/"), (30, 20, ROOT), (31, 30, f"{ROOT}/dev.old"), (32, 31, f"{ROOT}/dev.old/pts"),
             (33, 30, f"{ROOT}/usr.old/src"), (34, 33, f"{ROOT}/usr.old/src"),  # stacked on one point
             (35, 20, f"{ROOT}2/mnt"), (36, 20, "/iocage/jails/www1/rootfs")]  # look-alikes: not under ROOT
    order = unmount_order(table, ROOT + "/")
    assert [m[0] for m in order] == [34, 32, 33, 31]
    assert unmount_order(table[:2], ROOT) == []  # ROOT itself stays: the dataset's own mount


def test_the_jail_step_spawns_the_holder_and_raises_loopback():
    jail = step(build_linux_plan("www1", cfg(host_hostname="web-one"), facts()), "jail")
    assert jail.do == (op("spawn", ROOT, "web-one", "private", *HOLDER),
                       run("nsenter", "--target", "{pid}", "--net", "ip", "link", "set", "lo", "up"))
    assert jail.undo == (op("kill", ROOT),)
    assert spawn_argv(ROOT, "web-one", "private", HOLDER) == [
        "setsid", "--fork", "unshare", "--mount", "--uts", "--ipc", "--pid", "--net", "--fork", "--propagation",
        "slave", "--", *HOLDER, ROOT, "web-one"]
    assert "--net" not in spawn_argv(ROOT, "h", "host", HOLDER)


def test_hooks_mirror_each_other_and_carry_iocage_env():
    plan = build_linux_plan("www1", cfg(exec_prestart="echo pre", exec_poststop="echo post",
                                        exec_poststart="echo ps", exec_prestop="echo pst", exec_timeout="9"), facts())
    pre = step(plan, "exec.prestart")
    assert [a.args for a in pre.do] == [("echo pre",)] and [a.args for a in pre.cleanup] == [("echo post",)]
    assert pre.undo == () and all(a.hook for a in pre.do + pre.cleanup)
    assert dict(pre.do[0].env) == {"JID": "3", "JNAME": "ioc-www1", "IOCAGE_NAME": "www1",
                                   "IOCAGE_HOSTNAME": "www1", "IOCJAIL_ROOT": ROOT}
    assert pre.do[0].timeout == 9.0
    post = step(plan, "exec.poststart")
    assert post.undo[0].args == ("echo pst",) and post.undo[0].needs == 1  # prestop only after poststart ran


def test_exec_start_undo_is_exec_stop_then_terminate():
    start = step(build_linux_plan("www1", cfg(stop_timeout="7"), facts()), "exec.start")
    assert start.do[0].op == "jexec" and start.do[0].args == ("/bin/sh /etc/rc",) and not start.do[0].hook
    assert dict(start.do[0].env)["PATH"] == clean_env({})["PATH"]
    stop, terminate = start.undo
    assert (stop.op, stop.args, stop.hook, stop.needs) == ("jexec", ("/bin/sh /etc/rc.shutdown",), True, 1)
    assert (terminate.op, terminate.args, terminate.needs) == ("terminate", (ROOT, "7.0"), 0)
    unclean = step(build_linux_plan("www1", cfg(exec_clean="0"), facts()), "exec.start")
    assert unclean.do[0].env == ()


def test_devfs_nodes_and_undo_pairing():
    devfs = step(build_linux_plan("www1", cfg(), facts()), "mount.devfs")
    ops = [a.op for a in devfs.do]
    assert ops[0] == "mount" and ops.count("mknod") == 6 and ops.count("symlink") == 5
    assert op("mknod", ROOT, "/dev/null", "666", "1", "3") in devfs.do
    pts = next(i for i, a in enumerate(devfs.do, 1) if a.op == "mount" and a.args[0] == "devpts")
    assert devfs.undo == (op("umount", ROOT, "/dev/pts", needs=pts), op("umount", ROOT, "/dev", needs=1))
    assert "mount.devfs" not in build_linux_plan("www1", cfg(mount_devfs="0"), facts()).step_names()


def test_fstab_lines_become_bind_and_tmpfs_mounts_undone_in_reverse():
    text = (f"/usr/src\t{ROOT}/usr/src\tnullfs\tro\t0\t0\t# Added by iocage on 2024-01-01 10:00:00\n"
            "/data /mnt/my\\040data nullfs rw 0 0\n"
            "tmpfs /tmp tmpfs rw,mode=1777 0 0\n"
            "proc /proc procfs rw 0 0\n\n# a comment\n")
    mounts = parse_fstab("www1", text, ROOT)
    assert [(m.source, m.target, m.fstype, m.options) for m in mounts] == [
        ("/usr/src", "/usr/src", "bind", "ro"), ("/data", "/mnt/my data", "bind", "rw"),
        ("tmpfs", "/tmp", "tmpfs", "rw,mode=1777")]
    fstab = step(build_linux_plan("www1", cfg(), facts(fstab=text)), "mount.fstab")
    assert [a.args[3] for a in fstab.do] == ["/usr/src", "/mnt/my data", "/tmp"]
    assert [(a.args[1], a.needs) for a in fstab.undo] == [("/tmp", 3), ("/mnt/my data", 2), ("/usr/src", 1)]
    runner = LinuxRunner(rundir=None, console_log=None)  # type: ignore[arg-type]
    assert runner.describe(fstab.do[0]) == f"mount --bind -o ro /usr/src {ROOT}/usr/src"
    assert runner.describe(fstab.do[2]) == f"mount -t tmpfs -o rw,mode=1777 tmpfs {ROOT}/tmp"


def test_fstab_from_a_moved_iocroot_and_bad_lines():
    moved = "/src /old/iocage/jails/www1/root/usr/src nullfs ro 0 0\n"
    assert parse_fstab("www1", moved, ROOT)[0].target == "/usr/src"
    for bad, why in [("/a relative nullfs ro 0 0", "not under"), ("/a /b/../c nullfs ro 0 0", "not under"),
                     ("/a /b nfs rw 0 0", "nfs cannot be mounted"), ("/a /b nullfs", "expected 6 fields")]:
        with pytest.raises(UnsupportedOnLinux, match=why):
            parse_fstab("www1", bad, ROOT)


@pytest.mark.parametrize("props,mode", [
    ({}, "private"), ({"ip4": "inherit"}, "host"), ({"ip6": "inherit"}, "host"), ({"vnet": "1"}, "vnet"),
    ({"vnet": "1", "ip4_addr": "vnet0|10.0.0.2/24"}, "vnet")])
def test_network_modes(props, mode):
    assert network_mode("www1", cfg(**props)) == mode


@pytest.mark.parametrize("props", [{"ip4_addr": "em0|192.0.2.10/24"}, {"ip6_addr": "2001:db8::2"},
                                   {"ip4": "inherit", "ip4_addr": "192.0.2.10"}])
def test_shared_ip_is_refused(props):
    with pytest.raises(UnsupportedOnLinux, match="shared-IP mode"):
        build_linux_plan("www1", cfg(**props), facts())


def test_vnet_interfaces_addresses_and_routes():
    plan = build_linux_plan("www1", cfg(vnet="1", interfaces="vnet0:bridge0,vnet1:none",
                                        ip4_addr="vnet0|10.1.0.2/24,vnet1|10.2.0.2", defaultrouter="10.1.0.1",
                                        ip6_addr="vnet0|2001:db8::2/64", defaultrouter6="fe80::1%vnet0",
                                        vnet0_mac="02ff60000001 02ff60000002", vnet1_mtu="9000"), facts())
    vnet = step(plan, "vnet.interface")
    argvs = [" ".join(a.args) for a in vnet.do]
    ns = "nsenter --target {pid} --net"
    assert argvs == [
        "ip link add vnet0.3 address 02:ff:60:00:00:01 type veth peer name epair0b address 02:ff:60:00:00:02 "
        "netns {pid}",
        "bridge0 vnet0.3",
        "ip link set vnet0.3 up",
        f"{ns} ip addr add 10.1.0.2/24 dev epair0b",
        f"{ns} ip -6 addr add 2001:db8::2/64 dev epair0b",
        f"{ns} ip link set epair0b up",
        "ip link add vnet1.3 type veth peer name epair1b netns {pid}",
        "ip link set vnet1.3 mtu 9000",
        f"{ns} ip link set epair1b mtu 9000",
        "ip link set vnet1.3 up",
        f"{ns} ip addr add 10.2.0.2/32 dev epair1b",
        f"{ns} ip link set epair1b up",
        f"{ns} ip route add default via 10.1.0.1",
        f"{ns} ip -6 route add default via fe80::1 dev epair0b",
    ]
    assert vnet.do[1].op == "bridge"
    assert [(a.op, a.args, a.needs) for a in vnet.undo] == [
        ("link_del", ("vnet1.3",), 7), ("link_del", ("vnet0.3",), 1), ("unbridge", ("bridge0",), 2)]
    assert "vnet.interface" in plan.step_names()


@pytest.mark.parametrize("props,why", [({"vnet": "1", "bpf": "1", "dhcp": "1", "ip4_addr": "vnet0|DHCP"}, "DHCP"),
                                       ({"vnet": "1", "ip4_addr": "vnet2|10.0.0.2"}, "not in interfaces")])
def test_vnet_refusals(props, why):
    with pytest.raises(UnsupportedOnLinux, match=why):
        build_linux_plan("www1", cfg(**props), facts())


@pytest.mark.parametrize("resolver,content", [
    ("/etc/resolv.conf", "nameserver 192.0.2.1\n"), ("none", "nameserver 192.0.2.1\n"),
    ("nameserver 1.1.1.1;search lan", "nameserver 1.1.1.1\nsearch lan\n"), ("/dev/null", None)])
def test_resolver(resolver, content):
    plan = build_linux_plan("www1", cfg(resolver=resolver, host_time="0"), facts())
    writes = [a for s in plan.steps if s.name == "resolver" for a in s.do]
    assert [a.args for a in writes] == ([] if content is None else [(ROOT, "/etc/resolv.conf", content)])


def test_localtime_copied_when_host_time():
    resolver = step(build_linux_plan("www1", cfg(), facts()), "resolver")
    assert resolver.do[-1] == op("copy", "/etc/localtime", ROOT, "/etc/localtime")
    plan = build_linux_plan("www1", cfg(host_time="0", resolver="/dev/null"), facts())
    assert "resolver" not in plan.step_names()


def test_clean_env_keeps_the_callers_language():
    env = clean_env({"LANG": "de_DE.UTF-8", "TERM": "vt100", "SECRET": "x"})
    assert env["LANG"] == env["LC_ALL"] == "de_DE.UTF-8" and env["TERM"] == "vt100" and "SECRET" not in env
    assert clean_env({})["LANG"] == "en_US.UTF-8" and clean_env({})["TERM"] == "xterm-256color"
