"""ALL and several names: a verb run jail by jail, each jail's failure its own.

`batch` runs a verb that returns nothing over NAMES (or ALL in priority order) and gives one
`Outcome` per jail; `in_every_jail` runs one that returns something (`exec`, `pkg`, `update`,
`upgrade`) over ALL and gives a `Ran` per jail, its result or why it did not run. Neither stops
at a failed jail (zfs_autobackup's per-dataset isolation).

`start --rc`'s outcomes are services/boot.py's own: a status word of a parallel schedule, with
the clock readings and the dependency flag, not an error to hand to the CLI's one handler.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from iocjail.errors import IocjailError
from iocjail.site import config
from iocjail.site.host import Host
from iocjail.site.jails import JailRef, all_jails, resolve


T = TypeVar("T")

NOT_RUNNING = "not running"


@dataclass(frozen=True)
class Outcome:
    name: str
    error: IocjailError | None = None
    skipped: str = ""  # why nothing was done (ALL: already running / not running)

    @property
    def ok(self) -> bool:
        return self.error is None



@dataclass(frozen=True)
class Ran(Generic[T]):
    """One jail of an ALL (`exec`, `pkg`, `update`, `upgrade`): what it gave, or why it did not run."""

    name: str
    result: T | None = None
    error: IocjailError | None = None
    skipped: str = ""



def select(host: Host, names: Sequence[str], *, reverse: bool = False) -> list[JailRef]:
    """NAMES resolved (unique prefixes allowed), or every jail for ALL in priority order
    (descending for stop, as iocage's stop --rc)."""
    if list(names) == ["ALL"]:
        defaults = config.load_defaults(host)
        cfgs = {r.name: (r, config.load(host, r, defaults).effective) for r in all_jails(host, templates=False)}
        refs = [r for r, cfg in cfgs.values() if cfg.get("type") != "template"]  # templates never start
        return sorted(refs, key=lambda r: (int(cfgs[r.name][1].get("priority", "99")), r.name), reverse=reverse)
    return [resolve(host, name, prefix=True) for name in dict.fromkeys(names)]


def batch(host: Host, names: Sequence[str], one: Callable[[JailRef], None], *, reverse: bool = False,
           quiet_skip: type[IocjailError] | None = None) -> list[Outcome]:
    every = list(names) == ["ALL"]
    outcomes = []
    for ref in select(host, names, reverse=reverse):
        try:
            one(ref)
            outcomes.append(Outcome(ref.name))
        except IocjailError as err:
            if every and quiet_skip is not None and isinstance(err, quiet_skip):
                outcomes.append(Outcome(ref.name, skipped=str(err)))
            else:
                outcomes.append(Outcome(ref.name, err))
    return outcomes



def every_jail(host: Host) -> list[str]:
    """What ALL names: every jail (templates never) in priority order."""
    return [ref.name for ref in select(host, ["ALL"])]


def in_every_jail(host: Host, one: Callable[[JailRef], T], *, skip: Callable[[JailRef], str | None] | None = None,
                  begin: Callable[[str], None] | None = None,
                  done: Callable[[str, T], None] | None = None) -> list[Ran[T]]:
    """ONE in every jail (templates never), in priority order, one after the other, as iocage's
    ALL: a jail's error is its result and the others go on. `skip` says why a jail is left
    alone (not running, no pkg, nothing to update), before anything is told of it; `begin` is
    told before each jail runs, `done` after, so its output follows its name."""
    results: list[Ran[T]] = []
    for ref in select(host, ["ALL"]):
        try:
            why = skip(ref) if skip is not None else None
            if why:
                results.append(Ran(ref.name, skipped=why))
                continue
            if begin is not None:
                begin(ref.name)
            result = one(ref)
        except IocjailError as err:
            results.append(Ran(ref.name, error=err))
            continue
        if done is not None:
            done(ref.name, result)
        results.append(Ran(ref.name, result))
    return results

