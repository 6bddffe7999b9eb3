"""`pkg` and package installs (create -p, plugins): pkg(8) on FreeBSD, `pkg_command` on Linux.

FreeBSD: the host's pkg(8) works on the running jail (`pkg -j ioc-NAME ARGS…`); a jail without
pkg of its own gets it first (`pkg-static -j ioc-NAME install -q -y pkg`). The commands are a
plan (`pkg_plan`, `install_plan`): data a test checks as exact argv and environment, and
`iocjail pkg --plan` prints; they run only through an executor (lifecycle/commands.py).

Linux: a jail whose `pkg_command` names a command gets that command, with pkg(8)'s arguments,
run inside it (`iocjail exec`'s path: nsenter into the running jail), its output and exit status
passed through. Without one, the jail has no package manager and `pkg` says so.

Either way the jail is started first when it is not running, as iocage does; `install` stops it
again afterwards if it started it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from iocjail.errors import IocjailError, UsageError
from iocjail.fetch.update import Command
from iocjail.lifecycle.engine import Reporter
from iocjail.model.packages import PKG_COMMAND, pkg_command_argv
from iocjail.platform import freebsd_pkg as FP
from iocjail.platform import safe_paths
from iocjail.lifecycle.commands import Executor, HostExecutor, on_freebsd
from iocjail.site import config, state
from iocjail.services import batch, enter, lifecycle
from iocjail.site.host import Host
from iocjail.site.jails import JailRef, resolve
from iocjail.services.enter import Captured

log = logging.getLogger("iocjail.services.packages")

DEFAULT_RETRIES = 3  # tries per package, as iocage


class PkgNotAvailable(UsageError):
    template = ("{}: no package manager: pkg(8) exists only on FreeBSD hosts, and this Linux jail has no "
                "pkg_command (set it to a command in the jail that takes pkg's arguments: "
                "iocjail set pkg_command=/usr/local/sbin/pkg-wrapper {})")


class NotAJail(UsageError):
    template = "{}: {}"


# -- plans (pure) --------------------------------------------------------------------------------

def pkg_plan(name: str, args: Sequence[str], *, has_pkg: bool, caller_env: Mapping[str, str]) -> tuple[Command, ...]:
    """`iocjail pkg NAME ARGS…` on FreeBSD: bootstrap if the jail has no pkg, then pkg -j."""
    bootstrap = () if has_pkg else (Command(FP.bootstrap_argv(name), FP.batch_env(caller_env)),)
    return (*bootstrap, Command(FP.pkg_argv(name, args), FP.pkg_env(caller_env)))


def install_plan(name: str, pkgs: Sequence[str], *, has_pkg: bool,
                 caller_env: Mapping[str, str]) -> tuple[Command | None, tuple[Command, ...]]:
    """(bootstrap or None, one install per package): each is tried up to `retries` times."""
    env = FP.batch_env(caller_env)
    bootstrap = None if has_pkg else Command(FP.bootstrap_argv(name), env)
    return bootstrap, tuple(Command(FP.install_argv(name, p), env) for p in pkgs)


def linux_argv(pkg_command: str | None, args: Sequence[str]) -> list[str] | None:
    """The argv run inside a Linux jail for pkg(8)'s ARGS, None without a pkg_command."""
    prefix = pkg_command_argv(pkg_command)
    return None if prefix is None else [*prefix, *args]


def plan_lines(host: Host, name: str, args: Sequence[str]) -> list[str]:
    """What `iocjail pkg NAME ARGS…` runs: the FreeBSD plan, and this Linux jail's command."""
    ref, cfg = _jail(host, name)
    root = ref.path / "root"
    lines = [f"# pkg plan of {ref.name} on FreeBSD (the host's pkg(8) on the running jail)"]
    lines += [c.describe() for c in pkg_plan(ref.name, args, has_pkg=_has_pkg(root), caller_env=os.environ)]
    argv = linux_argv(cfg.get(PKG_COMMAND), args)
    lines.append(f"# on Linux, inside the running jail: {' '.join(argv)}" if argv else
                 "# on Linux: not available (the jail has no pkg_command)")
    return lines


# -- running ---------------------------------------------------------------------------------

def _jail(host: Host, name: str) -> tuple[JailRef, dict[str, str]]:
    ref = resolve(host, name, prefix=True)
    cfg = config.load(host, ref).effective
    if ref.is_template or cfg.get("type") == "template":
        raise NotAJail(ref.name, "is a template: templates never run (convert it with set template=no)")
    return ref, cfg


def _has_pkg(root: Path) -> bool:
    return safe_paths.exists(root, FP.JAIL_PKG)


def run_pkg(host: Host, name: str, args: Sequence[str], *, capture: bool = False, stdin: bytes | None = None,
            executor: Executor | None = None, reporter: Reporter | None = None) -> Captured:
    """`iocjail pkg NAME ARGS…`: the jail is started if needed; the exit status is pkg's own.
    `executor` runs the FreeBSD plan (default: this host, if it is FreeBSD)."""
    ref, cfg = _jail(host, name)
    if executor is None and not on_freebsd():
        argv = linux_argv(cfg.get(PKG_COMMAND), args)
        if argv is None:
            raise PkgNotAvailable(ref.name, ref.name)
        done = enter.exec_in(host, ref.name, argv, start_first=True, capture=capture, stdin=stdin,
                                 reporter=reporter)
        return done
    _ensure_running(host, ref, reporter)
    runner = executor or HostExecutor(capture=capture, rundir=config.rundir())
    code = 0
    for command in pkg_plan(ref.name, args, has_pkg=_has_pkg(ref.path / "root"), caller_env=os.environ):
        code = runner.run(command)
        if code != 0:
            break  # a failed bootstrap: pkg itself cannot run
    out = "".join(getattr(runner, "output", ()))
    return Captured(code, out)


