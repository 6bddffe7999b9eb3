import click

from iocjail import render
from iocjail.cli import complete
from iocjail.cli.common import Ctx, output_format, output_options, pass_ctx
from iocjail.errors import UsageError
from iocjail.services import fstab as service

COLUMNS = ("INDEX", "FSTAB ENTRY")


@click.command()
@click.option("-a", "--add", is_flag=True, help="Append ENTRY (six fields, or a lone path: nullfs ro).")
@click.option("-r", "--remove", is_flag=True, help="Remove the entry given by INDEX or by ENTRY itself.")
@click.option("-R", "--replace", "replace_index", type=click.IntRange(min=0), metavar="INDEX",
              help="Replace the entry at INDEX with ENTRY.")
@click.option("-l", "--list", "list_", is_flag=True, help="List the entries with their index.")
@click.option("-e", "--edit", is_flag=True, help="Edit in $EDITOR (default vi); saved only if valid.")
@click.option("--mkdir", is_flag=True, help="Create missing destination directories inside the jail.")
@output_options
@click.argument("jail", shell_complete=complete.jails_and_templates)
@click.argument("entry", nargs=-1)
@pass_ctx
def fstab(ctx: Ctx, jail: str, entry: tuple[str, ...], add: bool, remove: bool, replace_index: int | None,
          list_: bool, edit: bool, mkdir: bool, script: bool, as_json: bool) -> None:
    """Add, remove, replace, list or edit the extra mounts of JAIL.

    ENTRY is SRC DST FSTYPE OPTIONS DUMP PASS (separate words or one quoted
    argument), or a lone path P meaning `P P nullfs ro 0 0`. DST is the path
    inside the jail (the host path under the jail's root is accepted too); it
    must be a directory there, reached without symlinks (--mkdir creates it).

    \b
    Example:
      iocjail fstab -a www1 /usr/src /usr/src nullfs ro 0 0
      iocjail fstab -a www1 /usr/ports
      iocjail fstab -l www1
      iocjail fstab -R 0 www1 "/data /srv nullfs rw 0 0"
      iocjail fstab -r www1 0
    """
    actions = [name for name, on in (("-a", add), ("-r", remove), ("-R", replace_index is not None),
                                      ("-l", list_), ("-e", edit)) if on]
    if len(actions) != 1:
        raise UsageError("give exactly one of -a, -r, -R INDEX, -l, -e"
                         + (f" (got {', '.join(actions)})" if actions else ""))
    fmt = output_format(script, as_json)
    host = ctx.host
    if list_ or edit:
        if entry:
            raise UsageError(f"{actions[0]} takes no ENTRY")
        if list_:
            _list(ctx, jail, fmt)
            return
        changed = service.edit(host, jail, mkdir=mkdir)
    elif add:
        changed = service.add(host, jail, entry, mkdir=mkdir)
    elif remove:
        changed = service.remove(host, jail, entry)
    else:
        assert replace_index is not None
        changed = service.replace(host, jail, replace_index, entry, mkdir=mkdir)
    click.echo(changed.message)
    if changed.running:
        click.echo(f"note: {jail} is running: the change is mounted in it now", err=True)


def _list(ctx: Ctx, jail: str, fmt: render.Format) -> None:
    entries = service.list_entries(ctx.host, jail)
    if fmt is render.Format.JSON:
        click.echo(render.to_json([
            {"index": i, "source": e.source, "destination": e.destination, "fstype": e.fstype,
             "options": e.options, "dump": int(e.dump) if e.dump.isdigit() else e.dump,
             "pass": int(e.passno) if e.passno.isdigit() else e.passno, "comment": e.comment or None}
            for i, e in enumerate(entries)]))
        return
    text = render.table(COLUMNS, [(i, e.display()) for i, e in enumerate(entries)], fmt)
    if text:
        click.echo(text)


SECTION = "Jails"
COMMANDS = (fstab,)
