"""Running the CLI in-process and looking at the pool, for integration tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner, Result

from iocjail.cli.main import cli


def iocjail(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def zfs(*args: str) -> str:
    return subprocess.run(["zfs", *args], check=True, capture_output=True, text=True).stdout


def names(root: str) -> set[str]:
    return set(zfs("list", "-H", "-o", "name", "-r", "-t", "all", root).split())


def prop(dataset: str, name: str) -> str:
    return zfs("get", "-H", "-o", "value", name, dataset).strip()


def mountpoint(dataset: str) -> Path:
    return Path(prop(dataset, "mountpoint"))


def ok(*args: str, input: str | None = None) -> str:
    """`iocjail ARGS…` that must succeed: its output."""
    result = iocjail(*args, input=input)
    assert result.exit_code == 0, result.output
    return result.output
