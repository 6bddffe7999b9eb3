"""`export` and `import`: iocage-compatible archives, with a progress bar on a terminal."""

import sys
from pathlib import Path
from typing import Any

import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.services import export as export_service
from iocjail.services import imports as import_service
from iocjail.services.fetch import QuietReporter, Reporter


class _Lines(QuietReporter):
    """Piped: iocage's progress lines only."""

    def step(self, text: str) -> None:
        click.echo(text)


class _Bar(_Lines):
    """On a terminal: the lines, and a bar per stream on stderr."""

    def __init__(self) -> None:
        self._bar: Any = None

    def begin(self, name: str, total: int | None, done: int) -> None:
        self._bar = click.progressbar(length=total or 0, label=name, file=sys.stderr, show_pos=False,
                                      show_percent=bool(total), width=30)
        self._bar.__enter__()

    def advance(self, nbytes: int) -> None:
        if self._bar is not None:
            self._bar.update(nbytes)

    def end(self) -> None:
        if self._bar is not None:
            if self._bar.length and self._bar.pos < self._bar.length:
                self._bar.update(self._bar.length - self._bar.pos)  # the total was zfs's estimate
            self._bar.__exit__(None, None, None)
            self._bar = None


def _reporter() -> Reporter:
    return _Bar() if sys.stderr.isatty() else _Lines()


@click.command()
@click.argument("name", metavar="JAIL", shell_complete=complete.jails_and_templates)
@click.option("-c", "--compression", type=click.Choice(["store", "deflate", "zip"]), default="store",
              show_default=True, help="store: fastest, archive as large as the streams; deflate (or iocage's "
                                      "`zip`): smaller, slower.")
@pass_ctx
def export(ctx: Ctx, name: str, compression: str) -> None:
    """Export a stopped jail or template to images/JAIL_DATE.zip and its .sha256.

    One full ZFS stream per dataset, written straight into the archive in iocage's format (iocage
    can import it); the temporary snapshots are removed whatever happens.

    \b
    Example:
      iocjail stop www1 && iocjail export www1
      iocjail export -c deflate www1
    """
    method = "deflate" if compression == "zip" else compression
    done = export_service.export(ctx.host, name, compression=method, reporter=_reporter())
    click.echo(f"Exported: {done.archive}")


@click.command("import")
@click.argument("what", metavar="NAME|PATH")
@click.option("-n", "--name", "new_name", metavar="NEWNAME", help="Import under this name (config, hostname "
                                                                   "and fstab paths follow).")
@click.option("-p", "--path", "directory", metavar="DIR|FILE", type=click.Path(path_type=Path),
              help="Where the archive is (default: the pool's images/), or the archive itself.")
@click.option("--no-verify", is_flag=True, help="Import even without a matching NAME_DATE.sha256.")
@click.option("-t", "--template", "as_template", is_flag=True,
              help="Import as a template (without it, an exported template comes back a jail, as in iocage).")
@pass_ctx
def import_(ctx: Ctx, what: str, new_name: str | None, directory: Path | None, no_verify: bool,
            as_template: bool) -> None:
    """Import an exported jail (iocjail's or iocage's archive) as a thick jail.

    The archive is checked against its .sha256 and every member is checked before the pool is
    touched; an existing name is refused, never overwritten; a failed import leaves nothing.

    \b
    Example:
      iocjail import www1
      iocjail import /backup/www1_2024-05-01.zip -n www2
    """
    if directory is not None and directory.is_file():
        what, directory = str(directory), None
    done = import_service.import_archive(ctx.host, what, new_name=new_name, verify_checksum=not no_verify,
                                         as_template=as_template, directory=directory, reporter=_reporter())
    click.echo(f"Imported: {done.name}" + (" (template)" if done.template else ""))
    if done.host_commands:
        shown = "; ".join(f"{key}={value}" for key, value in done.host_commands)
        click.echo(f"Note: {done.name} runs commands on this host, as root, when it starts or stops: {shown} "
                   f"(from the archive: check them, iocjail set KEY=/usr/bin/true {done.name} clears one)",
                   err=True)
    if done.host_paths:
        shown = ", ".join(f"{source} ({mode})" for source, mode in done.host_paths)
        click.echo(f"Note: {done.name} mounts paths of this host into the jail when it starts: {shown} "
                   f"(from the archive's fstab: check them, iocjail fstab -l {done.name} lists them)", err=True)


SECTION = "Migration"
COMMANDS = (export, import_)
