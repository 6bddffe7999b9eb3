"""A jail's root user moves the mounts its start made (rename a parent, unmount inside and rename,
swap in a symlink): stop still finds each one in the host's mount table, wherever it now is, and
unmounts it; nothing under the jail's root stays mounted and the journal goes only then."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from iocjail.errors import CommandFailed
from iocjail.lifecycle.engine import StopIncomplete
from iocjail.services import lifecycle
from iocjail.site.config import rundir
from iocjail.site.host import Host
from tests.e2e.conftest import assert_same_host, host_state
from tests.support.cli import iocjail

ATTACKS = {
    # the parent of a bind mount renamed: the host's mount now sits at ROOT/usr.old/src
    "rename-parent": "mv /usr /usr.old",
    # unmounted in the jail's namespace only (the host keeps it), then renamed away
    "umount-rename": "umount /mnt/shared && mv /mnt/shared /moved",
    # /dev and its devpts detached lazily inside, then the directory renamed
    "lazy-dev": "umount -l /dev && mv /dev /dev.old",
    # the mount point swapped for a symlink to / (a path-based unmount would reach the host's /)
    "symlink-swap": "umount /mnt/shared && mv /mnt/shared /moved && ln -s / /mnt/shared",
    # the parent renamed and a symlink left in its place: the old path still resolves
    "symlink-parent": "mv /mnt /mnt.old && ln -s /mnt.old /mnt",
}


def _under(root: Path) -> list[str]:
    """Mount points strictly under ROOT in the host's mount table (this test's namespace)."""
    prefix = str(root) + "/"
    points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    return [p for p in points if p.startswith(prefix)]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_stop_unmounts_what_the_jail_moved(jails, zpool, tmp_path, attack):
    src = tmp_path / "src"
    src.mkdir()
    path = jails.make("www1")
    root = jails.root("www1")
    (root / "mnt" / "shared").mkdir(parents=True)
    (root / "usr" / "src").mkdir(parents=True)
    (path / "fstab").write_text(f"{src} {root}/mnt/shared nullfs ro 0 0\n{src} /usr/src nullfs ro 0 0\n")
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("start", "www1").exit_code == 0
    started = _under(root)
    assert sorted(started) == sorted([f"{root}/mnt/shared", f"{root}/usr/src", f"{root}/dev", f"{root}/dev/pts"])

    done = iocjail("exec", "www1", ATTACKS[attack])
    assert done.exit_code == 0, done.output
    moved = _under(root)
    assert len(moved) == len(started) and moved != started  # the escape is real: the host's mounts moved

    result = iocjail("stop", "www1")
    assert result.exit_code == 0, result.output
    assert _under(root) == []
    assert not (rundir() / "jails" / zpool.name / "www1.json").exists()
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))
    # the next start refuses the tree the jail left (a mount point gone or a symlink), undoing all
    again = iocjail("start", "www1")
    assert again.exit_code == 1 and "refusing /" in again.output.splitlines()[-1], again.output
    assert _under(root) == []
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))


def test_stop_reaches_a_mount_hidden_under_another(jails, zpool):
    """Mounts stacked so that one hides another's path (a/b under a cover on a, another a/b on
    the cover): each round unmounts what it reaches, and the next finds what that uncovered."""
    jails.make("www1")
    root = jails.root("www1")
    (root / "a" / "b").mkdir(parents=True)
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("start", "www1").exit_code == 0
    subprocess.run(["mount", "-t", "tmpfs", "hidden", f"{root}/a/b"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "cover", f"{root}/a"], check=True)
    (root / "a" / "b").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "top", f"{root}/a/b"], check=True)
    result = iocjail("stop", "www1")
    assert result.exit_code == 0, result.output
    assert _under(root) == []
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))


class KillFails:
    """A runner whose undo of the jail step fails: the jail's init survives the stop."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def perform(self, action, ctx, *, step, undoing):
        if undoing and action.op == "kill":
            raise CommandFailed(["kill"], 1, "injected failure")
        return self.inner.perform(action, ctx, step=step, undoing=undoing)

    def describe(self, action):
        return self.inner.describe(action)


def test_stop_fails_loudly_and_keeps_the_journal_while_the_jail_could_still_move_mounts(jails, zpool, tmp_path):
    """With the jail's init alive, its root user could still move a mount: stop unmounts nothing
    it cannot pin down, says so, and keeps the journal; the next stop finishes the job."""
    src = tmp_path / "src"
    src.mkdir()
    path = jails.make("www1")
    root = jails.root("www1")
    (root / "mnt" / "shared").mkdir(parents=True)
    (path / "fstab").write_text(f"{src} /mnt/shared nullfs ro 0 0\n")
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("start", "www1").exit_code == 0
    assert iocjail("exec", "www1", "mv /mnt /mnt.old").exit_code == 0
    with pytest.raises(StopIncomplete) as info:
        lifecycle.stop(Host.from_env(), "www1", wrap=KillFails)
    assert [str(e) for e in info.value.errors] == [
        "jail: kill: injected failure",
        "mount: the jail's init still runs: what is mounted under its root is left"]
    journal = rundir() / "jails" / zpool.name / "www1.json"
    data = json.loads(journal.read_text())
    assert data["state"] == "failed"
    assert [s["name"] for s in data["steps"] if s["status"] == "done"] == ["mount", "jail"]
    assert _under(root) == [f"{root}/mnt.old/shared"]
    again = iocjail("stop", "www1")
    assert again.exit_code == 0, again.output
    assert _under(root) == [] and not journal.exists()
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))
