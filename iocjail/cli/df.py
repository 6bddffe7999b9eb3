import click

from iocjail import render
from iocjail.cli.common import Ctx, output_format, output_options, pass_ctx
from iocjail.model.sizes import human_ratio, size_or
from iocjail.services import df as service

COLUMNS = ("NAME", "CRT", "RES", "QTA", "USE", "AVA")


@click.command()
@click.option("-s", "--sort", default="name", show_default=True, metavar="COLUMN",
              help="Sort by name, crt, res, qta, use or ava (smallest first).")
@click.option("-l", "--long", "long_", is_flag=True, hidden=True, help="Accepted for iocage; changes nothing.")
@output_options
@pass_ctx
def df(ctx: Ctx, sort: str, long_: bool, script: bool, as_json: bool) -> None:
    """Show the disk usage of jails: compression ratio, reservation, quota, used, available.

    \b
    Example:
      iocjail df
      iocjail df -H -s use | tail -5
      iocjail df --json
    """
    fmt = output_format(script, as_json)
    rows = service.usage(ctx.host, sort=sort)
    if fmt is render.Format.JSON:
        click.echo(render.to_json([{"name": r.name, "crt": r.crt, "res": r.res, "qta": r.qta, "use": r.use,
                                    "ava": r.ava, "template": r.template} for r in rows]))
        return
    table = [(r.name, human_ratio(r.crt), size_or(r.res, "none"), size_or(r.qta, "none"), size_or(r.use, "-"),
              size_or(r.ava, "-")) for r in rows]
    text = render.table(COLUMNS, table, fmt)
    if text:
        click.echo(text)


SECTION = "Information"
COMMANDS = (df,)
