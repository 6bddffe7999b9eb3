"""FreeBSDRunner: its named ops replay a FreeBSD host's answers through injected callables; the
file ops act on a real directory standing in for a jail's root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iocjail.errors import CommandFailed
from iocjail.lifecycle.plan import op, run
from iocjail.lifecycle.freebsd.runner import FreeBSDRunner, RuntimeFailure, jail_addressed
from iocjail.platform.safe_paths import UnsafePath
from iocjail.platform.shell import Result


class Host:
    """Answers argv by their first words; records every call."""

    def __init__(self, answers=None) -> None:
        self.answers = dict(answers or {})
        self.calls: list[list[str]] = []
        self.logged: list[tuple[tuple[str, ...], str, dict, float | None]] = []

    def run(self, argv, check=True, **kwargs):
        self.calls.append(list(argv))
        for prefix, answer in self.answers.items():
            if tuple(argv[:len(prefix)]) == prefix:
                if isinstance(answer, Exception):
                    if check:
                        raise answer
                    return Result(tuple(argv), 1, "", str(answer))
                return Result(tuple(argv), 0, answer, "")
        return Result(tuple(argv), 0, "", "")

    def log(self, argv, log, env, timeout):
        self.logged.append((tuple(argv), log, dict(env), timeout))


@pytest.fixture
def host(tmp_path):
    return Host()


def runner(tmp_path: Path, host: Host) -> FreeBSDRunner:
    return FreeBSDRunner(tmp_path / "run", str(tmp_path / "log" / "j-console.log"), run=host.run, logged=host.log)


def do(r: FreeBSDRunner, action, undoing=False):
    return r.perform(action, {}, step="s", undoing=undoing)


def test_run_uses_a_fixed_path_and_the_action_env(tmp_path):
    host = Host()
    do(runner(tmp_path, host), run("jail", "-f", "c", "-c", "ioc-j", env={"IOCAGE_NAME": "j"}))
    assert host.calls == [["jail", "-f", "c", "-c", "ioc-j"]]


def test_hooks_and_jexec_go_to_the_console_log(tmp_path):
    host = Host()
    r = runner(tmp_path, host)
    do(r, op("hook", "echo $JNAME", env={"JNAME": "ioc-j"}, hook=True, timeout=5))
    do(r, op("jexec", "jexec", "-l", "ioc-j", "/bin/sh", "-c", "/bin/sh /etc/rc"))
    (hook_argv, log, env, timeout), (jexec_argv, _, _, none) = host.logged
    assert hook_argv == ("/bin/sh", "-c", "echo $JNAME") and env["JNAME"] == "ioc-j" and timeout == 5
    assert log.endswith("j-console.log") and env["PATH"].startswith("/sbin:/bin")
    assert jexec_argv == ("jexec", "-l", "ioc-j", "/bin/sh", "-c", "/bin/sh /etc/rc") and none is None


def test_epair_is_created_and_renamed_at_once(tmp_path):
    host = Host({("ifconfig", "epair", "create"): "epair4a\n"})
    out = do(runner(tmp_path, host), op("epair", "vnet0.5", "vnet0_epair"))
    assert out == {"vnet0_epair": "epair4"}
    assert host.calls == [["ifconfig", "epair", "create"], ["ifconfig", "epair4a", "name", "vnet0.5"]]


def test_a_failed_rename_destroys_the_new_pair(tmp_path):
    host = Host({("ifconfig", "epair", "create"): "epair4a\n",
                 ("ifconfig", "epair4a", "name"): CommandFailed(["ifconfig"], 1, "ifconfig: File exists")})
    with pytest.raises(CommandFailed):
        do(runner(tmp_path, host), op("epair", "vnet0.5", "vnet0_epair"))
    assert host.calls[-1] == ["ifconfig", "epair4a", "destroy"]


BRIDGE = ("bridge7: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500\n"
          "\tdescription: {desc}\n\tmember: em0 flags=143<LEARNING>\n{more}\tgroups: bridge\n")


def test_bridge_created_when_missing(tmp_path):
    host = Host({("ifconfig", "bridge7", "create"): "",
                 ("ifconfig", "bridge7"): CommandFailed(["ifconfig"], 1, "does not exist")})
    do(runner(tmp_path, host), op("bridge", "bridge7", "em0"))
    assert host.calls[-1] == ["ifconfig", "bridge7", "create", "description", "iocjail", "addm", "em0", "up"]


def test_existing_bridge_only_gets_missing_members(tmp_path):
    host = Host({("ifconfig", "bridge7"): BRIDGE.format(desc="lan", more="")})
    do(runner(tmp_path, host), op("bridge", "bridge7", "em0", "igb1"))
    assert host.calls[1:] == [["ifconfig", "bridge7", "addm", "igb1", "up"]]


@pytest.mark.parametrize("desc,more,destroyed", [
    ("iocjail", "", True),
    ("iocjail", "\tmember: vnet0.9 flags=143<LEARNING>\n", False),  # another jail is still attached
    ("lan", "", False),  # the admin's bridge
])
def test_unbridge_removes_only_an_unused_bridge_iocjail_made(tmp_path, desc, more, destroyed):
    host = Host({("ifconfig", "bridge7"): BRIDGE.format(desc=desc, more=more)})
    do(runner(tmp_path, host), op("unbridge", "bridge7", "em0"), undoing=True)
    assert (["ifconfig", "bridge7", "destroy"] in host.calls) is destroyed


def test_files_under_a_root_never_follow_symlinks(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (tmp_path / "secret").write_text("host file\n")
    (root / "etc" / "resolv.conf").symlink_to(tmp_path / "secret")
    r = runner(tmp_path, Host())
    do(r, op("write", str(root), "/etc/resolv.conf", "nameserver 192.0.2.1\n"))
    assert (tmp_path / "secret").read_text() == "host file\n"  # the link was replaced, not followed
    assert (root / "etc" / "resolv.conf").read_text() == "nameserver 192.0.2.1\n"
    do(r, op("mkdir", str(root), "/compat/linux/proc"))
    assert (root / "compat" / "linux" / "proc").is_dir()
    do(r, op("remove", str(root), "/etc/resolv.conf"), undoing=True)
    do(r, op("remove", str(root), "/etc/resolv.conf"), undoing=True)  # gone already: fine
    assert not (root / "etc" / "resolv.conf").exists()


def test_write_makes_the_host_directory_it_needs(tmp_path):
    do(runner(tmp_path, Host()), op("write", str(tmp_path / "run" / "nat"), "/j.pf", "nat on em0 …\n"))
    assert (tmp_path / "run" / "nat" / "j.pf").read_text() == "nat on em0 …\n"
    assert oct(os.stat(tmp_path / "run" / "nat" / "j.pf").st_mode & 0o777) == "0o644"


def test_mount_refuses_a_planted_symlink(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "proc").symlink_to("/etc")
    host = Host()
    with pytest.raises(UnsafePath, match="symlink"):
        do(runner(tmp_path, host), op("mount", "procfs", "proc", str(root), "/proc", ""))
    assert host.calls == []
    (root / "proc").unlink()
    (root / "proc").mkdir()
    do(runner(tmp_path, host), op("mount", "procfs", "proc", str(root), "/proc", ""))
    assert host.calls == [["mount", "-t", "procfs", "proc", str(root / "proc")]]


def test_umount_when_undoing_tolerates_what_is_already_gone(tmp_path):
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    host = Host({("umount",): CommandFailed(["umount"], 1, "umount: /x: not a file system root directory")})
    do(runner(tmp_path, host), op("umount", str(root), "/proc"), undoing=True)
    do(runner(tmp_path, host), op("umount", str(root), "/missing"), undoing=True)
    with pytest.raises(CommandFailed):
        do(runner(tmp_path, host), op("umount", str(root), "/proc"), undoing=False)


def test_unknown_op(tmp_path):
    r = runner(tmp_path, Host())
    with pytest.raises(RuntimeFailure, match="unknown action"):
        do(r, op("frobnicate"))
    assert r.describe(op("frobnicate", "a b")) == "frobnicate 'a b'"


def test_describe_shows_env_and_timeouts(tmp_path):
    r = runner(tmp_path, Host())
    assert r.describe(run("jail", "-c", env={"IOCAGE_NAME": "my jail"})) == "env IOCAGE_NAME='my jail' jail -c"
    assert r.describe(op("hook", "x", timeout=60)).endswith("  (timeout 60s)")
    assert r.describe(op("epair", "vnet0.5", "vnet0_epair")) == (
        "ifconfig epair create; ifconfig '{vnet0_epair}a' name vnet0.5")


@pytest.mark.parametrize("argv,name", [
    (("jexec", "-l", "ioc-j", "/bin/sh", "-c", "x"), "ioc-j"),
    (("setfib", "2", "jexec", "-U", "ioc-user", "ioc-j", "id"), "ioc-j"),
    (("jail", "-f", "/var/run/jail.ioc-j.conf", "-r", "ioc-j"), "ioc-j"),
    (("jail", "-f", "/var/run/jail.ioc-j.conf", "-c", "ioc-j"), None),
    (("ifconfig", "em0", "inet", "192.0.2.1", "-alias"), None),
])
def test_the_jail_a_command_addresses(argv, name):
    assert jail_addressed(argv) == name


JLS_J = '{"jail-information": {"jail": [{"jid": 3, "name": "ioc-j", "path": "/j", "state": "%s"}]}}'
GONE = CommandFailed(["jail"], 1, 'jail: "ioc-j" not found')


@pytest.mark.parametrize("listed", ["", "DYING"])
def test_undoing_into_a_jail_that_is_gone_has_nothing_left_to_undo(tmp_path, listed):
    jls = JLS_J % listed if listed else '{"jail-information": {"jail": []}}'
    host = Host({("jls",): jls, ("jail",): GONE, ("jexec",): GONE})
    r = runner(tmp_path, host)
    do(r, run("jail", "-f", "c", "-r", "ioc-j"), undoing=True)
    do(r, run("jexec", "ioc-j", "sysrc", "-x", "rtsold_enable"), undoing=True)
    assert host.calls[1] == ["jls", "--libxo", "json", "-d", "-v"]


def test_a_failure_while_the_jail_exists_or_when_starting_is_an_error(tmp_path):
    host = Host({("jls",): JLS_J % "ACTIVE", ("jail",): GONE})
    with pytest.raises(CommandFailed):
        do(runner(tmp_path, host), run("jail", "-f", "c", "-r", "ioc-j"), undoing=True)
    host = Host({("jls",): '{"jail-information": {"jail": []}}', ("jexec",): GONE})
    with pytest.raises(CommandFailed):
        do(runner(tmp_path, host), run("jexec", "ioc-j", "id"))
    assert ["jls", "--libxo", "json", "-d", "-v"] not in host.calls
