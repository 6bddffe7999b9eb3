"""`destroy -r RELEASE` on a real pool: confirmation, dependants, --recursive, -d."""

from __future__ import annotations

import pytest

from tests.support.cli import iocjail, names, zfs
from tests.support.jails import clone_family

REL = "13.2-RELEASE"


@pytest.fixture
def fetched(zpool, mirror):
    """An active pool with 13.2-RELEASE fetched from the loopback mirror."""
    assert iocjail("activate", zpool.name).exit_code == 0
    assert iocjail("fetch", "-r", REL, "-s", mirror.url).exit_code == 0
    return zpool.name


@pytest.fixture
def with_jails(fetched):
    """A thin jail and a template cloned from the release, a jail from the template, a thick jail."""
    clone_family(f"{fetched}/iocage", REL, "www1", "tpl", "fromtpl", "thick")
    return fetched


def test_destroy_asks_and_no_changes_nothing(fetched):
    before = names(fetched)
    result = iocjail("destroy", "-r", REL, input="n\n")
    assert result.exit_code == 1
    assert f"This will destroy RELEASE: {REL}\nAre you sure? [y/N]: n\n" in result.output
    assert result.output.endswith("iocjail: aborted: nothing was changed\n")
    assert names(fetched) == before


def test_destroy_without_an_answer_changes_nothing(fetched):
    before = names(fetched)
    result = iocjail("destroy", "-r", REL, input="")
    assert result.exit_code == 1 and "nothing was changed" in result.output
    assert names(fetched) == before


def test_destroy_after_yes_keeps_the_download_cache(fetched):
    r = f"{fetched}/iocage"
    result = iocjail("destroy", "-r", REL, input="y\n")
    assert result.exit_code == 0, result.output
    assert result.output.endswith(f"Destroyed {r}/releases/{REL}\n")
    assert f"{r}/releases/{REL}" not in names(fetched) and f"{r}/download/{REL}" in names(fetched)
    assert iocjail("list", "-r", "-H").output == ""


def test_destroy_force_with_download(fetched):
    r = f"{fetched}/iocage"
    result = iocjail("destroy", "-r", "-f", "-d", REL)
    assert result.exit_code == 0 and "Are you sure" not in result.output
    assert result.output == f"Destroyed {r}/releases/{REL}\nDestroyed {r}/download/{REL}\n"
    assert {f"{r}/releases/{REL}", f"{r}/download/{REL}"}.isdisjoint(names(fetched))


def test_destroy_refuses_while_jails_depend_and_names_them(with_jails):
    before = names(with_jails)
    result = iocjail("destroy", "-r", "-f", REL)
    assert result.exit_code == 1
    assert result.output == (f"iocjail: {REL} has dependent jails (who may also have dependents), "
                             "use --recursive to destroy: tpl (template), www1\n")
    assert names(with_jails) == before


def test_recursive_asks_naming_every_dependant_then_destroys_them(with_jails):
    r = f"{with_jails}/iocage"
    before = names(with_jails)
    refused = iocjail("destroy", "-r", "--recursive", REL, input="n\n")
    assert refused.exit_code == 1
    assert "and the jails cloned from it: fromtpl, tpl (template), www1" in refused.output
    assert names(with_jails) == before
    result = iocjail("destroy", "-r", "-R", REL, input="y\n")
    assert result.exit_code == 0, result.output
    left = names(with_jails)
    for gone in (f"releases/{REL}", "jails/www1", "templates/tpl", "jails/fromtpl"):
        assert f"{r}/{gone}" not in left
    assert {f"{r}/jails/thick/root", f"{r}/download/{REL}", f"{r}/releases"} <= left
    destroyed = [line.split()[-1] for line in result.output.splitlines() if line.startswith("Destroyed ")]
    assert destroyed.index(f"{r}/jails/fromtpl") < destroyed.index(f"{r}/templates/tpl") \
        < destroyed.index(f"{r}/releases/{REL}")


def test_a_clone_outside_the_iocage_tree_blocks_even_recursive(with_jails):
    r = f"{with_jails}/iocage"
    zfs("snapshot", f"{r}/releases/{REL}/root@user")
    zfs("clone", f"{r}/releases/{REL}/root@user", f"{with_jails}/elsewhere")
    before = names(with_jails)
    result = iocjail("destroy", "-r", "-f", "--recursive", REL)
    assert result.exit_code == 1
    assert result.output == (f"iocjail: refusing to destroy {REL}: {with_jails}/elsewhere outside the iocage tree "
                             "depend(s) on it; destroy or promote them first\n")
    assert names(with_jails) == before


def test_an_incomplete_release_can_be_destroyed(fetched):
    zfs("set", "org.freebsd.iocjail:complete=no", f"{fetched}/iocage/releases/{REL}")
    assert iocjail("destroy", "-r", "-f", REL).exit_code == 0
    assert f"{fetched}/iocage/releases/{REL}" not in names(fetched)


@pytest.mark.parametrize("args,code,message", [
    (["-r", "-f", "99.0-RELEASE"], 3, "iocjail: release '99.0-RELEASE' not found: fetch it first"),
    (["-r", "-f", "../x"], 2, "iocjail: invalid release name '../x'"),
    (["www1"], 3, "iocjail: jail 'www1' not found"),
    (["-d", "www1"], 2, "-d/--download applies to releases (-r) only"),
    (["-r"], 2, "Missing argument 'NAMES...'"),
])
def test_bad_input(fetched, args, code, message):
    before = names(fetched)
    result = iocjail("destroy", *args)
    assert result.exit_code == code and message in result.output and "Traceback" not in result.output
    assert names(fetched) == before
