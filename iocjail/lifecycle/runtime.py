"""The runtimes the lifecycle engine drives: jail(8) on FreeBSD (lifecycle/freebsd/), namespaces on
Linux (lifecycle/linux/). `select` (lifecycle/select.py) picks the one of this system; the site's
`of(host)` remembers it (tests hand a Host the FreeBSD runtime with a simulated host's `run`).

A runtime answers what differs between the two platforms, and nothing else; the services hold
everything they share. It takes plain values (`JailSite`: where the jail lives), never the
service layer's objects:

* `taken()`: JIDs the host holds outside iocjail's journals (a test for `journal.reserve`);
* `build(site, cfg, jid, datasets)`: the host facts gathered and checked, the plan, and the values
  a successful start stores in config.json (FreeBSD: the generated vnet MACs); `datasets` are the
  jail_zfs datasets that exist;
* `runner(rundir, facts)`: the runner of a plan, built from the plan's facts alone (and where
  runtime state lives), so a stop undoes a journal without reading the config;
* `alive(journal)` and `running(iocroot, journals)`: whether a journal's jail exists (Linux: its
  holder's pid and start time; FreeBSD: its JID under its name in one `jls --libxo json`);
* `exec_command` and `console_command`: the argv and environment that enter a running jail, and
  `run`/`interactive` to run them;
* `live_mount`/`live_unmount`: an fstab entry mounted into a running jail (Linux only so far).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from iocjail.lifecycle import journal as J
from iocjail.lifecycle.engine import Runner
from iocjail.lifecycle.plan import Action, Plan, Step
from iocjail.model.fstab import Entry as FstabEntry
from iocjail.platform import shell

Wrap = Callable[[Runner], Runner]
RUNDIR = Path("/var/run/iocjail")  # runtime state: journals, locks (site/config.rundir() reads IOCJAIL_RUNDIR)


@dataclass(frozen=True)
class JailSite:
    """Where a jail lives, as plain values: all a runtime needs of the site."""

    name: str
    jaildir: Path  # IOCROOT/jails/NAME: config.json, fstab, root/
    iocroot: Path
    pool: str
    rundir: Path


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

    def build(self, site: JailSite, cfg: Mapping[str, str], jid: int, datasets: frozenset[str]) -> Built: ...

    def runner(self, rundir: Path, facts: Mapping[str, str], wrap: Wrap | None = None) -> Runner: ...

    def alive(self, journal: J.Journal) -> bool: ...

    def running(self, iocroot: Callable[[], Path], journals: Mapping[str, Mapping[str, Any]]) -> dict[str, Running]: ...

    def exec_command(self, journal: J.Journal, cfg: Mapping[str, str], command: Sequence[str],
                     jail_user: str | None, host_user: str | None) -> Command: ...

    def console_command(self, journal: J.Journal, cfg: Mapping[str, str]) -> Command: ...

    def run(self, argv: Sequence[str], *, env: Mapping[str, str], input: bytes) -> shell.Result: ...

    def interactive(self, argv: Sequence[str], *, env: Mapping[str, str]) -> int: ...

    def live_mount(self, journal: J.Journal, entry: FstabEntry) -> Step | None: ...

    def live_unmount(self, journal: J.Journal, entry: FstabEntry) -> Action | None: ...
