"""`exec`: run a command in a running jail, its exit status passed through."""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from typing import Any

import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.cli.lifecycle import Lines
from iocjail.services import lifecycle as service


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


def show(result: service.Captured) -> None:
    if result.stdout:
        click.echo(result.stdout, nl=False)
    if result.stderr:
        click.echo(result.stderr, nl=False, err=True)


def announce(name: str) -> None:
    click.echo(f"* {name}")


def finish_each(results: Sequence[service.Ran[Any]], skip_hint: str = "") -> None:
    """After an ALL run: the jails skipped, one error line per jail that failed or whose command
    exited non-zero, and the first such status as the exit status (0 when every jail's was)."""
    for ran in results:
        if ran.skipped and ran.skipped != service.NOT_RUNNING:
            click.echo(f"* {ran.name} skipped: {ran.skipped.removeprefix(f'{ran.name}: ')}")
    stopped = [ran.name for ran in results if ran.skipped == service.NOT_RUNNING]
    if stopped:
        click.echo(f"* skipped, {service.NOT_RUNNING}{skip_hint}: {', '.join(stopped)}")
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


@click.command("exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-U", "--jail_user", "jail_user", metavar="USER", help="Run as USER of the jail's /etc/passwd.")
@click.option("-u", "--host_user", "host_user", metavar="USER", help="Run with the uid/gid of the host's USER.")
@click.option("-f", "--force", is_flag=True, help="Start the jail first if it is not running.")
@click.argument("name", metavar="NAME|ALL", shell_complete=complete.jails_or_all)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@pass_ctx
def exec_(ctx: Ctx, name: str, command: tuple[str, ...], jail_user: str | None, host_user: str | None,
          force: bool) -> None:
    """Run COMMAND in the running jail NAME (one quoted argument is a shell command line).

    ALL runs it in every running jail (with -f: every jail, started first), one after the
    other in priority order, each jail's output after a `* NAME` line; the exit status is the
    first non-zero one.

    \b
    Example:
      iocjail exec www1 hostname
      iocjail exec -U www www1 "ls -l /usr/local/www | head"
      iocjail exec ALL "freebsd-version -u"
    """
    capture = not has_real_stdout()
    if name == "ALL":
        stdin = captured_stdin() if capture else None  # read once, given to every jail
        finish_each(service.in_every_jail(
            ctx.host, lambda ref: service.exec_in(ctx.host, ref.name, command, jail_user=jail_user,
                                                  host_user=host_user, start_first=force, capture=capture,
                                                  stdin=stdin, reporter=Lines()),
            skip=None if force else service.not_running(ctx.host), begin=announce,
            done=lambda _, result: show(result)), " (-f starts them)")
        return
    result = service.exec_in(ctx.host, name, command, jail_user=jail_user, host_user=host_user,
                             start_first=force, capture=capture, stdin=captured_stdin() if capture else None,
                             reporter=Lines())
    show(result)
    if result.code:
        raise click.exceptions.Exit(result.code)


SECTION = "Lifecycle"
COMMANDS = (exec_,)
