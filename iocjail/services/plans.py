"""`--plan` of every verb through one entry: what `start`, `stop`, `update`, `upgrade` or `pkg` of a
jail (or of ALL) would run, as text; nothing runs, nothing is written.

start/stop: this host's runtime, or the one asked for (`--platform freebsd` works anywhere, on
assumed host facts); a running jail's stop is the undo of what its start applied.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from iocjail.lifecycle.select import on_freebsd
from iocjail.services import batch, lifecycle, packages, updates, upgrades
from iocjail.site.host import Host
from iocjail.site.jails import resolve

VERBS = ("start", "stop", "update", "upgrade", "pkg")


def plan_text(host: Host, name: str, verb: str, platform: str | None = None, *, args: Sequence[str] = (),
              release: str = "") -> Iterator[list[str]]:
    """The lines `VERB --plan NAME` prints, one block per jail, each made when it is asked for (a
    failure after the first jail of ALL comes after the blocks before it). ALL (update, upgrade,
    pkg): every jail in priority order; for update and upgrade, a jail that has no plan says why."""
    if verb in ("start", "stop"):
        yield _lifecycle(host, name, verb, platform)
        return
    if name != "ALL":
        yield _one(host, name, verb, args, release)
        return
    for jail in batch.every_jail(host):
        try:
            yield _one(host, jail, verb, args, release)
        except updates.CannotUpdate as err:
            if verb == "pkg":
                raise
            yield [f"# {err}: skipped"]


def _one(host: Host, name: str, verb: str, args: Sequence[str], release: str) -> list[str]:
    if verb == "update":
        return updates.plan_lines(host, name)
    if verb == "upgrade":
        return upgrades.plan_lines(host, name, release)
    if verb == "pkg":
        return packages.plan_lines(host, name, args)
    raise ValueError(f"no plan for {verb!r}")


def _lifecycle(host: Host, name: str, verb: str, platform: str | None) -> list[str]:
    native = "freebsd" if on_freebsd() else "linux"
    if (platform or native) == "freebsd":
        if verb == "stop" and native == "freebsd":  # a running jail: undo what was applied
            applied = lifecycle.journal_stop_plan(host, resolve(host, name, prefix=True).name)
            if applied is not None:
                return applied
        _, start_lines, stop_lines = lifecycle.freebsd_plan(host, name)
        return start_lines if verb == "start" else stop_lines
    return lifecycle.plan(host, name)[1] if verb == "start" else lifecycle.stop_plan(host, name)
