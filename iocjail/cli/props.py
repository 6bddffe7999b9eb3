import click

from iocjail import render
from iocjail.cli import complete
from iocjail.cli.common import Ctx, output_format, output_options, pass_ctx
from iocjail.errors import UsageError
from iocjail.services import jailconf as jailconf_service
from iocjail.services import props as service


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="All properties of JAIL (or of default).")
@click.option("-r", "--recursive", is_flag=True, help="PROP for every jail and template.")
@click.option("-p", "--pool", "show_pool", is_flag=True, help="Print the active pool.")
@output_options
@click.argument("args", nargs=-1, metavar="[PROP] [JAIL|default]", shell_complete=complete.get_args)
@pass_ctx
def get(ctx: Ctx, all_: bool, recursive: bool, show_pool: bool, script: bool, as_json: bool,
        args: tuple[str, ...]) -> None:
    """Show a property of a jail, every property (-a), or one property of every jail (-r).

    \b
    Example:
      iocjail get ip4_addr www1
      iocjail get -a default
      iocjail get -r -H boot
    """
    fmt = output_format(script, as_json)
    host = ctx.host
    if show_pool:
        _expect(args, 0, "get -p takes no arguments")
        click.echo(render.to_json({"pool": host.pool}) if as_json else host.pool)
        return
    if recursive:
        _expect(args, 1, "usage: iocjail get -r PROP")
        rows = service.get_recursive(host, args[0])
        if as_json:
            click.echo(render.to_json(dict(rows)))
        elif rows:
            click.echo(render.table(("NAME", f"PROP - {args[0]}"), rows, fmt))
        return
    if all_ or (len(args) == 2 and args[0] == "all"):
        target = args[-1] if args else ""
        _expect(args, 2 if args and args[0] == "all" else 1, "usage: iocjail get -a JAIL|default")
        values = service.get_all(host, target)
        click.echo(render.to_json(values) if as_json else "\n".join(f"{k}:{v}" for k, v in values.items()))
        return
    _expect(args, 2, "usage: iocjail get PROP JAIL|default")
    value = service.get(host, args[1], args[0])
    click.echo(render.to_json({args[0]: value}) if as_json else value)


def _expect(args: tuple[str, ...], count: int, usage: str) -> None:
    if len(args) != count:
        raise UsageError(usage)


@click.command("set")
@click.argument("args", nargs=-1, required=True, metavar="KEY=VALUE... JAIL|default",
                shell_complete=complete.set_args)
@pass_ctx
def set_(ctx: Ctx, args: tuple[str, ...]) -> None:
    """Set properties of a jail or of default; all are checked before any is written.

    \b
    Example:
      iocjail set ip4_addr="em0|192.0.2.10/24" boot=on www1
      iocjail set priority=10 default
    """
    if len(args) < 2 or "=" in args[-1]:
        raise UsageError("usage: iocjail set KEY=VALUE... JAIL|default")
    for change in service.set_props(ctx.host, args[-1], args[:-1]):
        click.echo(f"{change.key}: {change.old} -> {change.new}")


@click.command()
@click.argument("jail", shell_complete=complete.jails_and_templates)
@pass_ctx
def jailconf(ctx: Ctx, jail: str) -> None:
    """Print the jail.conf block iocjail would hand to jail(8) for JAIL.

    \b
    Example:
      iocjail jailconf www1 > /etc/jail.conf.d/www1.conf
    """
    click.echo(jailconf_service.render(ctx.host, jail), nl=False)


SECTION = "Properties"
COMMANDS = (get, set_, jailconf,)
