"""`pkg`, `update`, `upgrade`: packages and FreeBSD updates of jails and releases."""

from __future__ import annotations

import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.cli.exec import captured_stdin, has_real_stdout, show
from iocjail.cli.lifecycle import Lines
from iocjail.services import packages as service


@click.command("pkg", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--plan", "show_plan", is_flag=True, help="Print the commands it would run; run nothing.")
@click.argument("name", shell_complete=complete.jails)
@click.argument("args", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_ctx
def pkg(ctx: Ctx, name: str, args: tuple[str, ...], show_plan: bool) -> None:
    """Run pkg(8) in a jail (started first if needed); its exit status is passed through.

    FreeBSD: the host's `pkg -j ioc-NAME ARGS`, after installing pkg into the jail if it has none.
    Linux jails: the jail's `pkg_command` with ARGS, inside the jail; without one, pkg says it is
    not available.

    \b
    Example:
      iocjail pkg www1 install -y nginx
      iocjail pkg --plan www1 upgrade -y
      iocjail set pkg_command=/usr/local/sbin/apk-as-pkg lin1 && iocjail pkg lin1 install -y curl
    """
    if show_plan:
        click.echo("\n".join(service.plan_lines(ctx.host, name, args)))
        return
    capture = not has_real_stdout()
    result = service.run_pkg(ctx.host, name, args, capture=capture, stdin=captured_stdin() if capture else None,
                             reporter=Lines())
    show(result)  # type: ignore[arg-type]  # same fields as lifecycle.Captured
    if result.code:
        raise click.exceptions.Exit(result.code)


SECTION = "Packages"
COMMANDS = (pkg,)
