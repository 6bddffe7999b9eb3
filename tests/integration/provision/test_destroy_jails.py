"""`destroy NAME…` for jails and templates: confirmation, exact names, dependants, leftovers."""

from __future__ import annotations

from tests.support.cli import iocjail, names, ok, zfs

REL = "13.2-RELEASE"


def test_destroy_asks_and_cleans_up_everything_of_the_jail(fetched, iocroot):
    r = f"{fetched}/iocage"
    before = names(fetched)
    ok("create", "-r", REL, "-n", "www1")
    (iocroot / "log" / "www1-console.log").write_text("x")
    (iocroot / "log" / "ioc-www1-console.log").write_text("x")
    result = iocjail("destroy", "www1", input="n\n")
    assert result.exit_code == 1 and "This will destroy jail www1\nAre you sure? [y/N]: n\n" in result.output
    assert f"{r}/jails/www1" in names(fetched)
    out = ok("destroy", "www1", input="y\n")
    assert out.endswith("Destroyed www1\n")
    assert names(fetched) == before  # the origin snapshot releases/REL/root@www1 went too
    assert not (iocroot / "log" / "www1-console.log").exists() and not (iocroot / "log" / "ioc-www1-console.log").exists()
    assert not (iocroot / "jails" / "www1").exists()


def test_exact_names_only(fetched):
    ok("create", "-r", REL, "-n", "www1")
    ok("create", "-r", REL, "-n", "www2")
    before = names(fetched)
    result = iocjail("destroy", "-f", "www")
    assert result.exit_code == 3
    assert result.output == "iocjail: jail 'www' not found: destroy takes full names (did you mean www1, www2?)\n"
    result = iocjail("destroy", "-f", "zzz")
    assert result.exit_code == 3 and result.output == "iocjail: jail 'zzz' not found\n"
    result = iocjail("destroy", "-f", "www1", "nope")
    assert result.exit_code == 3
    assert names(fetched) == before


def test_several_at_once_and_thick_jails(fetched):
    before = names(fetched)
    ok("create", "-r", REL, "-n", "a")
    ok("create", "-r", REL, "-n", "b", "-T")
    ok("create", "-e", "-n", "c")
    assert ok("destroy", "-f", "a", "b", "c", "a") == "Destroyed a\nDestroyed b\nDestroyed c\n"
    assert names(fetched) == before


def test_dependants_block_unless_recursive(fetched):
    r = f"{fetched}/iocage"
    before = names(fetched)
    ok("create", "-r", REL, "-n", "tpl", "template=yes")
    ok("create", "-t", "tpl", "-n", "j1")
    ok("create", "-t", "tpl", "-n", "j2", "-T")  # a copy: not a dependant
    ok("clone", "j1", "-n", "j1c")
    mid = names(fetched)
    result = iocjail("destroy", "-f", "tpl")
    assert result.exit_code == 1
    assert result.output == ("iocjail: tpl has dependent jails (who may also have dependents), use --recursive "
                             "to destroy: j1\n")
    assert names(fetched) == mid
    result = iocjail("destroy", "--recursive", "tpl", input="y\n")
    assert result.exit_code == 0, result.output
    assert "This will destroy jail tpl\nand the jails cloned from it: j1, j1c\n" in result.output
    assert result.output.endswith("Destroyed j1c\nDestroyed j1\nDestroyed tpl (template)\n")
    left = names(fetched) - before
    assert left == {f"{r}/jails/j2", f"{r}/jails/j2/root"}


def test_iocage_leftover_template_snapshot_goes_too(fetched, iocroot):
    """iocage snapshots templates recursively (templates/T@NAME); that parent snapshot goes."""
    r = f"{fetched}/iocage"
    ok("create", "-r", REL, "-n", "tpl", "template=yes")
    before = names(fetched)
    zfs("snapshot", "-r", f"{r}/templates/tpl@old")
    zfs("create", f"{r}/jails/old")
    zfs("clone", f"{r}/templates/tpl/root@old", f"{r}/jails/old/root")
    (iocroot / "jails" / "old" / "config.json").write_text('{"CONFIG_VERSION": "34"}')
    assert ok("destroy", "-f", "old") == "Destroyed old\n"
    assert names(fetched) == before


def test_a_clone_outside_the_tree_blocks(fetched):
    r = f"{fetched}/iocage"
    ok("create", "-r", REL, "-n", "www1")
    zfs("snapshot", f"{r}/jails/www1/root@mine")
    zfs("clone", f"{r}/jails/www1/root@mine", f"{fetched}/elsewhere")
    before = names(fetched)
    result = iocjail("destroy", "-f", "--recursive", "www1")
    assert result.exit_code == 1 and f"{fetched}/elsewhere" in result.output and "outside the iocage tree" in result.output
    assert names(fetched) == before


def test_a_running_jail_is_named_in_the_question_and_kept_on_no(fetched, mark_running):
    ok("create", "-r", REL, "-n", "up1")
    before = names(fetched)
    mark_running("up1")
    result = iocjail("destroy", "up1", input="n\n")
    assert result.exit_code == 1
    assert "This will destroy jail up1\nRunning, stopped first: up1\nAre you sure? [y/N]: n\n" in result.output
    assert names(fetched) == before
    assert iocjail("get", "state", "up1").output == "up\n"  # not stopped either
