"""`activate` and `clean` through the CLI, on the real test pool."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from iocjail.cli.main import cli
from iocjail.platform.zfs import Zfs
from tests.support.jails import clone_family

CHILDREN = ("download", "images", "jails", "log", "releases", "templates")


def iocjail(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def zfs(*args: str) -> str:
    return subprocess.run(["zfs", *args], check=True, capture_output=True, text=True).stdout


def names(root: str) -> set[str]:
    return set(zfs("list", "-H", "-o", "name", "-r", "-t", "all", root).split())


def active(pool: str) -> str:
    return zfs("get", "-H", "-o", "value", "org.freebsd.ioc:active", pool).strip()


def iocroot(pool: str) -> Path:
    return Path(zfs("get", "-H", "-o", "value", "mountpoint", f"{pool}/iocage").strip())


def test_activate_marks_the_pool_and_creates_the_tree(zpool):
    result = iocjail("activate", zpool.name)
    assert result.exit_code == 0, result.output
    assert result.output == f"ZFS pool '{zpool.name}' successfully activated.\n"
    assert active(zpool.name) == "yes"
    assert {f"{zpool.name}/iocage/{c}" for c in CHILDREN} | {f"{zpool.name}/iocage"} <= names(zpool.name)
    defaults = json.loads((iocroot(zpool.name) / "defaults.json").read_text())
    assert defaults["CONFIG_VERSION"] == "34"


def test_reactivation_is_idempotent_and_keeps_an_existing_defaults_json(zpool):
    assert iocjail("activate", zpool.name).exit_code == 0
    defaults = iocroot(zpool.name) / "defaults.json"
    defaults.write_text('{"CONFIG_VERSION": "34", "priority": "42"}\n')  # an iocage host's own defaults
    before = names(zpool.name)
    result = iocjail("activate", zpool.name)
    assert result.exit_code == 0 and "successfully activated" in result.output
    assert names(zpool.name) == before
    assert defaults.read_text() == '{"CONFIG_VERSION": "34", "priority": "42"}\n'


def test_activate_recreates_a_missing_child(zpool):
    assert iocjail("activate", zpool.name).exit_code == 0
    Zfs().destroy(f"{zpool.name}/iocage/images")  # unmount first: zfs-fuse says "busy" otherwise
    assert iocjail("activate", zpool.name).exit_code == 0
    assert f"{zpool.name}/iocage/images" in names(zpool.name)


def test_activating_a_second_pool_moves_the_mark(scan, zpool, second_pool):
    assert iocjail("activate", zpool.name).exit_code == 0
    result = iocjail("activate", second_pool.name)
    assert result.exit_code == 0
    assert f"Pool '{zpool.name}' is no longer active." in result.output
    assert active(second_pool.name) == "yes" and active(zpool.name) == "no"
    listed = iocjail("list", "-H")  # the scan finds exactly one active pool again
    assert listed.exit_code == 0, listed.output


def test_two_active_pools_are_an_error_naming_both(scan, zpool, second_pool):
    zfs("set", "org.freebsd.ioc:active=yes", zpool.name)
    zfs("set", "org.freebsd.ioc:active=yes", second_pool.name)
    result = iocjail("list")
    assert result.exit_code == 3
    assert len(result.output.splitlines()) == 1
    assert "more than one active pool" in result.output
    assert zpool.name in result.output and second_pool.name in result.output


@pytest.mark.parametrize("args,code,message", [
    (["activate", "no_such_pool"], 3, "iocjail: pool 'no_such_pool' does not exist\n"),
    (["activate", "bad/name"], 2, "iocjail: invalid pool name 'bad/name'"),
    (["activate", ""], 2, "iocjail: invalid pool name '': it is empty\n"),
    (["activate", "-x"], 2, "No such option"),
    (["--pool", "no_such_pool", "list"], 3, "iocjail: pool 'no_such_pool' does not exist\n"),
])
def test_bad_input_changes_nothing(zpool, args, code, message):
    before = names(zpool.name)
    result = iocjail(*args)
    assert result.exit_code == code
    assert message in result.output and "Traceback" not in result.output
    assert names(zpool.name) == before
    assert active(zpool.name) == "-"


def test_no_active_pool_says_what_to_do(scan, zpool):
    result = iocjail("list")
    assert result.exit_code == 3
    assert result.output == "iocjail: no active pool: run iocjail activate POOL\n"


IOCJAIL_BIN = str(Path(sys.executable).parent / "iocjail")


def test_installed_command_activates(zpool):
    out = subprocess.run([IOCJAIL_BIN, "activate", zpool.name], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert active(zpool.name) == "yes"
    missing = subprocess.run([IOCJAIL_BIN, "activate", "no_such_pool"], capture_output=True, text=True)
    assert missing.returncode != 0 and missing.stderr == "iocjail: pool 'no_such_pool' does not exist\n"


# -- clean ---------------------------------------------------------------------------------

@pytest.fixture
def populated(zpool):
    """An activated pool with a release, a thin jail, a template, a jail from the template,
    a thick jail and an image, built with plain zfs as iocage lays them out."""
    p = zpool.name
    assert iocjail("activate", p).exit_code == 0
    r = f"{p}/iocage"
    zfs("create", "-p", f"{r}/releases/13.2-RELEASE/root")
    zfs("create", "-p", f"{r}/download/13.2-RELEASE")
    clone_family(r, "13.2-RELEASE", "thin", "tpl", "fromtpl", "thick")
    (iocroot(p) / "images" / "thick_2026-11-23.zip").write_bytes(b"zip")
    return p


def test_clean_asks_and_no_changes_nothing(populated):
    before = names(populated)
    result = iocjail("clean", "-j", input="n\n")
    assert result.exit_code == 1
    assert "Are you sure? [y/N]" in result.output and "nothing was changed" in result.output
    assert names(populated) == before


def test_clean_without_an_answer_changes_nothing(populated):
    before = names(populated)
    result = iocjail("clean", "-a", input="")
    assert result.exit_code == 1 and "nothing was changed" in result.output
    assert names(populated) == before


def test_clean_jails_keeps_releases_and_removes_per_jail_snapshots(populated):
    r = f"{populated}/iocage"
    result = iocjail("clean", "-j", input="y\n")
    assert result.exit_code == 0, result.output
    left = names(populated)
    assert not any(n.startswith(f"{r}/jails/") for n in left)
    assert f"{r}/jails" in left and f"{r}/templates/tpl/root" in left
    assert f"{r}/releases/13.2-RELEASE/root@thin" not in left  # the thin jail's origin went with it
    assert f"{r}/templates/tpl/root@fromtpl" not in left
    assert f"{r}/releases/13.2-RELEASE/root@tpl" in left  # still the template's origin


def test_clean_templates_takes_their_jails_only(populated):
    r = f"{populated}/iocage"
    assert iocjail("clean", "-t", "-f").exit_code == 0
    left = names(populated)
    assert f"{r}/templates/tpl" not in left and f"{r}/jails/fromtpl" not in left
    assert f"{r}/jails/thin" in left and f"{r}/jails/thick" in left


def test_clean_releases_takes_downloads_and_clones_but_not_thick_jails(populated):
    r = f"{populated}/iocage"
    result = iocjail("clean", "-r", "-f")
    assert result.exit_code == 0, result.output
    left = names(populated)
    for gone in ("releases/13.2-RELEASE", "download/13.2-RELEASE", "templates/tpl", "jails/thin", "jails/fromtpl"):
        assert f"{r}/{gone}" not in left
    assert f"{r}/jails/thick/root" in left and f"{r}/releases" in left and f"{r}/download" in left


def test_clean_images_removes_files_only(populated):
    result = iocjail("clean", "-i", "-f")
    assert result.exit_code == 0 and "Removed image thick_2026-11-23.zip" in result.output
    assert list((iocroot(populated) / "images").iterdir()) == []
    assert f"{populated}/iocage/jails/thick" in names(populated)


def test_clean_all_destroys_the_tree_and_the_mark(populated, scan):
    result = iocjail("clean", "-a", "-f")
    assert result.exit_code == 0, result.output
    assert names(populated) == {populated}
    assert active(populated) == "-"
    assert iocjail("list").output == "iocjail: no active pool: run iocjail activate POOL\n"


def test_clean_refuses_when_a_clone_outside_the_tree_depends_on_it(populated):
    r = f"{populated}/iocage"
    zfs("snapshot", f"{r}/jails/thick/root@user")
    zfs("clone", f"{r}/jails/thick/root@user", f"{populated}/elsewhere")
    before = names(populated)
    result = iocjail("clean", "-j", "-f")
    assert result.exit_code == 1
    assert f"{populated}/elsewhere" in result.output and "refusing" in result.output
    assert names(populated) == before


def test_clean_needs_a_category(zpool):
    result = iocjail("clean", "-f")
    assert result.exit_code == 2 and "nothing to clean" in result.output
