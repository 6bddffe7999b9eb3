"""An import killed with SIGKILL in the middle of a stream (issue 15, item 6): the next import of
the name finishes the job, `clean --runtime` removes what was left, `list` never shows it as a
jail, and an import still running is never touched.

The importer is the real command in a process of its own; it is killed once its `zfs receive` of
the root's stream runs (seen in /proc), with 48 MiB of that stream still to come.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from iocjail.model.imported import IMPORT_PROP
from tests.integration.migration.conftest import jail_datasets, stream_of, write_archive
from tests.integration.migration.test_hostile_archives import CONFIG, D, prefix
from tests.support.cli import ok, prop

BLOB = 48 << 20


@pytest.fixture
def big_archive(fetched, iocroot) -> Iterator[tuple[Path, str]]:
    blob = os.urandom(BLOB)
    parent = stream_of(fetched, "parent", {"config.json": CONFIG, "fstab": b""})
    root = stream_of(fetched, "bigroot", {"etc/motd": b"hi\n", "blob": blob})
    p = prefix(iocroot)
    archive = write_archive(iocroot / "images" / f"web_{D}.zip", [(p, parent), (f"{p}_root", root)],
                            compression=zipfile.ZIP_STORED)
    yield archive, hashlib.sha256(blob).hexdigest()


def _children(pid: int) -> list[tuple[int, list[str]]]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append((int(entry.name), [a.decode() for a in argv if a]))
    return out


def importing(archive: Path, target: str) -> tuple[subprocess.Popen[bytes], int]:
    """`iocjail import ARCHIVE` in a process of its own, returned once it receives TARGET
    (with the pid of that `zfs receive`)."""
    proc = subprocess.Popen([sys.executable, "-m", "iocjail", "import", str(archive)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for pid, argv in _children(proc.pid):
            if argv[:2] == ["zfs", "receive"] and argv[-1] == target:
                return proc, pid
        if proc.poll() is not None:
            raise AssertionError(f"the import ended before receiving {target}: {proc.communicate()}")
        time.sleep(0.005)
    proc.kill()
    raise AssertionError(f"the import never received {target}")


def killed(archive: Path, base: str) -> None:
    """An import of ARCHIVE killed with SIGKILL during the root's stream; returns once its
    orphaned `zfs receive` has seen the end of its input and gone."""
    proc, receiver = importing(archive, f"{base}/root")
    proc.kill()
    proc.wait()
    for _ in range(600):
        if not Path(f"/proc/{receiver}").exists():
            break
        time.sleep(0.05)


def test_the_next_import_finishes_what_a_killed_one_left(fetched, iocroot, big_archive):
    archive, digest = big_archive
    base = f"{fetched}/iocage/jails/web"
    killed(archive, base)
    assert base in jail_datasets(fetched)  # what the kill left
    assert "web" not in ok("list", "-H").split()  # not a jail yet
    assert prop(base, IMPORT_PROP).startswith("host=")  # marked: the import did not finish

    assert ok("import", str(archive)).splitlines()[-1] == "Imported: web"
    assert jail_datasets(fetched) == {base, f"{base}/root"}
    assert prop(base, IMPORT_PROP) == "-"
    blob = iocroot / "jails" / "web" / "root" / "blob"
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == digest
    assert "web" in ok("list", "-H").split()


def test_clean_runtime_removes_what_a_killed_import_left(fetched, iocroot, big_archive):
    archive, _ = big_archive
    base = f"{fetched}/iocage/jails/web"
    killed(archive, base)
    assert ok("clean", "--runtime").splitlines() == [f"Destroyed {base} (an import that did not finish)"]
    assert jail_datasets(fetched) == set()
    assert ok("clean", "--runtime").splitlines() == ["Nothing to clean."]


def test_an_import_in_progress_is_never_cleaned(fetched, iocroot, big_archive):
    archive, digest = big_archive
    base = f"{fetched}/iocage/jails/web"
    proc, _ = importing(archive, f"{base}/root")
    os.kill(proc.pid, signal.SIGSTOP)  # mid-stream, holding the name's lock
    try:
        assert ok("clean", "--runtime").splitlines() == ["Nothing to clean."]
        assert base in jail_datasets(fetched)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert out.decode().splitlines()[-1] == "Imported: web"
    assert prop(base, IMPORT_PROP) == "-"
    assert hashlib.sha256((iocroot / "jails" / "web" / "root" / "blob").read_bytes()).hexdigest() == digest
