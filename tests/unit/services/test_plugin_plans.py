"""A plugin's FreeBSD plans as data: the exact kldload argv of its kmods, and how they run."""

from __future__ import annotations

import pytest

from iocjail.fetch.update import Command
from iocjail.platform import freebsd as FB
from iocjail.lifecycle.commands import NeedsFreeBSD, PlanStepFailed, Unavailable, carry_out
from iocjail.services import plugins


class Recorder:
    def __init__(self, fail: str | None = None) -> None:
        self.ran: list[tuple[str, ...]] = []
        self.fail = fail

    def run(self, command: Command) -> int:
        self.ran.append(command.argv)
        return 1 if command.argv[-1] == self.fail else 0

    def exists(self, path: str) -> bool:
        return False


def test_kmods_are_one_kldload_n_each_in_the_manifests_order():
    plan = plugins.kmod_plan(("fusefs", "if_bridge", "nvidia-modeset"))
    assert plan == (Command(("kldload", "-n", "fusefs")), Command(("kldload", "-n", "if_bridge")),
                    Command(("kldload", "-n", "nvidia-modeset")))
    assert all(c.env is None and c.ok_codes == (0,) and c.repeat_while is None for c in plan)
    assert plugins.kmod_plan(()) == ()


def test_the_plan_stops_at_the_first_module_that_does_not_load():
    runner = Recorder(fail="if_bridge")
    with pytest.raises(PlanStepFailed, match=r"^kldload if_bridge failed \(exit 1\)$"):
        carry_out(plugins.kmod_plan(("fusefs", "if_bridge", "linux64")), (), runner)
    assert runner.ran == [("kldload", "-n", "fusefs"), ("kldload", "-n", "if_bridge")]


def test_off_freebsd_the_plan_is_refused_before_any_module_is_touched():
    with pytest.raises(NeedsFreeBSD, match="kldload does not exist"):
        carry_out(plugins.kmod_plan(("fusefs",)), (), Unavailable("loading kernel modules", "kldload", "fetch -P"))


@pytest.mark.parametrize("module", ["", "-v", "/boot/kernel/fusefs.ko", "../x"])
def test_kldload_argv_takes_module_names_only(module):
    with pytest.raises(ValueError, match="not a kernel module name"):
        FB.kldload_argv(module)


def test_the_freebsd_only_steps_are_steps():
    assert set(plugins.FREEBSD_ONLY) <= set(plugins.STEPS)
    assert plugins.STEPS.index("kmods") < plugins.STEPS.index("create")
    assert plugins.STEPS.index("start") < plugins.STEPS.index("ca_root_nss") < plugins.STEPS.index("pkg repos")
