"""A failed start leaves the host exactly as before: every step of the plan made to fail in
turn, failing hooks, a crash in the middle, and a jail whose config changed while it ran."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iocjail.errors import CommandFailed
from iocjail.lifecycle.engine import StepFailed
from iocjail.services import lifecycle
from iocjail.site.config import rundir
from iocjail.site.host import Host
from tests.e2e.conftest import assert_same_host, host_state
from tests.support.cli import iocjail

IOCJAIL_BIN = str(Path(sys.executable).parent / "iocjail")
BRIDGE = f"ijb{os.getpid() % 100000}"
STEPS = ["mount", "mount.fstab", "mount.devfs", "exec.prestart", "jail", "exec.created", "vnet.interface",
         "resolver", "exec.start", "exec.poststart"]


class FailAt:
    """A runner that fails instead of performing the `nth` action of `step` (1 = the first):
    the earlier actions of the step completed, so their undo must run too."""

    def __init__(self, inner, step: str, nth: int) -> None:
        self.inner, self.step, self.nth, self.seen = inner, step, nth, 0

    def perform(self, action, ctx, *, step, undoing):
        if step == self.step and not undoing:
            self.seen += 1
            if self.seen == self.nth:
                raise CommandFailed(["injected"], 1, f"injected failure in {step}")
        return self.inner.perform(action, ctx, step=step, undoing=undoing)

    def describe(self, action):
        return self.inner.describe(action)


@pytest.fixture
def full(jails, tmp_path):
    """A jail whose plan has every step: vnet on a bridge it creates, fstab lines, hooks that
    leave marks in tmp_path."""
    src = tmp_path / "shared"
    src.mkdir()
    (src / "hello").write_text("hi\n")
    marks = tmp_path / "marks"
    marks.mkdir()
    hooks = {f"exec_{h}": f"/bin/sh -c 'echo $JNAME >> {marks}/{h}'"
             for h in ("prestart", "created", "poststart", "prestop", "poststop")}
    path = jails.make("www1", vnet="1", interfaces=f"vnet0:{BRIDGE}", ip4_addr="vnet0|10.231.0.2/24",
                      defaultrouter="10.231.0.1", **hooks)
    (jails.root("www1") / "mnt" / "shared").mkdir(parents=True)
    (jails.root("www1") / "mnt" / "scratch").mkdir(parents=True)
    (path / "fstab").write_text(f"{src} {jails.root('www1')}/mnt/shared nullfs ro 0 0\n"
                                "tmpfs /mnt/scratch tmpfs rw,mode=1777 0 0\n")
    return jails, marks


def test_the_full_plan_has_every_step_and_runs(full, zpool):
    jails, marks = full
    plan, lines = lifecycle.plan(Host.from_env(), "www1")
    assert plan.step_names() == STEPS
    before = host_state(zpool.name, zpool.mountpoint)
    result = iocjail("start", "www1")
    assert result.exit_code == 0, result.output
    assert "  + Configuring VNET OK" in result.output.splitlines()
    out = iocjail("exec", "www1", "cat /mnt/shared/hello; touch /mnt/shared/x; ip -4 addr show epair0b; ip route")
    assert "hi\n" in out.output and "Read-only file system" in out.output
    assert "10.231.0.2/24" in out.output and "default via 10.231.0.1" in out.output
    assert sorted(os.listdir(f"/sys/class/net/{BRIDGE}/brif")) == [f"vnet0.{plan.facts['jid']}"]
    assert [f.name for f in sorted(marks.iterdir())] == ["created", "poststart", "prestart"]
    assert iocjail("stop", "www1").exit_code == 0
    assert (marks / "poststop").read_text() == (marks / "prestop").read_text() == "ioc-www1\n"
    assert not os.path.exists(f"/sys/class/net/{BRIDGE}")  # iocjail made it, the last jail left it
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), jids=(int(plan.facts["jid"]),),
                     bridges=(BRIDGE,))


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("where", ["first", "last"])
def test_a_failure_in_any_step_leaves_the_host_as_it_was(full, zpool, step, where):
    jails, marks = full
    host = Host.from_env()
    plan, _ = lifecycle.plan(host, "www1")
    nth = 1 if where == "first" else len(next(s for s in plan.steps if s.name == step).do)
    before = host_state(zpool.name, zpool.mountpoint)
    with pytest.raises(StepFailed) as info:
        lifecycle.start(host, "www1", wrap=lambda runner: FailAt(runner, step, nth))
    assert str(info.value) == f"www1: {step}: injected: injected failure in {step}"
    assert info.value.secondary == []
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), jids=(int(plan.facts["jid"]),),
                     bridges=(BRIDGE,))
    assert not os.path.exists(f"/sys/class/net/{BRIDGE}")
    begun_prestart = STEPS.index(step) >= STEPS.index("exec.prestart")
    assert (marks / "poststop").exists() == begun_prestart  # the cleanup hook jail(8) skips
    assert not (marks / "prestop").exists()
    assert iocjail("get", "state", "www1").output == "down\n"
    # and the jail still starts afterwards
    assert iocjail("start", "www1").exit_code == 0
    assert iocjail("stop", "www1").exit_code == 0


@pytest.mark.parametrize("hook,step", [("exec_prestart", "exec.prestart"), ("exec_start", "exec.start"),
                                       ("exec_poststart", "exec.poststart")])
def test_failing_hooks_undo_everything(jails, zpool, tmp_path, hook, step):
    mark = tmp_path / "poststop"
    jails.make("www1", **{hook: "/bin/sh -c 'echo boom >&2; exit 3'", "exec_poststop": f"touch {mark}"})
    before = host_state(zpool.name, zpool.mountpoint)
    result = iocjail("start", "www1")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"iocjail: www1: {step}: /bin/sh: boom"
    assert mark.exists()
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))
    assert not (rundir() / "jails" / zpool.name / "www1.json").exists()


def test_stop_undoes_what_was_applied_not_the_changed_config(jails, zpool, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    path = jails.make("www1", vnet="1", interfaces=f"vnet0:{BRIDGE}", ip4_addr="vnet0|10.232.0.2/24")
    (jails.root("www1") / "mnt" / "a").mkdir(parents=True)
    (jails.root("www1") / "mnt" / "b").mkdir(parents=True)
    (path / "fstab").write_text(f"{src} /mnt/a nullfs ro 0 0\n")
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("start", "www1").exit_code == 0
    jid = int(iocjail("get", "jid", "www1").output)
    # the config changes under the running jail: another fstab line, other addresses, no vnet
    (path / "fstab").write_text(f"{src} /mnt/b nullfs ro 0 0\n{src} /mnt/a nullfs rw 0 0\n")
    assert iocjail("set", "ip4_addr=vnet1|10.233.0.2/24", "interfaces=vnet1:other0", "www1").exit_code == 0
    assert iocjail("stop", "www1").exit_code == 0
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), jids=(jid,), bridges=(BRIDGE, "other0"))


def test_a_crash_in_the_middle_of_a_start_is_recovered_by_the_next_stop(jails, zpool):
    jails.make("www1", exec_start="/bin/sh -c 'touch /started; sleep 30'", exec_timeout="60")
    before = host_state(zpool.name, zpool.mountpoint)
    proc = subprocess.Popen([IOCJAIL_BIN, "start", "www1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not (jails.root("www1") / "started").exists():
        assert time.monotonic() < deadline, "exec_start never ran"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # iocjail dies mid-start: no undo ran
    proc.wait()
    data = json.loads((rundir() / "jails" / zpool.name / "www1.json").read_text())
    assert data["state"] == "starting"
    assert iocjail("get", "state", "www1").output == "starting\n"
    result = iocjail("stop", "www1")
    assert result.exit_code == 0, result.output
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), jids=(data["jid"],))


def test_a_jail_whose_init_died_is_down_and_its_leftovers_undone_by_the_next_start(jails, zpool):
    jails.make("www1")
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("start", "www1").exit_code == 0
    data = json.loads((rundir() / "jails" / zpool.name / "www1.json").read_text())
    os.kill(int(data["ctx"]["pid"]), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while iocjail("get", "state", "www1").output != "down\n":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert iocjail("exec", "www1", "true").exit_code != 0
    result = iocjail("start", "www1")  # recovers the stale journal (mounts), then starts afresh
    assert result.exit_code == 0, result.output
    assert iocjail("exec", "www1", "hostname").output == "www1\n"
    assert iocjail("stop", "www1").exit_code == 0
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), jids=(data["jid"],))


def test_two_concurrent_starts_start_the_jail_once(jails, zpool):
    jails.make("www1", exec_start="/bin/sh -c 'sleep 1; /bin/sh /etc/rc'")
    procs = [subprocess.Popen([IOCJAIL_BIN, "start", "www1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes[0] == 0 and codes[1] != 0, results
    loser = next(err for code, _, err in results if code)
    assert "www1: already running (jid" in loser
    assert iocjail("stop", "www1").exit_code == 0
    assert iocjail("stop", "www1").output == "iocjail: www1: not running\n"


def test_clean_runtime_undoes_what_crashes_left_and_leaves_running_jails(jails, zpool):
    jails.make("crashed", exec_start="/bin/sh -c 'touch /started; sleep 30'", exec_timeout="60")
    jails.make("orphan")
    jails.make("up1")
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("clean", "--runtime").output == "Nothing to clean.\n"
    proc = subprocess.Popen([IOCJAIL_BIN, "start", "crashed"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not (jails.root("crashed") / "started").exists():
        assert time.monotonic() < deadline, "exec_start never ran"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert iocjail("start", "orphan").exit_code == 0
    orphan = json.loads((rundir() / "jails" / zpool.name / "orphan.json").read_text())
    os.kill(int(orphan["ctx"]["pid"]), signal.SIGKILL)
    assert iocjail("start", "up1").exit_code == 0
    up1 = json.loads((rundir() / "jails" / zpool.name / "up1.json").read_text())
    assert iocjail("clean", "--runtime", "-j").exit_code == 2  # --runtime goes alone

    result = iocjail("clean", "--runtime")
    assert result.exit_code == 0, result.output
    assert "* Stopping crashed" in result.output and "* Stopping orphan" in result.output
    assert "up1" not in result.output
    assert iocjail("get", "state", "up1").output == "up\n"
    journals = sorted(p.name for p in (rundir() / "jails" / zpool.name).glob("*.json"))
    assert journals == ["up1.json"]
    assert iocjail("stop", "up1").exit_code == 0
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), jids=(up1["jid"], orphan["jid"]))
