"""What command modules print alike: iocage's progress lines, a command's captured output and exit
status, the tail of an ALL run, a step reporter's lines, a --plan's text. No command lives here."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click

from iocjail.services.batch import NOT_RUNNING, Ran
from iocjail.services.enter import Captured

# What iocage prints when a step (or its undo, at stop) finished; other steps stay quiet.
DONE = {
    ("jail", "do"): "Started",
    ("vnet.interface", "do"): "Configuring VNET",
    ("exec.start", "do"): "Starting services",
    ("exec.poststart", "do"): "Executing poststart",
    ("exec.poststart", "undo"): "Executing prestop",
    ("exec.start", "undo"): "Stopping services",
    ("vnet.interface", "undo"): "Tearing down VNET",
    ("jail", "undo"): "Removing jail process",
    ("exec.prestart", "cleanup"): "Executing poststop",
}


class Lines:
    """The engine's events as iocage's lines: `* Starting www1`, `  + Started OK`, …"""

    def __init__(self) -> None:
        self.verb = "start"

    def begin(self, jail: str, verb: str) -> None:
        self.verb = verb
        click.echo(f"* {'Starting' if verb == 'start' else 'Stopping'} {jail}")

    def event(self, jail: str, step: str, phase: str, ok: bool) -> None:
        if self.verb == "start" and phase != "do":
            return  # a failed start's undo: the error line tells what failed, the host is as before
        label = DONE.get((step, phase))
        if label is None and ok:
            return
        click.echo(f"  + {label or step} {'OK' if ok else 'FAILED'}")


class StepLines:
    """A service's named steps (plugin install, update, upgrade) as indented lines."""

    def step(self, name: str, text: str) -> None:
        click.echo(f"  {text}")


def has_real_stdout() -> bool:
    """False under a test runner whose stdout is a buffer: the command's output is then captured."""
    try:
        sys.stdout.fileno()
        return True
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return False


def captured_stdin() -> bytes:
    stream = sys.stdin
    if stream is None or stream.isatty():
        return b""
    return stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()


def show(result: Captured) -> None:
    if result.stdout:
        click.echo(result.stdout, nl=False)
    if result.stderr:
        click.echo(result.stderr, nl=False, err=True)


def run_and_exit(result: Captured) -> None:
    """A command's output shown, its exit status passed through."""
    show(result)
    if result.code:
        raise click.exceptions.Exit(result.code)


def announce(name: str) -> None:
    click.echo(f"* {name}")


def lines(text: Iterable[str]) -> None:
    """A --plan: its lines as one block."""
    click.echo("\n".join(text))


def finish_each(results: Sequence[Ran[Any]], skip_hint: str = "") -> None:
    """After an ALL run: the jails skipped, one error line per jail that failed or whose command
    exited non-zero, and the first such status as the exit status (0 when every jail's was)."""
    for ran in results:
        if ran.skipped and ran.skipped != NOT_RUNNING:
            click.echo(f"* {ran.name} skipped: {ran.skipped.removeprefix(f'{ran.name}: ')}")
    stopped = [ran.name for ran in results if ran.skipped == NOT_RUNNING]
    if stopped:
        click.echo(f"* skipped, {NOT_RUNNING}{skip_hint}: {', '.join(stopped)}")
    failures: list[tuple[str, int]] = []
    for ran in results:
        if ran.error is not None:
            failures.append((str(ran.error), ran.error.exit_code))
        elif code := int(getattr(ran.result, "code", 0)):  # a command's status (exec, pkg); updates have none
            failures.append((f"{ran.name}: exit status {code}", code))
    for message, _ in failures:
        click.echo(f"iocjail: {message}", err=True)
    if failures:
        raise click.exceptions.Exit(failures[0][1])
