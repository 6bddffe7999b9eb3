"""A stop whose exec_prestop, exec_stop or exec_poststop hook fails: every resource is still
released, the error names the hook that failed (not the start step it undoes), no journal is
left behind, and the jail starts again at once (no `stop -f` needed)."""

from __future__ import annotations

import pytest

from iocjail.site.config import rundir
from tests.e2e.conftest import assert_same_host, host_state
from tests.support.cli import iocjail

FAIL = "/bin/sh -c 'echo boom >&2; exit 3'"


@pytest.mark.parametrize("hook,named", [("exec_prestop", "exec.prestop"), ("exec_poststop", "exec.poststop"),
                                        ("exec_stop", "exec.stop")])
def test_a_failed_stop_hook_releases_everything_and_the_jail_starts_again(jails, zpool, tmp_path, hook, named):
    marks = tmp_path / "marks"
    marks.mkdir()
    others = {h: f"touch {marks}/{h}" for h in ("exec_prestop", "exec_poststop") if h != hook}
    jails.make("www1", **{hook: FAIL, **others})
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("start", "www1").exit_code == 0

    result = iocjail("stop", "www1")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"iocjail: www1: {named}: /bin/sh: boom"
    assert sorted(p.name for p in marks.iterdir()) == sorted(others)  # the other hooks still ran
    assert not (rundir() / "jails" / zpool.name / "www1.json").exists()
    assert iocjail("get", "state", "www1").output == "down\n"
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))

    again = iocjail("start", "www1")
    assert again.exit_code == 0, again.output
    assert iocjail("exec", "www1", "hostname").output == "www1\n"
    assert iocjail("stop", "-f", "www1").exit_code == 0
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))
