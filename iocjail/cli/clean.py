import click

from iocjail.cli.common import Ctx, confirm, pass_ctx
from iocjail.cli.output import Lines
from iocjail.services import clean as service, lifecycle


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Destroy everything iocjail/iocage made on the pool.")
@click.option("-j", "--jails", is_flag=True, help="Destroy all jails.")
@click.option("-r", "-b", "--releases", is_flag=True, help="Destroy releases, downloads and the jails cloned from them.")
@click.option("-t", "--templates", is_flag=True, help="Destroy templates and the jails cloned from them.")
@click.option("-i", "--images", is_flag=True, help="Remove exported images.")
@click.option("--runtime", is_flag=True,
              help="Undo what crashed starts, failed stops and killed imports left (mounts, processes, links, "
                   "half-imported jails); running jails and imports in progress stay.")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def clean(ctx: Ctx, all_: bool, jails: bool, releases: bool, templates: bool, images: bool, runtime: bool,
          force: bool) -> None:
    """Destroy whole categories of jails, releases, templates or images.

    --runtime instead releases what a crashed start or a failed stop left behind, from the
    jails' journals, as their next start or stop would, and destroys what a killed import left
    (never a jail: a dataset still marked as an import whose owner is gone); it asks nothing.

    \b
    Example:
      iocjail clean -j -f
      iocjail clean --runtime
    """
    if runtime:
        if all_ or jails or releases or templates or images:
            raise click.UsageError("--runtime goes alone")
        return _runtime(ctx)
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



def _runtime(ctx: Ctx) -> None:
    outcomes = lifecycle.recover_all(ctx.host, Lines())
    failed = [o for o in outcomes if o.error is not None]
    for outcome in failed:
        click.echo(f"iocjail: {outcome.error}", err=True)
    halves = service.half_imports_removed(ctx.host)
    for name in halves:
        click.echo(f"Destroyed {name} (an import that did not finish)")
    if not outcomes and not halves:
        click.echo("Nothing to clean.")
    if failed:
        raise click.exceptions.Exit(getattr(failed[0].error, "exit_code", 1))


SECTION = "Setup"
COMMANDS = (clean,)
