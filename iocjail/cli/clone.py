import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.model.provision import parse_count, parse_uuid
from iocjail.services import clone as service


@click.command()
@click.argument("source", metavar="SRC", shell_complete=complete.jails)
@click.option("-n", "--name", metavar="NAME", help="The clone's name (default: a UUID).")
@click.option("-u", "--uuid", "uuid_", metavar="UUID", help="Name the clone with this UUID4.")
@click.option("-c", "--count", default="1", metavar="N", help="Make N clones (NAME_1..NAME_N with -n).")
@click.argument("props", nargs=-1, metavar="[PROP=VALUE]...", shell_complete=complete.assignments)
@pass_ctx
def clone(ctx: Ctx, source: str, name: str | None, uuid_: str | None, count: str, props: tuple[str, ...]) -> None:
    """Clone a stopped jail: ZFS clones of its datasets, fresh config, hosts and hostname.

    The source must be stopped; templates are not cloned (use create -t).

    \b
    Example:
      iocjail clone www1 -n www2 ip4_addr="em0|192.0.2.11/24"
      iocjail clone www1 -n web -c 3
    """
    created = service.clone(ctx.host, source, name=name, count=parse_count(count),
                            uuid=parse_uuid(uuid_) if uuid_ else None, props=props)
    for item in created:
        click.echo(f"{item.name} successfully cloned!")
        for note in item.notes:
            click.echo(f"{item.name}: {note}")


SECTION = "Jails"
COMMANDS = (clone,)
