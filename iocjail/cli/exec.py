"""`exec`: run a command in a running jail, its exit status passed through."""

from __future__ import annotations

import io
import sys

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


@click.command("exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-U", "--jail_user", "jail_user", metavar="USER", help="Run as USER of the jail's /etc/passwd.")
@click.option("-u", "--host_user", "host_user", metavar="USER", help="Run with the uid/gid of the host's USER.")
@click.option("-f", "--force", is_flag=True, help="Start the jail first if it is not running.")
@click.argument("name", shell_complete=complete.jails)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@pass_ctx
def exec_(ctx: Ctx, name: str, command: tuple[str, ...], jail_user: str | None, host_user: str | None,
          force: bool) -> None:
    """Run COMMAND in the running jail NAME (one quoted argument is a shell command line).

    \b
    Example:
      iocjail exec www1 hostname
      iocjail exec -U www www1 "ls -l /usr/local/www | head"
    """
    capture = not has_real_stdout()
    result = service.exec_in(ctx.host, name, command, jail_user=jail_user, host_user=host_user,
                             start_first=force, capture=capture, stdin=captured_stdin() if capture else None,
                             reporter=Lines())
    show(result)
    if result.code:
        raise click.exceptions.Exit(result.code)


SECTION = "Lifecycle"
COMMANDS = (exec_,)