def run_pkg_all(host: Host, args: Sequence[str], *, capture: bool = False, stdin: bytes | None = None,
                reporter: Reporter | None = None, begin: Callable[[str], None] | None = None,
                done: Callable[[str, Captured], None] | None = None) -> list[batch.Ran[Captured]]:
    """`iocjail pkg ALL ARGS…`: every jail (templates never) in priority order, each started if
    needed, the same stdin for each; Linux jails without pkg_command are skipped."""
    return batch.in_every_jail(
        host, lambda ref: run_pkg(host, ref.name, args, capture=capture, stdin=stdin, reporter=reporter),
        skip=lambda ref: why_no_pkg(host, ref.name), begin=begin, done=done)


def why_no_pkg(host: Host, name: str) -> str | None:
    """Why `pkg` cannot run in jail NAME on this host (a Linux jail without pkg_command); None
    when it can."""
    if on_freebsd():
        return None
    ref, cfg = _jail(host, name)
    return str(PkgNotAvailable(ref.name, ref.name)) if linux_argv(cfg.get(PKG_COMMAND), ()) is None else None


def _ensure_running(host: Host, ref: JailRef, reporter: Reporter | None) -> bool:
    """Start the jail unless it runs; True if this call started it."""
    if ref.name in state.running(host):
        return False
    lifecycle.start_one(host, ref, reporter=reporter)
    return True


Report = Callable[[str, int, int, str], None]  # package, attempt, exit status, output


def install(host: Host, name: str, pkgs: Sequence[str], *, retries: int = DEFAULT_RETRIES,
            capture: bool = True, report: Report | None = None, executor: Executor | None = None,
            reporter: Reporter | None = None) -> list[str]:
    """Install PKGS in jail NAME, each tried up to `retries` times; the packages that failed
    (all of them when pkg itself could not be bootstrapped). The jail is started for the
    install and stopped again if it was not running. Raises PkgNotAvailable on a Linux jail
    without pkg_command, and the start's error if the jail cannot start.

    `report(package, attempt, status, output)` hears every attempt (output only when captured).
    """
    if retries < 1:
        raise UsageError("retries must be at least 1")
    ref, cfg = _jail(host, name)
    linux = executor is None and not on_freebsd()
    if linux and pkg_command_argv(cfg.get(PKG_COMMAND)) is None:
        raise PkgNotAvailable(ref.name, ref.name)
    started = _ensure_running(host, ref, reporter)
    try:
        if linux:
            return _install_linux(host, ref.name, cfg.get(PKG_COMMAND), pkgs, retries, capture, report)
        runner = executor or HostExecutor(capture=capture, rundir=config.rundir())
        bootstrap, commands = install_plan(ref.name, pkgs, has_pkg=_has_pkg(ref.path / "root"),
                                           caller_env=os.environ)
        return with_retries(bootstrap, list(zip(pkgs, commands)), retries, lambda c: _attempt(runner, c), report)
    finally:
        if started:
            _stop_quietly(host, ref.name, reporter)


def _attempt(runner: Executor, command: Command) -> tuple[int, str]:
    if isinstance(runner, HostExecutor):
        runner.output.clear()
    code = runner.run(command)
    return code, "".join(getattr(runner, "output", ()))


def with_retries(bootstrap: Command | None, jobs: Sequence[tuple[str, Command]], retries: int,
                 attempt: Callable[[Command], tuple[int, str]], report: Report | None) -> list[str]:
    """Run each job until it succeeds or `retries` attempts failed; the names that failed."""
    def tries(label: str, command: Command) -> bool:
        for number in range(1, retries + 1):
            code, output = attempt(command)
            if report:
                report(label, number, code, output)
            if code == 0:
                return True
        return False

    if bootstrap is not None and not tries("pkg", bootstrap):
        return [p for p, _ in jobs]
    return [p for p, command in jobs if not tries(p, command)]


def _install_linux(host: Host, name: str, pkg_command: str | None, pkgs: Sequence[str], retries: int,
                   capture: bool, report: Report | None) -> list[str]:
    def attempt(command: Command) -> tuple[int, str]:
        done = enter.exec_in(host, name, list(command.argv), capture=capture, stdin=b"" if capture else None)
        return done.code, done.stdout + done.stderr

    jobs = []
    for package in pkgs:
        argv = linux_argv(pkg_command, ("install", "-y", package))
        assert argv is not None
        jobs.append((package, Command(tuple(argv))))
    return with_retries(None, jobs, retries, attempt, report)


def _stop_quietly(host: Host, name: str, reporter: Reporter | None) -> None:
    try:
        lifecycle.stop_one(host, name, reporter=reporter)
    except IocjailError as err:  # the install's result matters more; say what is left running
        log.warning("%s: could not stop it again after installing packages: %s", name, err)
