"""`start --rc` and `stop --rc`: the options and the output, shared by cli/lifecycle.py's
`start` and `stop` (this module defines no command of its own).

Output: one line per jail, in the schedule's order (never completion order), printed as soon as
it and every line before it are known, `NAME: status`
and, for a jail that failed, was skipped or left out, `: why`. `--json` gives the same as a
list of objects, with `started`/`finished` in seconds from the run's first action. The exit
status is 0 only if every jail ended where the run meant it to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from iocjail.cli.common import Ctx
from iocjail.services import boot

F = TypeVar("F", bound=Callable[..., Any])


def rc_options(func: F) -> F:
    """`--rc`, `-j/--jobs N` and `--json`, for start and stop."""
    func = click.option("--json", "as_json", is_flag=True, help="With --rc: print JSON for programs.")(func)
    func = click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
                        help="With --rc: how many jails at once (default: 4 per CPU, at most 32).")(func)
    func = click.option("--rc", is_flag=True,
                        help="The jails with boot=on and what they depend on, in priority order, in parallel.")(func)
    return func


def require_names(names: Sequence[str], jobs: int | None, as_json: bool) -> None:
    """Without --rc, jail names are required and the --rc options make no sense."""
    if not names:
        raise click.UsageError("Missing argument 'NAME...|ALL' (or --rc).")
    if jobs is not None or as_json:
        raise click.UsageError("--jobs and --json go with --rc")


def run(ctx: Ctx, verb: str, names: Sequence[str], jobs: int | None, as_json: bool) -> None:
    """`start --rc` / `stop --rc`: run, print one line per jail, fail if any jail did not make it."""
    if names:
        raise click.UsageError("--rc takes no jail names: it acts on every jail with boot=on")
    rc = boot.start_rc if verb == "start" else boot.stop_rc
    if as_json:
        outcomes = rc(ctx.host, jobs)
        click.echo(to_json(outcomes))
    else:  # each line as soon as it and the ones before it are known
        outcomes = rc(ctx.host, jobs, report=lambda outcome: click.echo(outcome.line()))
    boot.check(outcomes, verb)


def to_json(outcomes: Sequence[boot.Outcome]) -> str:
    t0 = min((o.started for o in outcomes if o.started is not None), default=0.0)

    def since(t: float | None) -> float | None:
        return None if t is None else round(t - t0, 6)

    return json.dumps([{"name": o.name, "status": o.status, "ok": o.ok, "detail": o.detail or None,
                        "dependency": o.dependency, "started": since(o.started), "finished": since(o.finished)}
                       for o in outcomes], indent=2)
