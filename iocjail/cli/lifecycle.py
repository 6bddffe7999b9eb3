"""`start`, `stop`, `restart`: iocage's progress lines, one error line per failed jail."""

from __future__ import annotations

from collections.abc import Sequence

import click

from iocjail.cli import boot as rc_cli
from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.cli.output import Lines, lines
from iocjail.services import lifecycle as service
from iocjail.services.batch import Outcome
from iocjail.services import plans

PLATFORMS = ("linux", "freebsd")


def platform_option(func: rc_cli.F) -> rc_cli.F:
    return click.option("--platform", type=click.Choice(PLATFORMS), default=None,
                        help="With --plan: the runtime whose plan to print (default: this host's). "
                             "freebsd works on any host, on assumed host facts.")(func)


def _check_plan_options(show_plan: bool, platform: str | None, rc: bool) -> None:
    if platform and not show_plan:
        raise click.UsageError("--platform goes with --plan")
    if show_plan and rc:
        raise click.UsageError("--plan shows one jail's steps: name the jails instead of --rc")


def _finish(outcomes: Sequence[Outcome]) -> None:
    """One `iocjail: NAME: step: message` line per failed jail; the first one's exit code."""
    failed = [o for o in outcomes if o.error is not None]
    for outcome in failed:
        click.echo(f"iocjail: {outcome.error}", err=True)
    if failed:
        raise click.exceptions.Exit(getattr(failed[0].error, "exit_code", 1))


@click.command()
@click.option("--plan", "show_plan", is_flag=True, help="Print each step and its exact commands; run nothing.")
@platform_option
@rc_cli.rc_options
@click.argument("names", nargs=-1, required=False, metavar="NAME...|ALL", shell_complete=complete.jails_or_all)
@pass_ctx
def start(ctx: Ctx, names: tuple[str, ...], show_plan: bool, platform: str | None, rc: bool, jobs: int | None,
          as_json: bool) -> None:
    """Start jails (ALL: every jail not running, in priority order).

    A failed start leaves the host as it was: what was done is undone in reverse.
    --rc starts every jail with boot=on and the jails they depend on, in parallel where
    priority and depends allow; one line per jail.

    \b
    Example:
      iocjail start www1
      iocjail start --plan www1
      iocjail start --plan --platform freebsd www1
      iocjail start ALL
      iocjail start --rc --jobs 8
    """
    _check_plan_options(show_plan, platform, rc)
    if rc:
        return rc_cli.run(ctx, "start", names, jobs, as_json)
    rc_cli.require_names(names, jobs, as_json)
    if show_plan:
        for name in names:
            for block in plans.plan_text(ctx.host, name, "start", platform):
                lines(block)
        return
    _finish(service.start(ctx.host, names, reporter=Lines()))


@click.command()
@click.option("-f", "--force", is_flag=True, help="Skip exec_prestop, exec_stop and exec_poststop; still release everything.")
@click.option("--plan", "show_plan", is_flag=True,
              help="Print what stop would run (a running jail: the undo of what its start applied); run nothing.")
@platform_option
@rc_cli.rc_options
@click.argument("names", nargs=-1, required=False, metavar="NAME...|ALL", shell_complete=complete.jails_or_all)
@pass_ctx
def stop(ctx: Ctx, names: tuple[str, ...], force: bool, show_plan: bool, platform: str | None, rc: bool,
         jobs: int | None, as_json: bool) -> None:
    """Stop jails: exec_stop, SIGTERM, stop_timeout, SIGKILL, then undo what the start did.

    --rc stops every jail with boot=on, and the jails start --rc started as their
    dependencies unless a running jail still needs them.

    \b
    Example:
      iocjail stop www1
      iocjail stop -f ALL
      iocjail stop --plan --platform freebsd www1
      iocjail stop --rc
    """
    _check_plan_options(show_plan, platform, rc)
    if rc:
        return rc_cli.run(ctx, "stop", names, jobs, as_json)
    rc_cli.require_names(names, jobs, as_json)
    if show_plan:
        for name in names:
            for block in plans.plan_text(ctx.host, name, "stop", platform):
                lines(block)
        return
    _finish(service.stop(ctx.host, names, force=force, reporter=Lines()))


@click.command()
@click.argument("names", nargs=-1, required=True, metavar="NAME...|ALL", shell_complete=complete.jails_or_all)
@pass_ctx
def restart(ctx: Ctx, names: tuple[str, ...]) -> None:
    """Stop (if running) and start jails again.

    \b
    Example:
      iocjail restart www1
    """
    _finish(service.restart(ctx.host, names, reporter=Lines()))


SECTION = "Lifecycle"
COMMANDS = (start, stop, restart)
