"""Shell completion without a pool: property names, the words ALL/default, and never a failure
or a wait when ZFS is missing, hung or has no pool (the callbacks run at every TAB)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iocjail.cli import complete
from iocjail.cli.main import cli, load_all
from iocjail.model.properties import PROPS

BIN = Path(sys.executable).parent


def completions(*words: str, incomplete: str = "") -> list[str]:
    return [item.value for item in complete.Bash(cli, {}, "iocjail", "_IOCJAIL_COMPLETE")
            .get_completions(list(words), incomplete)]


@pytest.fixture
def no_zfs(tmp_path, monkeypatch):
    """A PATH without zfs or zpool."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("IOCJAIL_POOL", raising=False)


@pytest.fixture
def hung_zfs(tmp_path, monkeypatch):
    """zfs and zpool that never answer, as a wedged zfs-fuse (the real one is shared: never wedge it)."""
    for tool in ("zfs", "zpool"):
        (tmp_path / tool).write_text("#!/bin/sh\nexec sleep 60\n")
        (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(complete, "TIMEOUT", 0.3)


def test_property_assignments_for_set_create_and_clone(no_zfs):
    settable = [f"{name}=" for name in sorted(p.name for p in PROPS if p.settable)]
    assert completions("set") == settable
    assert completions("create", "-r", "13.2-RELEASE", incomplete="allow_mount_z") == ["allow_mount_zfs="]
    assert completions("clone", "www1", incomplete="boo") == ["boot="]
    assert "release=" not in completions("set") and "CONFIG_VERSION=" not in completions("create")


def test_set_offers_the_jail_once_a_property_is_given(no_zfs):
    assert completions("set", "boot=1", incomplete="de") == ["dedup=", "defaultrouter=", "defaultrouter6=",
                                                             "depends=", "devfs_ruleset=", "default"]
    assert "default" not in completions("set", incomplete="de")


def test_get_offers_properties_then_the_jail(no_zfs):
    props = completions("get")
    assert props[:2] == ["allow_chflags", "allow_mlock"]
    assert {"release", "state", "jid", "CONFIG_VERSION"} <= set(props)
    assert completions("get", "boot") == ["default"]
    assert completions("get", "-a") == ["default"]
    assert completions("get", "-r", "boot") == []
    assert completions("get", "-p") == []


def test_without_zfs_names_are_empty_and_fast(no_zfs):
    t0 = time.monotonic()
    assert completions("start") == ["ALL"]
    assert completions("snapshot") == ["ALL"]
    assert completions("exec") == completions("pkg") == completions("update") == ["ALL"]
    assert completions("console") == []
    assert completions("destroy") == completions("destroy", "-r") == []
    assert completions("activate") == []
    assert completions("create", "-r") == completions("create", "-t") == []
    assert completions("rollback", "www1", "-n") == []
    assert time.monotonic() - t0 < 5


def test_a_hung_zfs_costs_the_timeout_not_the_shell(hung_zfs):
    t0 = time.monotonic()
    assert completions("stop") == ["ALL"]
    assert completions("console") == []
    assert time.monotonic() - t0 < 5


def test_a_pool_that_does_not_exist_gives_no_names(monkeypatch):
    monkeypatch.setenv("IOCJAIL_POOL", "no_such_pool_for_completion")
    assert completions("start") == ["ALL"]
    assert completions("--pool", "no_such_pool_either", "fstab") == []


def test_the_bash_script_keeps_the_cursor_after_key_equals(monkeypatch):
    """The script iocjail prints for bash, sourced in a real bash: `set bo<TAB>` -> `boot=`, no space."""
    bash = shutil.which("bash")
    assert bash, "bash is part of every Debian host"
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "_IOCJAIL_COMPLETE": "bash_source"}
    script = subprocess.run([str(BIN / "iocjail")], env=env, capture_output=True, text=True, check=True).stdout
    assert "complete -o nosort -F _iocjail_completion iocjail" in script
    probe = script + """
compopt() { printf 'compopt'; printf ' %s' "$@"; echo; }   # callable only inside a real completion
COMP_WORDS=(iocjail set bo); COMP_CWORD=2
_iocjail_completion iocjail
printf 'reply %s\\n' "${COMPREPLY[@]}"
COMPREPLY=(); COMP_WORDS=(iocjail start); COMP_CWORD=2
_iocjail_completion iocjail
printf 'reply %s\\n' "${COMPREPLY[@]}"
"""
    env.pop("_IOCJAIL_COMPLETE")
    env["IOCJAIL_POOL"] = "no_such_pool_for_completion"
    out = subprocess.run([bash, "--norc", "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.splitlines() == ["compopt -o nospace", "reply boot=", "reply ALL"], out.stderr


def test_the_zsh_script_adds_key_equals_without_a_suffix():
    script = complete.Zsh(cli, {}, "iocjail", "_IOCJAIL_COMPLETE").source()
    assert script.startswith("#compdef iocjail\n")
    assert "compadd -U -V unsorted -S '' -a suffixless" in script and 'suffixless+=("$key")' in script
    assert complete.Bash.source_template != complete.BashComplete.source_template  # click's anchors found
    zsh = shutil.which("zsh")
    if zsh:
        assert subprocess.run([zsh, "-n", "-c", script]).returncode == 0
    item = complete.CompletionItem("boot=", help="Start at boot.")
    assert complete.Zsh(cli, {}, "iocjail", "_X").format_completion(item) == "plain\nboot=\n_"


JAIL_ARGUMENTS = {"jail", "name", "names", "source", "old"}


def test_every_jail_argument_completes():
    """A new command whose argument names a jail gets a callback too (iocjail.cli.complete)."""
    missing = []
    for name, command in load_all().items():
        for param in command.params:
            if param.param_type_name == "argument" and param.name in JAIL_ARGUMENTS \
                    and param._custom_shell_complete is None:
                missing.append(f"{name} {param.name}")
    assert missing == [], ("add shell_complete=complete.jails (or jails_and_templates, jails_or_all, ...) "
                           "from iocjail.cli.complete to these arguments")
