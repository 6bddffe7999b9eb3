"""exec and console: a command or a login inside a running jail.

The argv that enters a jail (jexec on FreeBSD, nsenter on Linux) is the host's runtime's
(lifecycle/runtime.py); `exec -f` and `console` start the jail first (services/lifecycle).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from iocjail.errors import JailNotRunning
from iocjail.lifecycle import journal as J
from iocjail.lifecycle.engine import Reporter
from iocjail.lifecycle.runtime import Command, Runtime
from iocjail.services.batch import NOT_RUNNING
from iocjail.services.lifecycle import is_running, is_up, live_journal, start_one
from iocjail.site import config, state
from iocjail.site.host import Host
from iocjail.site.jails import JailRef, resolve


@dataclass(frozen=True)
class Captured:
    """What a command run inside printed, when the caller's stdout is no terminal or file."""

    code: int
    stdout: str = ""
    stderr: str = ""



def _running_journal(host: Host, ref: JailRef, *, start_first: bool, reporter: Reporter | None) -> J.Journal:
    journal = live_journal(host, ref.name)
    if not is_up(host, journal):
        if not start_first:
            raise JailNotRunning(ref.name)
        start_one(host, ref, reporter=reporter)
        journal = live_journal(host, ref.name)
    assert journal is not None
    return journal


def command_argv(command: Sequence[str]) -> list[str]:
    """iocage's rule: one argument holding spaces or shell syntax is a shell command line
    (`exec www1 "ls /; echo"`); several are an argv run as given; none is a shell."""
    if not command:
        return ["/bin/sh"]
    if len(command) == 1 and any(c in command[0] for c in " \t\n;|&<>()$`'\"*?[]~"):
        return ["/bin/sh", "-c", command[0]]
    return list(command)


def exec_in(host: Host, name: str, command: Sequence[str], *, jail_user: str | None = None,
            host_user: str | None = None, start_first: bool = False, capture: bool = False,
            stdin: bytes | None = None, reporter: Reporter | None = None) -> Captured:
    """Run COMMAND in the running jail NAME; its exit status is passed through."""
    runtime = state.of(host)
    ref = resolve(host, name, prefix=True)
    journal = _running_journal(host, ref, start_first=start_first, reporter=reporter)
    cfg = config.load(host, ref).effective
    return _run(runtime, runtime.exec_command(journal, cfg, command_argv(command), jail_user, host_user),
                capture, stdin)



def not_running(host: Host) -> Callable[[JailRef], str | None]:
    """A `skip` for in_every_jail: the jails that are not running."""
    return lambda ref: None if is_running(host, ref.name) else NOT_RUNNING


def console(host: Host, name: str, *, capture: bool = False, stdin: bytes | None = None,
            reporter: Reporter | None = None) -> Captured:
    """A root login in the jail (started first if it is not running), with `login_flags`."""
    runtime = state.of(host)
    ref = resolve(host, name, prefix=True)
    journal = _running_journal(host, ref, start_first=True, reporter=reporter)
    return _run(runtime, runtime.console_command(journal, config.load(host, ref).effective), capture, stdin)


def _run(runtime: Runtime, command: Command, capture: bool, stdin: bytes | None) -> Captured:
    if not capture:
        return Captured(runtime.interactive(command.argv, env=command.env))
    result = runtime.run(command.argv, env=command.env, input=stdin if stdin is not None else b"")
    return Captured(result.returncode, result.stdout, result.stderr)

