"""`console`: a root login in a jail, started first if needed (leaving it does not stop the jail)."""

from __future__ import annotations

import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.cli.output import Lines, captured_stdin, has_real_stdout, run_and_exit
from iocjail.services import enter as service


@click.command()
@click.option("-f", "--force", is_flag=True, hidden=True, help="Accepted for iocage compatibility: console always starts the jail.")
@click.argument("name", shell_complete=complete.jails)
@pass_ctx
def console(ctx: Ctx, name: str, force: bool) -> None:
    """Log in to jail NAME as root (login -p login_flags, or /bin/sh -l).

    \b
    Example:
      iocjail console www1
    """
    capture = not has_real_stdout()
    result = service.console(ctx.host, name, capture=capture, stdin=captured_stdin() if capture else None,
                             reporter=Lines())
    run_and_exit(result)


SECTION = "Lifecycle"
COMMANDS = (console,)
