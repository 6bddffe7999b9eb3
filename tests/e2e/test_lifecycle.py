"""start → exec → stop with real Linux jails from the test release; nothing left behind."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iocjail.site.config import rundir
from tests.e2e.conftest import assert_same_host, host_state, pid_namespace_members
from tests.support.cli import iocjail

IOCJAIL_BIN = str(Path(sys.executable).parent / "iocjail")


def journal(pool: str, name: str) -> dict:
    return json.loads((rundir() / "jails" / pool / f"{name}.json").read_text())


def test_start_exec_stop_leaves_nothing(jails, zpool):
    jails.make("www1", host_hostname="web-one")
    before = host_state(zpool.name, zpool.mountpoint)
    result = iocjail("start", "www1")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["* Starting www1", "  + Started OK", "  + Starting services OK",
                                          "  + Executing poststart OK"]
    data = journal(zpool.name, "www1")
    assert data["state"] == "up" and data["jid"] >= 1
    holder = int(data["ctx"]["pid"])
    ns = os.readlink(f"/proc/{holder}/ns/pid")

    hostname = iocjail("exec", "www1", "hostname")
    assert (hostname.exit_code, hostname.output) == (0, "web-one\n")
    ps = iocjail("exec", "www1", "ps", "-o", "pid,args")
    assert ps.exit_code == 0, ps.output
    rows = [line.split(None, 1) for line in ps.output.splitlines()[1:]]
    pids = {int(pid) for pid, _ in rows}
    assert 1 in pids and max(pids) < 100  # its own pid namespace: the host's pids are not there
    assert set(pid_namespace_members(ns)) >= {holder}
    assert rows[0][1].split()[2:4] == ["-S", str(Path(__file__).parents[2] / "iocjail/platform/linux_holder.py")]
    assert [args for _, args in rows[1:]] == ["ps -o pid,args"]  # nothing of the host
    assert (jails.root("www1") / "var" / "run" / "rc.started").exists()  # exec_start ran /etc/rc
    assert iocjail("get", "state", "www1").output == "up\n"
    assert iocjail("get", "jid", "www1").output == f"{data['jid']}\n"

    result = iocjail("stop", "www1")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["* Stopping www1", "  + Executing prestop OK", "  + Stopping services OK",
                                          "  + Removing jail process OK", "  + Executing poststop OK"]
    assert pid_namespace_members(ns) == []
    assert not (jails.root("www1") / "var" / "run" / "rc.started").exists()  # exec_stop ran rc.shutdown
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), jids=(data["jid"],))
    assert iocjail("get", "state", "www1").output == "down\n"


def test_destroy_stops_a_running_jail_first_and_leaves_nothing(jails, zpool):
    jails.make("www1")
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("start", "www1").exit_code == 0
    jid = journal(zpool.name, "www1")["jid"]
    result = iocjail("destroy", "-f", "www1")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "* Stopping www1" and result.output.endswith("Destroyed www1\n")
    assert not jails.jail_path("www1").exists()
    after = host_state(zpool.name, zpool.mountpoint)
    gone = str(jails.jail_path("www1"))
    assert all(m.split()[0].startswith(gone) for m in set(before.mounts) - set(after.mounts))
    assert_same_host(dataclasses.replace(before, mounts=after.mounts), after, jids=(jid,))


def test_stop_kills_what_ignores_sigterm_after_stop_timeout(jails, zpool):
    # a daemon that ignores SIGTERM: stop waits stop_timeout, then SIGKILL
    jails.make("www1", stop_timeout="2", exec_stop="/bin/sh -c true",
               exec_start="/bin/sh -c \"(trap '' TERM; while :; do sleep 1; done) >/dev/null 2>&1 &\"")
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("start", "www1").exit_code == 0
    data = journal(zpool.name, "www1")
    ns = os.readlink(f"/proc/{data['ctx']['pid']}/ns/pid")
    assert len(pid_namespace_members(ns)) >= 2  # the holder and the stubborn loop
    started = time.monotonic()
    result = iocjail("stop", "www1")
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert 2 <= took < 15, took  # it waited for the timeout, not for ever
    assert pid_namespace_members(ns) == []
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), jids=(data["jid"],))


def test_stop_force_skips_the_hooks_but_releases_everything(jails, zpool):
    jails.make("www1", exec_stop="/bin/sh -c 'touch /stop-ran'", exec_prestop="/bin/sh -c 'echo x > /dev/null'",
               exec_poststop=f"/bin/sh -c 'touch {zpool.mountpoint}/poststop-ran'")
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("start", "www1").exit_code == 0
    data = journal(zpool.name, "www1")
    ns = os.readlink(f"/proc/{data['ctx']['pid']}/ns/pid")
    result = iocjail("stop", "-f", "www1")
    assert result.exit_code == 0, result.output
    assert not (jails.root("www1") / "stop-ran").exists()
    assert not (zpool.mountpoint / "poststop-ran").exists()
    assert pid_namespace_members(ns) == []
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), jids=(data["jid"],))
    # without -f the hooks run
    assert iocjail("start", "www1").exit_code == 0
    assert iocjail("stop", "www1").exit_code == 0
    assert (jails.root("www1") / "stop-ran").exists() and (zpool.mountpoint / "poststop-ran").exists()


def test_a_basejail_made_by_create_runs_with_its_base_read_only(jails, zpool):
    result = iocjail("create", "-r", "13.2-RELEASE", "-n", "base1", "-b")
    assert result.exit_code == 0, result.output
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("start", "base1").exit_code == 0
    try:
        data = journal(zpool.name, "base1")
        written = iocjail("exec", "base1", "touch /bin/x")
        assert written.exit_code != 0 and "Read-only file system" in written.output
        mounts = iocjail("exec", "base1", "cat /proc/mounts").output
        assert " /bin " in mounts and " /tmp " not in mounts
        assert iocjail("exec", "base1", "touch /tmp/ok").exit_code == 0  # the jail's own dirs stay writable
        assert iocjail("exec", "base1", "hostname").output == "base1\n"
    finally:
        assert iocjail("stop", "base1").exit_code == 0
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), jids=(data["jid"],))


def test_exec_all_runs_in_every_running_jail_in_priority_order(jails, zpool):
    jails.make("a", host_hostname="a-host", priority="10")
    jails.make("b", host_hostname="b-host", priority="5")
    jails.make("c", host_hostname="c-host", priority="1")
    assert iocjail("start", "a", "b").exit_code == 0
    result = iocjail("exec", "ALL", "hostname")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["* b", "b-host", "* a", "a-host",
                                          "* skipped, not running (-f starts them): c"]
    assert iocjail("get", "state", "c").output == "down\n"

    # a failing command: the others still run, each failure named, the first status is the exit status
    failing = iocjail("exec", "ALL", 'test "$(hostname)" = a-host || exit 4')
    assert failing.exit_code == 4
    assert failing.stderr.splitlines() == ["iocjail: b: exit status 4"]
    assert failing.stdout.splitlines()[:2] == ["* b", "* a"]

    # the installed entry point: jails' output straight to the terminal's stdout, in order
    done = subprocess.run([IOCJAIL_BIN, "exec", "ALL", "hostname"], capture_output=True, text=True, env=os.environ)
    assert (done.returncode, done.stdout.splitlines()[:4]) == (0, ["* b", "b-host", "* a", "a-host"])

    # -f: jails not running are started first
    forced = iocjail("exec", "-f", "ALL", "hostname")
    assert forced.exit_code == 0, forced.output
    assert forced.output.splitlines()[:3] == ["* c", "* Starting c", "  + Started OK"]
    assert forced.output.splitlines()[-4:] == ["* b", "b-host", "* a", "a-host"]
    assert iocjail("get", "state", "c").output == "up\n"
