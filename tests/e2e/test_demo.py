"""`make demo`'s script end to end, and the machine as clean afterwards as before it.

The test session's own pool and zfs-fuse run meanwhile (as other test sessions may): the demo
must leave both alone, so cleanliness is judged against a snapshot taken just before it ran.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from iocjail.platform.zfs import ACTIVE_PROP
from tests.support.capabilities import ROOT, has_unshare, require
from tests.support.cli import iocjail, prop

DEMO = ROOT / "scripts" / "demo.sh"
IOCJAIL_BIN = str(Path(sys.executable).parent / "iocjail")


@dataclass(frozen=True)
class Machine:
    pools: frozenset[str]
    mounts: tuple[str, ...]  # /proc/self/mountinfo mount points
    processes: frozenset[str]  # "pid cmdline"
    demo_dirs: frozenset[str]  # TMPDIR/iocjail-demo.*
    rundir: frozenset[str]  # files under /var/run/iocjail
    zfs_fuse: frozenset[int]


def _pids(name: str) -> frozenset[int]:
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return frozenset(int(p) for p in out.split())


def _processes() -> frozenset[str]:
    found = set()
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found.add(f"{pid} {cmd.strip()}")
    return frozenset(found)


def machine(tmpdir: Path) -> Machine:
    pools = subprocess.run(["zpool", "list", "-H", "-o", "name"], capture_output=True, text=True, check=True)
    mounts = tuple(line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines())
    run = Path("/var/run/iocjail")
    files = frozenset(str(p) for p in run.rglob("*")) if run.exists() else frozenset()
    return Machine(frozenset(pools.stdout.split()), mounts, _processes(),
                   frozenset(str(p) for p in tmpdir.glob("iocjail-demo.*")), files, _pids("zfs-fuse"))


def marked_active() -> set[str]:
    found = set()
    for pool in subprocess.run(["zpool", "list", "-H", "-o", "name"], capture_output=True, text=True).stdout.split():
        value = subprocess.run(["zfs", "get", "-H", "-s", "local", "-o", "value", ACTIVE_PROP, pool],
                               capture_output=True, text=True).stdout.strip()
        if value == "yes":
            found.add(pool)
    return found


def run_demo(script: Path, tmpdir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The demo with a TMPDIR of its own: another clone's suite may run its demo meanwhile, in
    the /tmp every session shares, and its work directory is none of this test's business."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("IOCJAIL_")}
    environ.update({"IOCJAIL": IOCJAIL_BIN, "PYTHON": sys.executable, "TMPDIR": str(tmpdir), **env})
    # One stream, as a terminal shows it: the tour's refused commands print on stderr.
    return subprocess.run(["sh", str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=environ, timeout=600)


def _named(pattern: str, output: str) -> str:
    match = re.search(pattern, output)
    assert match, f"{pattern!r} not in the demo's output:\n{output}"
    return match.group(1)


def assert_clean(before: Machine, after: Machine, pool: str, workdir: str, tmpdir: Path) -> None:
    assert Path(workdir).parent == tmpdir  # the demo honoured TMPDIR
    assert pool not in after.pools
    assert not Path(workdir).exists()
    assert after.demo_dirs == before.demo_dirs
    assert [m for m in after.mounts if workdir in m or pool in m] == []
    assert {p for p in after.processes - before.processes if workdir in p or pool in p} == set()
    # The demo's locks and journals lived in its work dir (other sessions may add their own here).
    assert {f for f in after.rundir - before.rundir if pool in f} == set()


def _tmpdir(tmp_path: Path) -> Path:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    return tmpdir


def test_demo_runs_end_to_end_and_leaves_the_machine_clean(zpool, tmp_path):
    require(has_unshare(), "needs root and unshare (util-linux) for the demo's jail")
    # The session pool carries the active mark: the demo must borrow it and give it back.
    assert iocjail("activate", zpool.name).exit_code == 0
    tmpdir = _tmpdir(tmp_path)
    before = machine(tmpdir)
    assert before.zfs_fuse or shutil.which("zfs-fuse") is None

    done = run_demo(DEMO, tmpdir)
    out = done.stdout
    assert done.returncode == 0, out
    pool = _named(r"file-backed pool: (iocdemo\d+)", out)
    workdir = _named(r"removed (\S*/iocjail-demo\.\S+)", out)
    for step in ("13.2-RELEASE fetched: base.txz (downloaded", "demo1 successfully created!",
                 "iocjail: invalid value for priority: '5x'", "* Starting demo1", "hello from the jail",
                 "Snapshot: " + pool + "/iocage/jails/demo1@first created.", "* Stopping demo1",
                 "/root/hello is gone", "Destroyed demo1", f"destroyed pool {pool}"):
        assert step in out, step
    assert "Traceback" not in out
    assert "export it" in out and f"Exported: {workdir}/mnt/iocage/images/demo1_" in out
    assert "stopped zfs-fuse" not in out  # it was running before: not the demo's to stop

    assert_clean(before, machine(tmpdir), pool, workdir, tmpdir)
    assert machine(tmpdir).zfs_fuse == before.zfs_fuse
    # The mark the demo took is given back. Other test sessions sharing this machine activate
    # their own pools meanwhile (activate takes the mark from every other pool): then the demo may
    # not have found ours marked, or ours may have moved again since. CI's single session never does.
    taken = re.search(r"gives the mark back to ([^\n]*) at the end", out)
    interfered = marked_active() - {zpool.name}
    if taken and zpool.name in taken.group(1).split():
        assert f"gave the active mark back to {zpool.name}" in out or interfered
    assert prop(zpool.name, ACTIVE_PROP) == "yes" or interfered
    assert subprocess.run(["zpool", "list", "-H", zpool.name], capture_output=True).returncode == 0


def _copy_demo(tmp_path: Path, start_says: str) -> tuple[Path, Path]:
    """The demo script beside stand-ins for the zfs-fuse scripts: the one that would start the
    daemon reports `start_says`, the one that would stop it only leaves a mark. The real daemon is
    shared with every test session on the machine and must keep running."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    shutil.copy(DEMO, scripts / "demo.sh")
    stopped = tmp_path / "zfs-fuse-stop-called"
    (scripts / "zfs-fuse-start.sh").write_text(f"#!/bin/sh\necho {start_says}\n")
    (scripts / "zfs-fuse-stop.sh").write_text(f"#!/bin/sh\ntouch {stopped}\n")
    for name in ("zfs-fuse-start.sh", "zfs-fuse-stop.sh"):
        (scripts / name).chmod(0o755)
    return scripts / "demo.sh", stopped


