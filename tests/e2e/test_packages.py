"""`pkg` and `create -p` on real Linux jails: the jail's pkg_command runs inside it, its output
and exit status pass through; a jail without one says pkg is not available."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.cli import iocjail

IOCJAIL_BIN = str(Path(sys.executable).parent / "iocjail")
REL = "13.2-RELEASE"

# A package manager in miniature, taking pkg(8)'s arguments: `install -y NAME` records NAME in
# /var/db/fakepkg; `broken*` never installs; `flaky` fails its first attempt.
FAKEPKG = """#!/bin/sh
echo "fakepkg: $*"
[ "$1" = install ] && [ "$2" = -y ] || { echo "fakepkg: usage: install -y NAME" >&2; exit 64; }
case "$3" in
    broken*) echo "fakepkg: $3: no such package" >&2; exit 3 ;;
    flaky) n=$(cat /var/db/flaky-tries 2>/dev/null || echo 0); n=$((n + 1)); echo $n > /var/db/flaky-tries
           [ $n -ge 2 ] || { echo "fakepkg: flaky: mirror timeout" >&2; exit 1; } ;;
esac
mkdir -p /var/db/fakepkg && echo "$(hostname)" > "/var/db/fakepkg/$3"
"""


def test_pkg_without_pkg_command_says_it_is_not_available(jails):
    jails.make("www1")
    result = iocjail("pkg", "www1", "install", "-y", "nginx")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith(
        "iocjail: www1: no package manager: pkg(8) exists only on FreeBSD hosts, and this Linux jail has no "
        "pkg_command")
    assert iocjail("get", "state", "www1").output == "down\n"  # refused before anything ran


def test_pkg_runs_the_jails_pkg_command_inside_it_and_passes_output_and_exit_code(jails):
    jails.make("www1", host_hostname="web-one")
    assert iocjail("set", "pkg_command=/bin/busybox", "www1").exit_code == 0
    first = iocjail("pkg", "www1", "hostname")  # not running: started first, as iocage does
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[0] == "* Starting www1" and first.output.endswith("web-one\n")
    assert iocjail("get", "state", "www1").output == "up\n"

    out = iocjail("pkg", "www1", "sh", "-c", "echo to-out; echo to-err >&2; exit 7")
    assert out.exit_code == 7
    assert "to-out\n" in out.output and "to-err\n" in out.output
    # inside the jail: its own root
    (jails.root("www1") / "root" / "mark").write_text("in the jail\n")
    cat = iocjail("pkg", "www1", "cat", "/root/mark")
    assert (cat.exit_code, cat.output) == (0, "in the jail\n")
    # the installed entry point streams straight to its stdout/stderr and exits with pkg's status
    done = subprocess.run([IOCJAIL_BIN, "pkg", "www1", "sh", "-c", "echo streamed; echo oops >&2; exit 3"],
                          capture_output=True, text=True, env=os.environ)
    assert (done.returncode, done.stdout, done.stderr) == (3, "streamed\n", "oops\n")
    plan = iocjail("pkg", "--plan", "www1", "install", "-y", "nginx")
    assert plan.exit_code == 0
    assert plan.output.splitlines()[-1] == "# on Linux, inside the running jail: /bin/busybox install -y nginx"
    assert any(line.endswith("pkg -j ioc-www1 install -y nginx") for line in plan.output.splitlines())


def test_pkg_all_runs_where_there_is_a_package_manager_and_skips_the_rest(jails):
    jails.make("a", host_hostname="a-host", priority="10", pkg_command="/bin/busybox")
    jails.make("b", host_hostname="b-host", priority="5")
    jails.make("c", host_hostname="c-host", priority="20", pkg_command="/bin/busybox")
    result = iocjail("pkg", "ALL", "hostname")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [x for x in lines if not x.startswith("  + ")] == [
        "* a", "* Starting a", "a-host", "* c", "* Starting c", "c-host",
        "* b skipped: no package manager: pkg(8) exists only on FreeBSD hosts, and this Linux jail has no "
        "pkg_command (set it to a command in the jail that takes pkg's arguments: "
        "iocjail set pkg_command=/usr/local/sbin/pkg-wrapper b)"]
    assert iocjail("get", "state", "b").output == "down\n"  # nothing to run it for
    failing = iocjail("pkg", "ALL", "sh", "-c", 'test "$(hostname)" = c-host || exit 6')
    assert (failing.exit_code, failing.stderr.splitlines()) == (6, ["iocjail: a: exit status 6"])
    plan = iocjail("pkg", "--plan", "ALL", "upgrade", "-y")
    assert plan.exit_code == 0
    assert [x for x in plan.output.splitlines() if x.startswith("# on Linux")] == [
        "# on Linux: not available (the jail has no pkg_command)",
        "# on Linux, inside the running jail: /bin/busybox upgrade -y",
        "# on Linux, inside the running jail: /bin/busybox upgrade -y"]


def test_create_p_installs_with_retries_and_a_failure_keeps_the_jail(jails, tmp_path):
    fake = jails.iocroot / "releases" / REL / "root" / "usr" / "local" / "sbin" / "fakepkg"
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_text(FAKEPKG)
    fake.chmod(0o755)
    pkgs = tmp_path / "pkgs.json"
    pkgs.write_text(json.dumps({"pkgs": ["nginx", "flaky", "broken-one", "sudo"]}))
    result = iocjail("create", "-r", REL, "-n", "p1", "-p", str(pkgs), "pkg_command=/usr/local/sbin/fakepkg")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "  + nginx installed" in lines and "  + sudo installed" in lines
    assert "  + flaky: attempt 1 failed (exit 1)" in lines and "  + flaky installed" in lines
    assert [line for line in lines if line.startswith("  + broken-one")] == [
        f"  + broken-one: attempt {n} failed (exit 3)" for n in (1, 2, 3)]
    assert "    fakepkg: broken-one: no such package" in lines
    assert lines[-2:] == ["p1 successfully created!",
                          "p1: 1 of 4 packages failed to install: broken-one"]
    installed = jails.root("p1") / "var" / "db" / "fakepkg"
    assert sorted(p.name for p in installed.iterdir()) == ["flaky", "nginx", "sudo"]
    assert (installed / "nginx").read_text() == "p1\n"  # ran inside the jail (its hostname)
    assert iocjail("get", "state", "p1").output == "down\n"  # started for the install, stopped again
    assert json.loads((jails.jail_path("p1") / "pkglist.json").read_text())["pkgs"][2] == "broken-one"
