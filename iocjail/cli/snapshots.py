import time

import click

from iocjail import render
from iocjail.cli import complete
from iocjail.cli.common import Ctx, confirm, output_format, output_options, pass_ctx
from iocjail.model.sizes import size_or
from iocjail.services import snapshots as service

COLUMNS = ("NAME", "CREATED", "RSIZE", "USED")


@click.command()
@click.option("-n", "--name", "snapname", metavar="NAME",
              help="Snapshot name (default: the UTC date and time, YYYY-MM-DD_HH:MM:SS).")
@click.argument("jail", shell_complete=complete.jails_templates_or_all)
@pass_ctx
def snapshot(ctx: Ctx, jail: str, snapname: str | None) -> None:
    """Snapshot a jail and its children (ALL: every jail and template, one name).

    \b
    Example:
      iocjail snapshot www1 -n before-upgrade
      iocjail snapshot ALL
    """
    for full in service.snapshot(ctx.host, jail, snapname):
        click.echo(f"Snapshot: {full} created.")


@click.command()
@click.option("-s", "--sort", default="created", show_default=True, metavar="COLUMN",
              help="Sort by created, name, rsize or used.")
@click.option("-l", "--long", "long_", is_flag=True, help="Full dataset names.")
@output_options
@click.argument("jail", shell_complete=complete.jails_templates_or_all)
@pass_ctx
def snaplist(ctx: Ctx, jail: str, sort: str, long_: bool, script: bool, as_json: bool) -> None:
    """List the snapshots of a jail: NAME, CREATED, RSIZE (referenced), USED.

    The jail's own snapshots come first, then those of its root (NAME/root).

    \b
    Example:
      iocjail snaplist www1
      iocjail snaplist -H -s used www1
      iocjail snaplist ALL
    """
    fmt = output_format(script, as_json)
    snaps = service.snaplist(ctx.host, jail, sort=sort)
    every = jail == service.ALL
    if fmt is render.Format.JSON:
        click.echo(render.to_json([{"jail": s.jail, "name": s.full if long_ else s.short, "snapshot": s.full,
                                    "created": s.created, "rsize": s.rsize, "used": s.used} for s in snaps]))
        return
    rows = [((s.jail,) if every else ()) + (s.full if long_ else s.short, _created(s.created),
                                            size_or(s.rsize), size_or(s.used)) for s in snaps]
    text = render.table((("JAIL",) if every else ()) + COLUMNS, rows, fmt)
    if text:
        click.echo(text)


def _created(epoch: int | None) -> str:
    """As zfs shows `creation`, in local time: `Thu Sep 20 17:34 2018`."""
    return "-" if epoch is None else time.strftime("%a %b %e %H:%M %Y", time.localtime(epoch))


@click.command()
@click.option("-n", "--name", "snapname", required=True, metavar="NAME|ALL", shell_complete=complete.snapshots,
              help="The snapshot to destroy; ALL (with -f) destroys every one clones do not need.")
@click.option("-f", "--force", is_flag=True, help="Required with -n ALL.")
@click.argument("jail", shell_complete=complete.jails_and_templates)
@pass_ctx
def snapremove(ctx: Ctx, jail: str, snapname: str, force: bool) -> None:
    """Destroy a snapshot of a jail (and of its children); never a clone.

    \b
    Example:
      iocjail snapremove www1 -n before-upgrade
      iocjail snapremove www1 -n ALL -f
    """
    removed = service.snapremove(ctx.host, jail, snapname, force=force)
    for full in removed.destroyed:
        click.echo(f"Snapshot: {full} destroyed.")
    for name, clones in removed.skipped:
        click.echo(f"Skipped snapshot {name}: clones depend on it ({', '.join(clones)})", err=True)


@click.command()
@click.option("-n", "--name", "snapname", required=True, metavar="NAME", shell_complete=complete.snapshots,
              help="The snapshot to roll back to.")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.argument("jail", shell_complete=complete.jails_and_templates)
@pass_ctx
def rollback(ctx: Ctx, jail: str, snapname: str, force: bool) -> None:
    """Roll a stopped jail back to a snapshot, destroying every later snapshot.

    \b
    Example:
      iocjail rollback www1 -n before-upgrade
    """
    plan = service.plan_rollback(ctx.host, jail, snapname)
    if not force:
        click.echo("This will destroy ALL data created including ALL snapshots taken after the snapshot "
                   f"{snapname}", err=True)
        if plan.newer:
            click.echo(f"Snapshots destroyed: {', '.join(plan.newer)}", err=True)
    confirm(force, "Are you sure?")
    service.rollback(ctx.host, plan)
    click.echo(f"Rolled back to: {plan.dataset}")


SECTION = "Snapshots"
COMMANDS = (snapshot, snaplist, snapremove, rollback)
