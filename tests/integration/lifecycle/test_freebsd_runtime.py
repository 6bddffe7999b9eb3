"""The real services (start, stop, exec, console, the running state) with the FreeBSD runtime
selected, on a real pool, against a FreeBSD host simulated at the command level
(tests/support/freebsd_host.py): the exact commands, in order, the journal, config.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iocjail.errors import JailNotRunning, JailRunning
from iocjail.lifecycle.engine import StepFailed
from iocjail.lifecycle.freebsd.checks import HOST_SYSCTLS, HostFeatureMissing
from iocjail.lifecycle.journal import Journal
from iocjail.model.vnet import colon_mac, generate_mac_pair
from iocjail.platform.shell import Result
from iocjail.site import config, state
from iocjail.services import enter, lifecycle, listing, packages, props, upgrades
from iocjail.lifecycle.freebsd.runtime import FreeBSDRuntime
from iocjail.site.host import Host
from iocjail.lifecycle.runtime import Running
from tests.support.cli import iocjail
from tests.support.freebsd_host import FreeBSDHost
from tests.support.jails import make_jail, thin_config

NOW = "2024-05-06 07:08:09"
FACTS = [("jls", "--libxo", "json", "-d", "-v"), ("uname", "-r"), ("devfs", "rule", "showsets"), ("ifconfig",),
         ("netstat", "-rn", "--libxo", "json"), ("sysctl", "-i", *HOST_SYSCTLS)]
MOUNT_P = ("mount", "-p")  # the stop's last look for anything still mounted under the jail's root
HOOKS = dict(exec_prestart="echo prestart", exec_created="echo created", exec_poststart="echo poststart",
             exec_prestop="echo prestop", exec_poststop="echo poststop")


@pytest.fixture(autouse=True)
def _own_rundir(tmp_path, monkeypatch):
    monkeypatch.setenv("IOCJAIL_RUNDIR", str(tmp_path / "rundir"))  # this test's journals and JIDs only


@pytest.fixture
def pool(zpool):
    assert iocjail("activate", zpool.name).exit_code == 0
    return zpool.name


@pytest.fixture
def etc(tmp_path):
    path = tmp_path / "etc"
    path.mkdir()
    (path / "resolv.conf").write_text("nameserver 192.0.2.53\n")
    return path


def freebsd(fb: FreeBSDHost, etc: Path, conf_dir: Path) -> Host:
    """A Host whose runtime is FreeBSD's, every process going to the simulated host."""
    runtime = FreeBSDRuntime(run=fb.run, logged=fb.logged, interactive=fb.interactive, etc=etc,
                             conf_dir=str(conf_dir))
    return Host(pool_override=Host.from_env().pool_override, runtime=runtime)


def jail(pool: str, name: str, **cfg: str) -> Path:
    path = make_jail(pool, name, thin_config(name, **cfg))
    for folder in ("etc", "dev"):  # what a FreeBSD release's root has (devfs mounts on /dev)
        (path / "root" / folder).mkdir()
    return path


def stored(path: Path) -> dict[str, str]:
    return json.loads((path / "config.json").read_text())


def journal_path(pool: str, name: str) -> Path:
    return config.rundir() / "jails" / pool / f"{name}.json"


