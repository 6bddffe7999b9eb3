"""The `iocjail` command group: global options and the only error handler.

Every IocjailError becomes `iocjail: <message>` on stderr and its exit code; `--debug` adds the
traceback and logs every command run. Nothing below cli/ prints errors or exits.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

import click

import iocjail.cli
from iocjail import __version__
from iocjail.cli import complete
from iocjail.cli.common import Ctx
from iocjail.cli.index import MODULES
from iocjail.errors import IocjailError

INTERNAL_ERROR = 70  # EX_SOFTWARE


class CliError(click.ClickException):
    """Carries an error to click's exit path, printed the iocjail way."""

    def __init__(self, message: str, exit_code: int, tb: str | None) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class
        self.tb = tb

    def show(self, file: Any = None) -> None:
        if self.tb:
            click.echo(self.tb.rstrip(), err=True)
        click.echo(f"iocjail: {self.message}", err=True)


SUMMARY_MAX = 90  # characters of a command's one-line summary (tests/unit/cli/test_conventions.py)

# The order sections appear in `iocjail --help`; each cli module names its own SECTION.
SECTIONS = ("Setup", "Releases", "Jails", "Lifecycle", "Properties", "Snapshots", "Packages",
            "Migration", "Information")


class Group(click.Group):
    """Commands are loaded on demand: the one being run through cli/index.py, all of them for
    `--help`, completion and anything that lists them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        load_all(self)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and self is cli:
            module = MODULES.get(cmd_name)
            if module is not None:
                _register(self, module)
            if cmd_name not in self.commands:
                load_all(self)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Commands grouped by purpose, in SECTIONS order."""
        by_section: dict[str, list[tuple[str, str]]] = {}
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            section = getattr(cmd, "section", "Other")
            # The whole one-line summary, wrapped by click if need be, never cut short with "...".
            by_section.setdefault(section, []).append((name, cmd.get_short_help_str(limit=SUMMARY_MAX)))
        order = [s for s in SECTIONS if s in by_section] + sorted(set(by_section) - set(SECTIONS))
        for section in order:
            with formatter.section(section):
                formatter.write_dl(by_section[section])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except IocjailError as err:
            raise CliError(str(err), err.exit_code, _traceback(ctx)) from err
        except KeyboardInterrupt:
            raise CliError("interrupted", 130, _traceback(ctx)) from None
        except OSError as err:
            where = f": {err.filename}" if err.filename else ""
            raise CliError(f"{err.strerror or err}{where}", 1, _traceback(ctx)) from err
        except Exception as err:  # a bug: say so plainly, details with --debug
            hint = "" if _debug(ctx) else " (run with --debug for details)"
            raise CliError(f"internal error: {type(err).__name__}: {err}{hint}", INTERNAL_ERROR,
                           _traceback(ctx)) from err


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(Ctx)
    return bool(obj and obj.debug)


def _traceback(ctx: click.Context) -> str | None:
    return traceback.format_exc() if _debug(ctx) else None


@click.group(cls=Group, context_settings={"help_option_names": ["--help"]})
@click.version_option(__version__, "--version", "-v", prog_name="iocjail", message="%(prog)s %(version)s")
@click.option("--debug", "-D", is_flag=True, help="Log every command run and show tracebacks.")
@click.option("--pool", envvar="IOCJAIL_POOL", metavar="POOL",
              help="Use this pool instead of the one marked active (env IOCJAIL_POOL).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, pool: str | None) -> None:
    """iocjail: ZFS-backed jails, compatible with iocage.

    \b
    Example:
      iocjail activate zroot && iocjail fetch -r 14.1-RELEASE && iocjail list -r
    """
    ctx.obj = Ctx(debug=debug, pool=pool)
    if debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="iocjail: debug: %(name)s: %(message)s")


def _register(group: click.Group, name: str) -> None:
    """The COMMANDS of module iocjail.cli.NAME join the group, under its SECTION."""
    module = importlib.import_module(f"iocjail.cli.{name}")
    for command in getattr(module, "COMMANDS", ()):
        command.section = getattr(module, "SECTION", "Other")
        group.add_command(command)


def load_all(group: click.Group | None = None) -> MutableMapping[str, click.Command]:
    """Every module of iocjail.cli exposing COMMANDS adds them (discovery keeps this file out of
    every new command's change). Returns the group's commands."""
    target = cli if group is None else group
    if not getattr(target, "_all_loaded", False):
        for info in sorted(pkgutil.iter_modules(iocjail.cli.__path__), key=lambda m: m.name):
            if info.name not in ("main", "index"):
                _register(target, info.name)
        target._all_loaded = True  # type: ignore[attr-defined]
    return target.commands


complete.register()


def main() -> None:
    cli(prog_name="iocjail")
