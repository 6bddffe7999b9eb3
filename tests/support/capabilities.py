"""Capability probes: tests that need something the machine lacks skip with a reason, or fail
under IOCJAIL_TEST_STRICT=1 (CI), so a missing install step can never pass silently."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

STRICT = os.environ.get("IOCJAIL_TEST_STRICT") == "1"
ROOT = Path(__file__).resolve().parents[2]


def is_root() -> bool:
    return os.geteuid() == 0


@cache
def has_zfs() -> bool:
    """True once a zfs answers; starts zfs-fuse (and installs it, as root) if needed."""
    if not is_root():
        return False
    if shutil.which("zpool") is None or subprocess.run(["zpool", "list", "-H"], capture_output=True).returncode:
        subprocess.run(["sh", str(ROOT / "scripts" / "host-setup.sh")], capture_output=True)
    return shutil.which("zpool") is not None and subprocess.run(
        ["zpool", "list", "-H"], capture_output=True).returncode == 0


def has_unshare() -> bool:
    return is_root() and shutil.which("unshare") is not None


def require(condition: bool, reason: str) -> None:
    if not condition:
        if STRICT:
            pytest.fail(f"{reason} (IOCJAIL_TEST_STRICT=1 forbids skipping)")
        pytest.skip(reason)