def test_start_and_stop_run_the_freebsd_plan_and_undo_it_from_the_journal(pool, etc, tmp_path):
    fb = FreeBSDHost(devfs_sets=(1, 2, 3, 4, 5))
    host = freebsd(fb, etc, tmp_path / "run")
    path = jail(pool, "www1", ip4_addr="em0|192.0.2.10/24", devfs_ruleset="5", **HOOKS)
    conf = str(tmp_path / "run" / "jail.ioc-www1.conf")

    lifecycle.start(host, "www1", now=lambda: NOW)

    assert fb.calls == [*FACTS,
                        ("ifconfig", "em0", "inet", "192.0.2.10/24", "alias"),
                        ("/bin/sh", "-c", "echo prestart"),
                        ("jail", "-f", conf, "-c", "ioc-www1"),
                        ("/bin/sh", "-c", "echo created"),
                        ("jexec", "-l", "ioc-www1", "/bin/sh", "-c", "/bin/sh /etc/rc"),
                        ("/bin/sh", "-c", "echo poststart")]
    assert 'jid = "1";' in Path(conf).read_text() and f'path = "{path}/root";' in Path(conf).read_text()
    assert fb.envs[7]["JNAME"] == "ioc-www1" and fb.envs[7]["JID"] == "1"  # iocage's hook environment
    assert (path / "root" / "etc" / "resolv.conf").read_text() == "nameserver 192.0.2.53\n"
    assert Path(path / "root" / "dev" / "log").readlink() == Path("../var/run/log")
    journal = Journal.load(journal_path(pool, "www1"))
    assert (journal.state, journal.jid, journal.facts["platform"]) == ("up", 1, "freebsd")
    assert [r.step.name for r in journal.records] == ["exec.prepare", "ip4.addr", "exec.prestart", "jail",
                                                      "exec.created", "resolver", "exec.start", "exec.poststart"]
    assert all(r.status == "done" for r in journal.records)
    assert stored(path)["last_started"] == NOW
    assert state.running(host) == {"www1": Running("www1", 1, "up")}

    # the config changes; stop undoes what the start applied, from a fresh runtime and the journal alone
    (path / "config.json").write_text(json.dumps({**stored(path), "ip4_addr": "em0|192.0.2.99/24"}))
    fb.calls.clear()
    lifecycle.stop(freebsd(fb, etc, tmp_path / "elsewhere"), "www1")

    assert fb.calls == [("/bin/sh", "-c", "echo prestop"),
                        ("jexec", "-l", "ioc-www1", "/bin/sh", "-c", "/bin/sh /etc/rc.shutdown"),
                        ("jail", "-f", conf, "-r", "ioc-www1"),
                        ("/bin/sh", "-c", "echo poststop"),
                        ("ifconfig", "em0", "inet", "192.0.2.10", "-alias"), MOUNT_P]
    assert not Path(conf).exists() and not journal_path(pool, "www1").exists()
    assert fb.jails == {} and state.running(host) == {}


def test_a_vnet_start_saves_the_macs_it_generated(pool, etc, tmp_path):
    fb = FreeBSDHost()
    host = freebsd(fb, etc, tmp_path)
    path = jail(pool, "app1", vnet="1", interfaces="vnet0:bridge0", ip4_addr="vnet0|10.0.0.5/24",
                defaultrouter="10.0.0.1", mac_prefix="02ff60")
    assert "vnet0_mac" not in stored(path)
    mac_a, mac_b = generate_mac_pair("02ff60", "app1", "vnet0")

    lifecycle.start(host, "app1", now=lambda: NOW)

    inside = ("jexec", "ioc-app1")
    create = ("jail", "-f", str(tmp_path / "jail.ioc-app1.conf"), "-c", "ioc-app1")
    assert fb.changing()[fb.changing().index(create):] == [
        create,
        ("/bin/sh", "-c", "/usr/bin/true"),  # exec_created
        ("ifconfig", "epair", "create"), ("ifconfig", "epair0a", "name", "vnet0.1"),
        ("ifconfig", "vnet0.1", "mtu", "1500"), ("ifconfig", "vnet0.1", "link", colon_mac(mac_a)),
        ("ifconfig", "vnet0.1", "description", "associated with jail: app1 as nic: epair0b"),
        ("ifconfig", "epair0b", "vnet", "ioc-app1"),
        (*inside, "ifconfig", "epair0b", "mtu", "1500"), (*inside, "ifconfig", "epair0b", "name", "epair0b"),
        (*inside, "ifconfig", "epair0b", "link", colon_mac(mac_b)),
        ("ifconfig", "bridge0", "addm", "vnet0.1", "up"), ("ifconfig", "vnet0.1", "up"),
        (*inside, "ifconfig", "epair0b", "inet", "10.0.0.5/24", "alias"), (*inside, "ifconfig", "epair0b", "up"),
        (*inside, "route", "add", "default", "10.0.0.1"),
        ("jexec", "-l", "ioc-app1", "/bin/sh", "-c", "/bin/sh /etc/rc"),
        ("/bin/sh", "-c", "/usr/bin/true")]  # exec_poststart
    assert stored(path)["vnet0_mac"] == f"{mac_a} {mac_b}" and stored(path)["last_started"] == NOW

    fb.calls.clear()
    lifecycle.stop(host, "app1")
    assert ("ifconfig", "bridge0", "deletem", "vnet0.1") in fb.calls
    assert fb.calls.index(("ifconfig", "vnet0.1", "destroy")) > fb.calls.index(
        ("ifconfig", "bridge0", "deletem", "vnet0.1"))

    fb.calls.clear()  # the next start uses the stored pair
    lifecycle.start(host, "app1", now=lambda: "later")
    assert ("ifconfig", "vnet0.1", "link", colon_mac(mac_a)) in fb.calls
    assert stored(path)["vnet0_mac"] == f"{mac_a} {mac_b}" and stored(path)["last_started"] == "later"
    lifecycle.stop(host, "app1")


