"""A failure injected at each changing ZFS step of create, clone, template moves, rename and
destroy leaves the pool (datasets, snapshots, jail directories, config files) as it was.

The failure comes through the Zfs runner: the n-th changing zfs command fails, either instead of
running or (after=True) once it has run, as a crash right after the step would. n goes from 1
until the operation runs through without reaching it, so every step is covered, however many.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from iocjail.errors import CommandFailed, IocjailError
from iocjail.platform import shell
from iocjail.platform.zfs import Zfs
from iocjail.services import clone, create, destroy, props, rename
from iocjail.site.host import Host
from tests.support.cli import iocjail, names

REL = "13.2-RELEASE"
CHANGING = {"snapshot", "create", "clone", "destroy", "rename", "set", "receive", "inherit", "promote"}


class FailAt:
    def __init__(self, n: int, after: bool) -> None:
        self.n, self.after, self.count = n, after, 0
        self.failed: list[str] | None = None

    def __call__(self, argv: Sequence[str], **kwargs: object) -> shell.Result:
        if argv[0] != "zfs" or argv[1] not in CHANGING:
            return shell.run(argv, **kwargs)  # type: ignore[arg-type]
        # Steps are counted when they succeed: a zfs-fuse "busy" that the adapter retries is the
        # same step, so the n-th step is the same one whatever the retries.
        if self.count + 1 == self.n:
            if self.after:
                shell.run(argv, **kwargs)  # type: ignore[arg-type]
            self.count += 1
            self.failed = list(argv)
            raise CommandFailed(list(argv), 1, "injected failure")
        result = shell.run(argv, **kwargs)  # type: ignore[arg-type]
        self.count += 1
        return result


def state(pool: str, iocroot: Path) -> tuple[set[str], dict[str, str]]:
    """Every dataset and snapshot, and every file of the jails' and templates' directories."""
    files = {}
    for category in ("jails", "templates"):
        for dirpath, dirnames, filenames in os.walk(iocroot / category):
            dirnames[:] = [d for d in dirnames if d != "root"]
            for entry in dirnames + filenames:
                path = Path(dirpath) / entry
                files[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return names(pool), files


def each_step(pool: str, iocroot: Path, operation: Callable[[Host], object], *, after: bool) -> list[list[str]]:
    """Run `operation` failing at step 1, 2, … and check nothing changed each time; returns the
    failed argv of each step. Ends with the operation run through (left done)."""
    steps = []
    for n in range(1, 60):
        before = state(pool, iocroot)
        runner = FailAt(n, after)
        host = Host(zfs=Zfs(run=runner, busy_delay=0.02), pool_override=pool)
        try:
            operation(host)
        except IocjailError as err:
            assert runner.failed is not None, f"failed without injection: {err}"
            assert "injected failure" in str(err) and "left behind" not in str(err), str(err)
            assert state(pool, iocroot) == before, f"step {n} ({runner.failed}) left changes"
            steps.append(runner.failed)
            continue
        assert runner.failed is None
        return steps
    raise AssertionError("never ran through")


@pytest.fixture
def host_state(fetched, iocroot):
    return fetched, iocroot


@pytest.mark.parametrize("after", [False, True], ids=["instead", "after"])
@pytest.mark.parametrize("request_", [
    create.CreateRequest(release=REL, name="thin"),
    create.CreateRequest(release=REL, name="web", count=2, props=("quota=1G",)),
    create.CreateRequest(release=REL, name="thick", thick=True),
    create.CreateRequest(release=REL, name="base", basejail=True),
    create.CreateRequest(release=REL, name="cbase", clone_basejail=True),
    create.CreateRequest(empty=True, name="empty"),
    create.CreateRequest(release=REL, name="tpl", props=("template=yes",)),
], ids=["thin", "count", "thick", "basejail", "clone-basejail", "empty", "as-template"])
def test_create(host_state, request_, after):
    pool, iocroot = host_state
    steps = each_step(pool, iocroot, lambda host: create.create(host, request_), after=after)
    assert steps and all(step[0] == "zfs" for step in steps)


@pytest.mark.parametrize("after", [False, True], ids=["instead", "after"])
def test_create_from_template(host_state, after):
    pool, iocroot = host_state
    assert iocjail("create", "-r", REL, "-n", "tpl", "template=yes").exit_code == 0
    steps = each_step(pool, iocroot, lambda host: create.create(
        host, create.CreateRequest(template="tpl", name="j1")), after=after)
    assert [s[1] for s in steps] == ["snapshot", "clone"]
    steps = each_step(pool, iocroot, lambda host: create.create(
        host, create.CreateRequest(template="tpl", name="j2", thick=True)), after=after)
    assert "receive" in [s[1] for s in steps]


@pytest.mark.parametrize("after", [False, True], ids=["instead", "after"])
def test_clone(host_state, after):
    pool, iocroot = host_state
    assert iocjail("create", "-r", REL, "-n", "src").exit_code == 0
    Zfs().create(f"{pool}/iocage/jails/src/data")
    steps = each_step(pool, iocroot, lambda host: clone.clone(host, "src", name="c", count=2), after=after)
    assert [s[1] for s in steps] == ["snapshot", "clone", "clone", "clone"] * 2


@pytest.mark.parametrize("after", [False, True], ids=["instead", "after"])
def test_template_moves(host_state, after):
    pool, iocroot = host_state
    assert iocjail("create", "-r", REL, "-n", "t1").exit_code == 0
    to = each_step(pool, iocroot, lambda host: props.set_props(host, "t1", ["template=yes", "notes=x"]), after=after)
    assert [s[1] for s in to] == ["rename", "set"]
    back = each_step(pool, iocroot, lambda host: props.set_props(host, "t1", ["template=no"]), after=after)
    assert [s[1] for s in back] == ["rename", "set"]  # rename first: see services/templates.convert


@pytest.mark.parametrize("after", [False, True], ids=["instead", "after"])
def test_rename(host_state, after):
    pool, iocroot = host_state
    for args in (("-r", REL, "-n", "tpl", "template=yes"), ("-t", "tpl", "-n", "fromtpl"),
                 ("-t", "tpl", "-n", "basetpl", "-B")):  # -B: see test_rename.py on zfs send
        assert iocjail("create", *args).exit_code == 0
    assert iocjail("clone", "fromtpl", "-n", "cl").exit_code == 0
    steps = each_step(pool, iocroot, lambda host: rename.rename(host, "tpl", "tpl2"), after=after)
    assert [s[1] for s in steps] == ["rename", "rename", "set", "set"]  # readonly off/on around the writes
    steps = each_step(pool, iocroot, lambda host: rename.rename(host, "cl", "cl2"), after=after)
    assert [s[1:] for s in steps] == [["rename", "-r", f"{pool}/iocage/jails/fromtpl@cl", f"{pool}/iocage/jails/fromtpl@cl2"],
                                      ["rename", f"{pool}/iocage/jails/cl", f"{pool}/iocage/jails/cl2"]]


def family() -> None:
    """A template, a jail made from it, and a clone of that jail."""
    for args in (("create", "-r", REL, "-n", "tpl", "template=yes"), ("create", "-t", "tpl", "-n", "fromtpl"),
                 ("clone", "fromtpl", "-n", "cl")):
        result = iocjail(*args)
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("after", [False, True], ids=["instead", "after"])
def test_destroy_leaves_each_jail_whole_or_gone(host_state, after):
    """Destroying cannot be undone; instead its order makes every stop point a clean state:
    each jail as it was, or nothing of it. Running destroy again then completes."""
    pool, iocroot = host_state
    family()
    start = state(pool, iocroot)
    assert iocjail("destroy", "-f", "--recursive", "tpl").exit_code == 0
    gone = state(pool, iocroot)
    for n in range(1, 30):
        family()
        runner = FailAt(n, after)
        host = Host(zfs=Zfs(run=runner, busy_delay=0.02), pool_override=pool)
        try:
            destroy.destroy(host, destroy.plan(host, ["tpl"], recursive=True), recursive=True)
        except IocjailError:
            assert runner.failed is not None
            now = state(pool, iocroot)[0]
            assert gone[0] <= now <= start[0], f"step {n}: {runner.failed}"
            for jail, category in (("tpl", "templates"), ("fromtpl", "jails"), ("cl", "jails")):
                mine = {d for d in start[0] if d.startswith(f"{pool}/iocage/{category}/{jail}") and "@" not in d}
                assert mine <= now or not (mine & now), f"step {n} ({runner.failed}) left part of {jail}"
                if mine <= now:  # whole means mounted with its files too
                    assert (iocroot / category / jail / "config.json").is_file(), f"step {n}: {jail} unmounted"
            if f"{pool}/iocage/templates/tpl" in now:
                result = iocjail("destroy", "-f", "--recursive", "tpl")
                assert result.exit_code == 0, result.output
            assert state(pool, iocroot) == gone
            continue
        assert runner.failed is None and n > 3
        assert state(pool, iocroot) == gone
        return
    raise AssertionError("never ran through")
