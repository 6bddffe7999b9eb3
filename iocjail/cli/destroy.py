import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, confirm, pass_ctx
from iocjail.cli.output import Lines
from iocjail.services import destroy as jail_service
from iocjail.services import releases as release_service


@click.command()
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.option("-r", "--release", "releases", is_flag=True, help="The NAMES are releases.")
@click.option("-R", "--recursive", is_flag=True,
              help="Also destroy the jails and templates cloned from what is destroyed.")
@click.option("-d", "--download", is_flag=True, help="With -r: also destroy the cached sets in download/RELEASE.")
@click.argument("names", nargs=-1, required=True, shell_complete=complete.destroy_names)
@pass_ctx
def destroy(ctx: Ctx, names: tuple[str, ...], force: bool, releases: bool, recursive: bool, download: bool) -> None:
    """Destroy jails or templates (exact names), or releases (-r).

    Anything other jails are cloned from is refused, naming them, unless --recursive.
    A running jail is stopped first, after the confirmation.

    \b
    Example:
      iocjail destroy www1
      iocjail destroy -f --recursive webtemplate
      iocjail destroy -r -f --recursive 13.2-RELEASE
    """
    if releases:
        _destroy_releases(ctx, list(names), force=force, recursive=recursive, download=download)
    else:
        if download:
            raise click.UsageError("-d/--download applies to releases (-r) only")
        _destroy_jails(ctx, list(names), force=force, recursive=recursive)


def _destroy_releases(ctx: Ctx, names: list[str], *, force: bool, recursive: bool, download: bool) -> None:
    host = ctx.host
    plan = release_service.plan_destroy_releases(host, names, recursive=recursive, download=download)
    if not force:
        click.echo(f"This will destroy RELEASE: {', '.join(plan.releases)}", err=True)
        if download:
            click.echo("and its downloaded sets", err=True)
        if plan.dependants:
            click.echo(f"and the jails cloned from it: {', '.join(plan.dependants)}", err=True)
    confirm(force, "Are you sure?")
    for unit in release_service.destroy_releases(host, plan, recursive=recursive, download=download):
        click.echo(f"Destroyed {unit}")


def _destroy_jails(ctx: Ctx, names: list[str], *, force: bool, recursive: bool) -> None:
    host = ctx.host
    plan = jail_service.plan(host, names, recursive=recursive)
    if not force:
        click.echo(f"This will destroy jail {', '.join(plan.names)}", err=True)
        if plan.dependants:
            click.echo(f"and the jails cloned from it: {', '.join(plan.dependants)}", err=True)
        if plan.running:
            click.echo(f"Running, stopped first: {', '.join(plan.running)}", err=True)
    confirm(force, "Are you sure?")
    for label in jail_service.destroy(host, plan, recursive=recursive, reporter=Lines()):
        click.echo(f"Destroyed {label}")


SECTION = "Jails"
COMMANDS = (destroy,)
