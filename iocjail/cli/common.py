"""What every command shares: the context object, output options, confirmation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from iocjail.errors import Aborted
from iocjail.render import Format
from iocjail.site.host import Host

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Ctx:
    debug: bool = False
    pool: str | None = None
    _host: Host | None = field(default=None, repr=False)

    @property
    def host(self) -> Host:
        if self._host is None:
            self._host = Host.from_env(self.pool)
        return self._host


pass_ctx = click.make_pass_decorator(Ctx, ensure=True)


def output_options(func: F) -> F:
    """`-H`/`-h` (script mode: tab-separated, no header, as iocage's `-h`) and `--json`."""
    func = click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")(func)
    func = click.option("-H", "-h", "--header", "script", is_flag=True,
                        help="Scripting mode: tab-separated, no header.")(func)
    return func


def output_format(script: bool, as_json: bool) -> Format:
    if script and as_json:
        raise click.UsageError("-H and --json cannot be combined")
    return Format.JSON if as_json else Format.TSV if script else Format.TABLE


def confirm(force: bool, question: str) -> None:
    """Ask `question [y/N]` unless `force`; anything but yes (EOF included) aborts, changing nothing."""
    if force:
        return
    try:
        answer = click.confirm(question, default=False, err=True)
    except click.Abort:
        raise Aborted("no confirmation given (use -f to skip the question): nothing was changed") from None
    if not answer:
        raise Aborted()