@pytest.mark.parametrize("fail,undo", [
    (("jail", "-f"), [("/bin/sh", "-c", "echo poststop"), ("devfs", "rule", "-s", "1000", "delset"),
                      ("ifconfig", "em0", "inet", "192.0.2.10", "-alias"), MOUNT_P]),
    (("rctl", "-a"), [("/bin/sh", "-c", "echo prestop"),
                      ("jexec", "-l", "ioc-www1", "/bin/sh", "-c", "/bin/sh /etc/rc.shutdown"),
                      ("jail", "-f", "CONF", "-r", "ioc-www1"), ("/bin/sh", "-c", "echo poststop"),
                      ("devfs", "rule", "-s", "1000", "delset"), ("ifconfig", "em0", "inet", "192.0.2.10", "-alias"),
                      MOUNT_P]),
])
def test_a_failing_step_is_undone_completely(pool, etc, tmp_path, fail, undo):
    fb = FreeBSDHost(fail=fail)
    host = freebsd(fb, etc, tmp_path)
    path = jail(pool, "www1", ip4_addr="em0|192.0.2.10/24", memoryuse="deny=1g", **HOOKS)
    before = (path / "config.json").read_bytes()
    conf = str(tmp_path / "jail.ioc-www1.conf")

    with pytest.raises(StepFailed) as failed:
        lifecycle.start(host, "www1", now=lambda: NOW)

    assert "injected failure" in str(failed.value)
    failing = next(i for i, c in enumerate(fb.calls) if c[:len(fail)] == fail)
    assert fb.calls[failing + 1:] == [tuple(conf if w == "CONF" else w for w in c) for c in undo]
    assert fb.jails == {} and not Path(conf).exists() and not journal_path(pool, "www1").exists()
    assert (path / "config.json").read_bytes() == before  # no last_started, nothing saved


@pytest.mark.parametrize("cfg,sysctls,missing", [
    (dict(memoryuse="deny=1g"), {"kern.racct.enable": "0"}, "kern.racct.enable=1"),
    (dict(vnet="1", ip4_addr="vnet0|10.0.0.5/24", mac_prefix="02ff60"), {}, "kern.features.vimage"),
])
def test_host_checks_refuse_before_anything_changes(pool, etc, tmp_path, cfg, sysctls, missing):
    fb = FreeBSDHost(sysctls=sysctls)
    path = jail(pool, "www1", **cfg)
    before = (path / "config.json").read_bytes()
    with pytest.raises(HostFeatureMissing, match=missing):
        lifecycle.start(freebsd(fb, etc, tmp_path), "www1")
    assert fb.calls == FACTS and fb.changing() == []
    assert not journal_path(pool, "www1").exists() and not (tmp_path / "jail.ioc-www1.conf").exists()
    assert (path / "config.json").read_bytes() == before


