import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.services import activate as service


@click.command()
@click.argument("pool", shell_complete=complete.pools)
@pass_ctx
def activate(ctx: Ctx, pool: str) -> None:
    """Mark POOL as the pool iocjail uses and create its iocage datasets.

    \b
    Example:
      iocjail activate zroot
    """
    result = service.activate(ctx.host, pool)
    for other in result.moved_from:
        click.echo(f"Pool '{other}' is no longer active.")
    click.echo(f"ZFS pool '{result.pool}' successfully activated.")


SECTION = "Setup"
COMMANDS = (activate,)