def test_a_demo_failing_halfway_cleans_up_and_stops_the_zfs_fuse_it_started(zpool, tmp_path):
    """iocjail replaced by false: the demo fails at `activate`, right after making its pool."""
    script, stopped = _copy_demo(tmp_path, "started")
    tmpdir = _tmpdir(tmp_path)
    before = machine(tmpdir)
    done = run_demo(script, tmpdir, IOCJAIL=shutil.which("false") or "/bin/false")
    assert done.returncode != 0
    pool = _named(r"file-backed pool: (iocdemo\d+)", done.stdout)
    workdir = _named(r"removed (\S*/iocjail-demo\.\S+)", done.stdout)
    assert f"destroyed pool {pool}" in done.stdout
    assert "stopped zfs-fuse (the demo started it)" in done.stdout and stopped.exists()
    assert_clean(before, machine(tmpdir), pool, workdir, tmpdir)


def test_the_demo_leaves_a_zfs_fuse_it_did_not_start(zpool, tmp_path):
    script, stopped = _copy_demo(tmp_path, "")
    done = run_demo(script, _tmpdir(tmp_path), IOCJAIL=shutil.which("false") or "/bin/false")
    assert done.returncode != 0 and "destroyed pool iocdemo" in done.stdout
    assert "stopped zfs-fuse" not in done.stdout and not stopped.exists()
