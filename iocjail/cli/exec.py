"""`exec`: run a command in a running jail, its exit status passed through."""

from __future__ import annotations

import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.cli.output import Lines, announce, captured_stdin, finish_each, has_real_stdout, run_and_exit, show
from iocjail.services import batch, enter as service


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
        finish_each(batch.in_every_jail(
            ctx.host, lambda ref: service.exec_in(ctx.host, ref.name, command, jail_user=jail_user,
                                                  host_user=host_user, start_first=force, capture=capture,
                                                  stdin=stdin, reporter=Lines()),
            skip=None if force else service.not_running(ctx.host), begin=announce,
            done=lambda _, result: show(result)), " (-f starts them)")
        return
    result = service.exec_in(ctx.host, name, command, jail_user=jail_user, host_user=host_user,
                             start_first=force, capture=capture, stdin=captured_stdin() if capture else None,
                             reporter=Lines())
    run_and_exit(result)


SECTION = "Lifecycle"
COMMANDS = (exec_,)
