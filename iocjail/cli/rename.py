import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.services import rename as service


@click.command()
@click.argument("old", metavar="JAIL", shell_complete=complete.jails_and_templates)
@click.argument("new", metavar="NEW_NAME")
@pass_ctx
def rename(ctx: Ctx, old: str, new: str) -> None:
    """Rename a stopped jail or template, with its snapshots, paths and hostname.

    All or nothing: a failed step puts back the ones before it.

    \b
    Example:
      iocjail rename wwww1 www1
    """
    done = service.rename(ctx.host, old, new)
    click.echo(f"Jail: {done.old} renamed to {done.new}")


SECTION = "Jails"
COMMANDS = (rename,)
