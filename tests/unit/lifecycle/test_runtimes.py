"""The runtimes the engine drives: chosen by sys.platform, and the FreeBSD one's liveness, running
state and the argv that enter a jail, against a simulated FreeBSD host (tests/support/freebsd_host.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from iocjail.errors import UsageError
from iocjail.lifecycle.journal import Journal
from iocjail.lifecycle import select as runtimes
from iocjail.site import config, state
from iocjail.lifecycle.freebsd.runtime import FreeBSDRuntime
from iocjail.site.host import Host
from iocjail.services.enter import command_argv
from iocjail.lifecycle.linux.runtime import LinuxRuntime
from iocjail.lifecycle.runtime import Running
from tests.support.freebsd_host import FreeBSDHost

JLS = ("jls", "--libxo", "json", "-d", "-v")


@pytest.fixture(autouse=True)
def _own_rundir(tmp_path, monkeypatch):
    monkeypatch.setenv("IOCJAIL_RUNDIR", str(tmp_path / "run"))  # this test's journals only


@pytest.mark.parametrize("platform,kind", [("linux", LinuxRuntime), ("freebsd14", FreeBSDRuntime)])
def test_the_runtime_follows_sys_platform(platform, kind):
    assert isinstance(runtimes.select(platform), kind)


def test_no_runtime_elsewhere():
    with pytest.raises(runtimes.RuntimeMissing, match="not on darwin"):
        runtimes.select("darwin")


def test_a_host_keeps_the_runtime_it_was_given():
    given = FreeBSDRuntime(run=FreeBSDHost().run)
    assert state.of(Host(runtime=given)) is given


def fbsd(fb: FreeBSDHost) -> FreeBSDRuntime:
    return FreeBSDRuntime(run=fb.run, logged=fb.logged, interactive=fb.interactive)


def journal(name: str = "www1", jid: int = 3) -> Journal:
    return Journal(None, name, jid)


def jail(name: str, jid: int, path: str, state: str = "ACTIVE") -> dict[str, object]:
    return {"jid": jid, "name": name, "path": path, "hostname": name, "state": state}


# -- entering a jail ---------------------------------------------------------------------------

def test_exec_is_jexec_as_root_by_default_with_the_clean_environment():
    cmd = fbsd(FreeBSDHost()).exec_command(journal(), {}, command_argv(["ls /; echo"]), None, None)
    assert cmd.argv == ["jexec", "-u", "root", "ioc-www1", "/bin/sh", "-c", "ls /; echo"]
    assert cmd.env["PATH"] == "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:/root/bin"
    assert cmd.env["HOME"] == "/" and cmd.env["USER"] == "root"


def test_exec_users_fib_and_kernel_name():
    rt = fbsd(FreeBSDHost())
    cmd = rt.exec_command(journal("web.1"), {"exec_fib": "2"}, ["id"], "www", None)
    assert cmd.argv == ["setfib", "2", "jexec", "-U", "www", "ioc-web_1", "id"]
    assert cmd.env["USER"] == "www"
    assert rt.exec_command(journal(), {}, ["id"], None, "admin").argv == ["jexec", "-u", "admin", "ioc-www1", "id"]
    with pytest.raises(UsageError, match="cannot be combined"):
        rt.exec_command(journal(), {}, ["id"], "www", "admin")


def test_exec_clean_off_keeps_the_callers_environment():
    cmd = fbsd(FreeBSDHost()).exec_command(journal(), {"exec_clean": "0"}, ["id"], None, None)
    assert cmd.env == dict(os.environ)


def test_console_is_login_through_jexec():
    rt = fbsd(FreeBSDHost())
    assert rt.console_command(journal(), {}).argv == ["jexec", "-u", "root", "ioc-www1", "login", "-p", "-f", "root"]
    cmd = rt.console_command(journal(), {"login_flags": "-f admin", "exec_fib": "1"})
    assert cmd.argv == ["setfib", "1", "jexec", "-u", "root", "ioc-www1", "login", "-p", "-f", "admin"]
    assert cmd.env["TERM"]


def test_commands_inside_go_through_the_hosts_run():
    fb = FreeBSDHost()
    fb.jails["ioc-x"] = jail("ioc-x", 1, "/x/root")
    rt = fbsd(fb)
    assert rt.run(["jexec", "ioc-x", "id"], env={"A": "1"}, input=b"").returncode == 0
    assert rt.interactive(["jexec", "-u", "root", "ioc-x", "login"], env={"A": "1"}) == 0
    assert rt.run(["jexec", "ioc-y", "id"], env={}, input=b"").stderr == 'jexec: jail "ioc-y" not found'
    assert fb.calls == [("jexec", "ioc-x", "id"), ("jexec", "-u", "root", "ioc-x", "login"), ("jexec", "ioc-y", "id")]
    assert fb.envs[:2] == [{"A": "1"}, {"A": "1"}]


# -- liveness and the running state ------------------------------------------------------------

@pytest.mark.parametrize("entry,alive", [
    (jail("ioc-www1", 3, "/i/jails/www1/root"), True),
    (jail("ioc-www1", 4, "/i/jails/www1/root"), False),  # another jail of that name: not the journal's
    (jail("ioc-www1", 3, "/i/jails/www1/root", "DYING"), False),
    (jail("ioc-other", 3, "/i/jails/other/root"), False),
])
def test_alive_is_the_journals_jid_under_its_name_in_one_jls_call(entry, alive):
    fb = FreeBSDHost()
    fb.jails[str(entry["name"])] = entry
    assert fbsd(fb).alive(journal()) is alive
    assert fb.calls == [JLS]


def test_taken_jids_come_from_one_jls_call_dying_jails_included():
    fb = FreeBSDHost()
    fb.jails = {"ioc-a": jail("ioc-a", 1, "/x"), "other": jail("other", 2, "/y", "DYING")}
    taken = fbsd(fb).taken()
    assert [jid for jid in range(1, 5) if taken(jid)] == [1, 2]
    assert fb.calls == [JLS]


def write_journal(name: str, data: dict[str, object], pool: str = "tank") -> None:
    path = config.rundir() / "jails" / pool / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def freebsd_host(fb: FreeBSDHost) -> Host:
    host = Host(runtime=fbsd(fb))
    host.use_pool("tank")
    host.remember_iocroot(Path("/tank/iocage"))
    return host


def test_running_on_freebsd_is_one_jls_call_joined_with_the_journals():
    fb = FreeBSDHost()
    write_journal("www1", {"jid": 3, "state": "up", "ctx": {}})
    write_journal("db1", {"jid": 4, "state": "stopping"})
    write_journal("gone", {"jid": 5, "state": "up"})  # its jail is no longer there
    write_journal("reused", {"jid": 6, "state": "up"})  # a newer jail holds the name
    fb.jails = {
        "ioc-www1": jail("ioc-www1", 3, "/tank/iocage/jails/www1/root"),
        "ioc-db1": jail("ioc-db1", 4, "/tank/iocage/jails/db1/root"),
        "ioc-reused": jail("ioc-reused", 9, "/elsewhere/jails/reused/root"),
        "ioc-old": jail("ioc-old", 7, "/tank/iocage/jails/old/root"),  # started by iocage: no journal
        "ioc-dying": jail("ioc-dying", 8, "/tank/iocage/jails/dying/root", "DYING"),
        "ioc-pool2": jail("ioc-pool2", 10, "/pool2/iocage/jails/pool2/root"),  # another pool's
        "web": jail("web", 11, "/tank/iocage/jails/web/root"),  # not iocage's name
    }
    assert state.running(freebsd_host(fb)) == {"www1": Running("www1", 3, "up"), "db1": Running("db1", 4, "stopping"),
                                               "old": Running("old", 7, "up")}
    assert fb.calls == [JLS]


def test_running_with_no_jails_needs_no_iocroot():
    fb = FreeBSDHost()
    host = Host(runtime=fbsd(fb))
    host.use_pool("tank")  # no iocroot known: asking for it would need zfs
    assert state.running(host) == {}
    assert fb.calls == [JLS]


def test_running_on_linux_reads_the_journals_alone():
    write_journal("a", {"jid": 1, "state": "up"})  # the minimal form is taken at its word
    write_journal("b", {"jid": 2, "state": "up", "ctx": {"pid": "999999999", "pid_start": "1"}})  # init gone
    host = Host(runtime=LinuxRuntime())
    host.use_pool("tank")
    assert state.running(host) == {"a": Running("a", 1, "up")}
