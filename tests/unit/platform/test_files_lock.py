"""platform/files.locked: excludes other processes and other threads, nests within a thread."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from iocjail.platform.files import LockTimeout, atomic_write, locked

PROBE = """
import sys
from iocjail.platform.files import LockTimeout, locked
try:
    with locked(sys.argv[1], "probe", timeout=0.2):
        print("got it")
except LockTimeout:
    print("busy")
"""


def other_process_gets(path) -> bool:
    out = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True)
    return out.stdout.strip() == "got it"


def test_nested_holders_keep_the_lock_until_the_outermost_lets_go(tmp_path):
    lock = tmp_path / "j.lock"
    with locked(lock, "jail j"):
        with locked(lock, "jail j", timeout=0):  # the same thread: no wait
            assert not other_process_gets(lock)
        assert not other_process_gets(lock)  # leaving the inner one kept the outer
    assert other_process_gets(lock)


def test_other_threads_wait_for_the_holder(tmp_path):
    lock = tmp_path / "j.lock"
    order: list[str] = []
    holding = threading.Event()

    def holder() -> None:
        with locked(lock, "jail j"):
            holding.set()
            time.sleep(0.3)
            order.append("holder done")

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait()
    with locked(lock, "jail j", timeout=5):
        order.append("waiter in")
    thread.join()
    assert order == ["holder done", "waiter in"]


def test_a_thread_gives_up_after_the_timeout_with_a_clear_error(tmp_path):
    lock = tmp_path / "j.lock"
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with locked(lock, "jail j"):
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait()
    try:
        with pytest.raises(LockTimeout, match="jail j is busy"):
            with locked(lock, "jail j", timeout=0.1):
                pass
    finally:
        release.set()
        thread.join()


def test_atomic_write_replaces_whole_files(tmp_path):
    target = tmp_path / "config.json"
    atomic_write(target, "one\n")
    atomic_write(target, b"two\n", 0o600, durable=False)
    assert target.read_text() == "two\n" and oct(target.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]
