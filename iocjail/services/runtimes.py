"""The runtimes the lifecycle engine drives: jail(8) on FreeBSD, namespaces on Linux.

`of(host)` is the runtime of this system (`sys.platform`), unless the Host was given one (tests
select the FreeBSD runtime with a simulated host's `run`). A runtime answers what differs between
the two platforms, and nothing else; services/lifecycle.py holds everything they share:

* `taken()`: JIDs the host holds outside iocjail's journals (a test for `journal.reserve`);
* `build(host, ref, cfg, jid)`: the host facts gathered and checked, the plan, and the values a
  successful start stores in config.json (FreeBSD: the generated vnet MACs);
* `runner(facts)`: the runner of a plan, built from the plan's facts alone, so a stop undoes a
  journal without reading the config;
* `alive(journal)` and `running(host, journals)`: whether a journal's jail exists (Linux: its
  holder's pid and start time; FreeBSD: its JID under its name in one `jls --libxo json`);
* `exec_command` and `console_command`: the argv and environment that enter a running jail, and
  `run`/`interactive` to run them;
* `live_mount`/`live_unmount`: an fstab entry mounted into a running jail (Linux only so far).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from iocjail.errors import IocjailError
from iocjail.lifecycle import journal as J
from iocjail.lifecycle.engine import Runner
from iocjail.lifecycle.plan import Action, Plan, Step
from iocjail.model.fstab import Entry as FstabEntry
from iocjail.platform import shell
from iocjail.services.host import Host
from iocjail.services.jails import JailRef

Wrap = Callable[[Runner], Runner]


class RuntimeMissing(IocjailError):
    template = "iocjail runs jails on FreeBSD and Linux, not on {}"


@dataclass(frozen=True)
class Running:
    name: str
    jid: int
    state: str  # "up", or "starting"/"stopping"/"failed" while a command holds the jail


@dataclass(frozen=True)
class Built:
    """A start, ready for the engine: the plan and what to store in config.json once it is up."""

    plan: Plan
    updates: Mapping[str, str]


@dataclass(frozen=True)
class Command:
    """What enters a running jail: the argv and its whole environment."""

    argv: list[str]
    env: dict[str, str]


class Runtime(Protocol):
    name: str

    def taken(self) -> Callable[[int], bool]: ...

    def build(self, host: Host, ref: JailRef, cfg: Mapping[str, str], jid: int) -> Built: ...

    def runner(self, facts: Mapping[str, str], wrap: Wrap | None = None) -> Runner: ...

    def alive(self, journal: J.Journal) -> bool: ...

    def running(self, host: Host, journals: Mapping[str, Mapping[str, Any]]) -> dict[str, Running]: ...

    def exec_command(self, journal: J.Journal, cfg: Mapping[str, str], command: Sequence[str],
                     jail_user: str | None, host_user: str | None) -> Command: ...

    def console_command(self, journal: J.Journal, cfg: Mapping[str, str]) -> Command: ...

    def run(self, argv: Sequence[str], *, env: Mapping[str, str], input: bytes) -> shell.Result: ...

    def interactive(self, argv: Sequence[str], *, env: Mapping[str, str]) -> int: ...

    def live_mount(self, journal: J.Journal, entry: FstabEntry) -> Step | None: ...

    def live_unmount(self, journal: J.Journal, entry: FstabEntry) -> Action | None: ...


def select(platform: str = sys.platform) -> Runtime:
    """The runtime of `platform` (a `sys.platform` value)."""
    if platform.startswith("linux"):
        from iocjail.services.linux_runtime import LinuxRuntime

        return LinuxRuntime()
    if platform.startswith("freebsd"):
        from iocjail.services.freebsd_runtime import FreeBSDRuntime

        return FreeBSDRuntime()
    raise RuntimeMissing(platform)


def of(host: Host) -> Runtime:
    """The host's runtime: the one it was given, else this system's (remembered on the host)."""
    if host.runtime is None:
        host.runtime = select()
    runtime: Runtime = host.runtime
    return runtime
