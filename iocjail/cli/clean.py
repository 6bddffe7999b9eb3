import click

from iocjail.cli.common import Ctx, confirm, pass_ctx
from iocjail.services import clean as service


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Destroy everything iocjail/iocage made on the pool.")
@click.option("-j", "--jails", is_flag=True, help="Destroy all jails.")
@click.option("-r", "-b", "--releases", is_flag=True, help="Destroy releases, downloads and the jails cloned from them.")
@click.option("-t", "--templates", is_flag=True, help="Destroy templates and the jails cloned from them.")
@click.option("-i", "--images", is_flag=True, help="Remove exported images.")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def clean(ctx: Ctx, all_: bool, jails: bool, releases: bool, templates: bool, images: bool, force: bool) -> None:
    """Destroy whole categories of jails, releases, templates or images.

    \b
    Example:
      iocjail clean -j -f
    """
    chosen = [name for name, on in (("everything", all_), ("all jails", jails), ("all releases", releases),
                                    ("all templates", templates), ("all images", images)) if on]
    if not chosen:
        raise click.UsageError("nothing to clean: give -a, -j, -r, -t or -i")
    host = ctx.host
    _ = host.iocage_dataset  # resolve the pool before asking: no question if there is nothing to clean
    confirm(force, f"This will destroy {' and '.join(chosen)} on pool '{host.pool}'. Are you sure?")
    result = service.clean(host, all=all_, jails=jails, releases=releases, templates=templates, images=images)
    for name in result.destroyed:
        click.echo(f"Destroyed {name}")
    for name in result.removed_files:
        click.echo(f"Removed image {name}")
    if not result.destroyed and not result.removed_files:
        click.echo("Nothing to clean.")


SECTION = "Setup"
COMMANDS = (clean,)
