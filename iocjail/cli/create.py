import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.model.provision import parse_count, parse_uuid
from iocjail.services import create as service


@click.command()
@click.option("-r", "--release", metavar="RELEASE", shell_complete=complete.releases, help="A fetched release to create the jail from.")
@click.option("-t", "--template", metavar="TEMPLATE", shell_complete=complete.templates, help="A template to create the jail from.")
@click.option("-n", "--name", metavar="NAME", help="The jail's name (default: a UUID).")
@click.option("-u", "--uuid", "uuid_", metavar="UUID", help="Name the jail with this UUID4.")
@click.option("-s", "--short", is_flag=True, help="Use the first 8 characters of the UUID as the name.")
@click.option("-c", "--count", default="1", metavar="N", help="Create N jails (NAME_1..NAME_N with -n).")
@click.option("-T", "--thickjail", "thick", is_flag=True, help="A full copy of the release, not a clone.")
@click.option("-e", "--empty", is_flag=True, help="An empty root (release EMPTY), to fill yourself.")
@click.option("-b", "--basejail", is_flag=True,
              help="A copied jail whose base system directories are read-only mounts of the release.")
@click.option("-B", "--clone_basejail", "--clone-basejail", "clone_basejail", is_flag=True,
              help="Like -b, but the root is a clone of the release.")
@click.option("-p", "--pkglist", metavar="FILE",
              help='JSON {"pkgs": [...]}: checked before anything is made, installed after (3 tries each); '
                   "a failed install keeps the jail and names the packages.")
@click.argument("props", nargs=-1, metavar="[PROP=VALUE]...", shell_complete=complete.assignments)
@pass_ctx
def create(ctx: Ctx, release: str | None, template: str | None, name: str | None, uuid_: str | None,
           short: bool, count: str, thick: bool, empty: bool, basejail: bool, clone_basejail: bool,
           pkglist: str | None, props: tuple[str, ...]) -> None:
    """Create jails from a release, a template, or empty; properties are checked first.

    Nothing is left behind when any step fails.

    \b
    Example:
      iocjail create -r 13.2-RELEASE -n www1 ip4_addr="em0|192.0.2.10/24" boot=on
      iocjail create -t webtemplate -n www2
      iocjail create -r 13.2-RELEASE -n db -c 3 -T
    """
    request = service.CreateRequest(
        release=release, template=template, name=name, uuid=parse_uuid(uuid_) if uuid_ else None,
        short=short, count=parse_count(count), thick=thick, empty=empty, basejail=basejail,
        clone_basejail=clone_basejail, pkglist=service.read_pkglist(pkglist) if pkglist else None, props=props)
    made = service.create(ctx.host, request, install_report=_install_line)
    for created in made:
        click.echo(f"{created.name} successfully created!")
        for note in created.notes:
            click.echo(f"{created.name}: {note}")
    if any(c.failed_packages for c in made):
        raise click.exceptions.Exit(1)


def _install_line(package: str, attempt: int, status: int, output: str) -> None:
    """One line per attempt, and what a failed one printed."""
    if status == 0:
        click.echo(f"  + {package} installed")
        return
    click.echo(f"  + {package}: attempt {attempt} failed (exit {status})")
    for line in output.strip().splitlines()[-5:]:
        click.echo(f"    {line}")


SECTION = "Jails"
COMMANDS = (create,)
