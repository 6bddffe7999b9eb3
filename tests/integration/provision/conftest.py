"""A pool with 13.2-RELEASE fetched from the loopback mirror, for the provisioning tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.cli import iocjail, mountpoint

REL = "13.2-RELEASE"


@pytest.fixture
def fetched(zpool, mirror):
    assert iocjail("activate", zpool.name).exit_code == 0
    result = iocjail("fetch", "-r", REL, "-s", mirror.url)
    assert result.exit_code == 0, result.output
    return zpool.name


@pytest.fixture
def iocroot(fetched):
    return mountpoint(f"{fetched}/iocage")


@pytest.fixture
def mark_running(fetched):
    """Mark jails running the way the lifecycle engine does (a journal in the runtime dir);
    the journals go after the test."""
    directory = Path(os.environ["IOCJAIL_RUNDIR"]) / "jails" / fetched
    made: list[Path] = []

    def mark(name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.json"
        path.write_text(json.dumps({"jid": 7, "state": "up"}))
        made.append(path)

    yield mark
    for path in made:
        path.unlink(missing_ok=True)