def test_exec_and_console_enter_the_running_jail_with_jexec(pool, etc, tmp_path):
    fb = FreeBSDHost()
    host = freebsd(fb, etc, tmp_path)
    jail(pool, "www1", exec_fib="2", login_flags="-f admin")
    with pytest.raises(JailNotRunning):
        enter.exec_in(host, "www1", ["id"], capture=True)
    assert not any("jexec" in c[:3] for c in fb.calls)

    lifecycle.start(host, "www1")
    fb.answers[("setfib", "2", "jexec", "-U", "www", "ioc-www1", "/bin/sh", "-c", "id; exit 3")] = Result(
        (), 3, "uid=80(www)\n", "")
    fb.calls.clear()
    done = enter.exec_in(host, "www", ["id; exit 3"], jail_user="www", capture=True, stdin=b"in")
    assert (done.code, done.stdout) == (3, "uid=80(www)\n")
    assert fb.calls == [("jls", "--libxo", "json", "-d", "-v"),
                        ("setfib", "2", "jexec", "-U", "www", "ioc-www1", "/bin/sh", "-c", "id; exit 3")]
    assert fb.envs[-1]["USER"] == "www" and fb.envs[-1]["HOME"] == "/"

    fb.calls.clear()
    assert enter.console(host, "www1").code == 0  # a terminal: run interactively
    assert fb.calls[-1] == ("setfib", "2", "jexec", "-u", "root", "ioc-www1", "login", "-p", "-f", "admin")

    fb.jails.clear()  # the jail was removed behind iocjail's back: it is not running any more
    with pytest.raises(JailNotRunning):
        enter.exec_in(host, "www1", ["id"], capture=True)
    assert state.running(host) == {}


def test_stop_completes_when_the_jail_was_removed_behind_iocjails_back(pool, etc, tmp_path):
    fb = FreeBSDHost()
    host = freebsd(fb, etc, tmp_path)
    jail(pool, "www1", ip4_addr="em0|192.0.2.10/24", **HOOKS)
    lifecycle.start(host, "www1")
    fb.jails.clear()  # `jail -r ioc-www1` by hand: the alias and the devfs ruleset are still there
    fb.calls.clear()
    lifecycle.stop(host, "www1")
    jls = ("jls", "--libxo", "json", "-d", "-v")
    assert fb.calls == [("/bin/sh", "-c", "echo prestop"),
                        ("jexec", "-l", "ioc-www1", "/bin/sh", "-c", "/bin/sh /etc/rc.shutdown"), jls,
                        ("jail", "-f", str(tmp_path / "jail.ioc-www1.conf"), "-r", "ioc-www1"), jls,
                        ("/bin/sh", "-c", "echo poststop"),
                        ("devfs", "rule", "-s", "1000", "delset"),
                        ("ifconfig", "em0", "inet", "192.0.2.10", "-alias"), MOUNT_P]
    assert not journal_path(pool, "www1").exists()


def test_list_and_get_ask_jls_once(pool, etc, tmp_path):
    fb = FreeBSDHost()
    host = freebsd(fb, etc, tmp_path)
    for name in ("a1", "b1", "c1"):
        jail(pool, name)
    lifecycle.start(host, ["a1", "c1"])
    fb.calls.clear()
    rows = {r.name: (r.jid, r.state) for r in listing.jails(host)}
    assert rows == {"a1": (1, "up"), "b1": (None, "down"), "c1": (2, "up")}
    assert props.get(host, "c1", "jid") == "2" and props.get(host, "b1", "state") == "down"
    assert props.get_recursive(host, "state") == [("a1", "up"), ("b1", "down"), ("c1", "up")]
    assert fb.calls == [("jls", "--libxo", "json", "-d", "-v")] * 4
    lifecycle.stop(host, ["ALL"])
    assert fb.jails == {}


def test_start_refuses_a_running_jail_and_recovers_a_crashed_one(pool, etc, tmp_path):
    fb = FreeBSDHost()
    host = freebsd(fb, etc, tmp_path)
    jail(pool, "www1")
    lifecycle.start(host, "www1")
    with pytest.raises(JailRunning, match="jid 1"):
        lifecycle.start(host, "www1")
    path = journal_path(pool, "www1")
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "state": "starting"}))  # a start that crashed halfway
    fb.calls.clear()
    lifecycle.start(host, "www1")  # undoes the leftover first, then starts afresh
    conf = str(tmp_path / "jail.ioc-www1.conf")
    removed, created = ("jail", "-f", conf, "-r", "ioc-www1"), ("jail", "-f", conf, "-c", "ioc-www1")
    assert fb.calls.index(removed) < fb.calls.index(created)
    assert state.running(host) == {"www1": Running("www1", 1, "up")}
    lifecycle.stop(host, "www1")


def test_stop_plan_of_a_running_jail_is_the_undo_of_its_journal(pool, etc, tmp_path):
    fb = FreeBSDHost()
    host = freebsd(fb, etc, tmp_path / "run")
    path = jail(pool, "www1", ip4_addr="em0|192.0.2.10/24")
    assert lifecycle.journal_stop_plan(host, "www1") is None  # not running: no journal
    lifecycle.start(host, "www1", now=lambda: NOW)
    (path / "config.json").write_text(json.dumps({**stored(path), "ip4_addr": "em0|192.0.2.99/24"}))
    calls = len(fb.calls)
    lines = lifecycle.journal_stop_plan(host, "www1")
    assert lines is not None and lines[0] == "# stop plan of www1 (jid 1, up): undo what its start applied"
    assert "  ifconfig em0 inet 192.0.2.10 -alias" in lines and "192.0.2.99" not in "\n".join(lines)
    assert len(fb.calls) == calls  # a plan runs nothing


class PkgExecutor:
    """Runs the pkg plan's commands as the simulated host would: `fails[package]` attempts fail."""

    def __init__(self, fb: FreeBSDHost, **fails: int) -> None:
        self.fb, self.fails, self.ran = fb, dict(fails), []

    def run(self, command) -> int:
        self.ran.append((command.argv, dict(command.env or {})))
        assert "ioc-www1" in self.fb.jails, "pkg -j needs the jail running"
        package = command.argv[-1]
        if self.fails.get(package, 0) > 0:
            self.fails[package] -= 1
            return 1
        return 0

    def exists(self, path: str) -> bool:
        return False


def test_pkg_install_on_freebsd_bootstraps_retries_and_stops_the_jail_again(pool, etc, tmp_path):
    fb = FreeBSDHost()
    host = freebsd(fb, etc, tmp_path / "run")
    jail(pool, "www1", ip4_addr="em0|192.0.2.10/24")
    executor = PkgExecutor(fb, nginx=2, curl=99)
    failed = packages.install(host, "www1", ["nginx", "curl"], retries=3, executor=executor)
    assert failed == ["curl"]
    argvs = [argv for argv, _ in executor.ran]
    assert argvs[0] == ("pkg-static", "-j", "ioc-www1", "install", "-q", "-y", "pkg")  # no pkg in the jail yet
    assert argvs[1:] == [("pkg", "-j", "ioc-www1", "install", "-q", "-y", "nginx")] * 3 + \
        [("pkg", "-j", "ioc-www1", "install", "-q", "-y", "curl")] * 3
    assert all(env.get("ASSUME_ALWAYS_YES") == "yes" for _, env in executor.ran), executor.ran[0][1]
    assert ("jail", "-f", str(tmp_path / "run" / "jail.ioc-www1.conf"), "-c", "ioc-www1") in fb.calls
    assert fb.jails == {} and state.running(host) == {}  # started for the install, stopped again


def test_the_reinstall_offered_after_an_upgrade_is_pkg_upgrade_f_in_the_jail(pool, etc, tmp_path):
    fb = FreeBSDHost()
    host = freebsd(fb, etc, tmp_path / "run")
    path = jail(pool, "www1", ip4_addr="em0|192.0.2.10/24")
    (path / "root" / "usr" / "local" / "sbin").mkdir(parents=True)
    (path / "root" / "usr" / "local" / "sbin" / "pkg").write_text("")  # pkg is there: no bootstrap
    executor = PkgExecutor(fb)
    result = upgrades.reinstall_packages(host, "www1", executor=executor)
    assert result.code == 0
    assert [argv for argv, _ in executor.ran] == [("pkg", "-j", "ioc-www1", "upgrade", "-f", "-y")]
    assert "ioc-www1" in fb.jails  # pkg needs it running: started (and left running, as iocage does)
    lifecycle.stop(host, "www1")
