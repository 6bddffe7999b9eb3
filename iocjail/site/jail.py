"""`with_jail`: the preamble a verb on one jail opens with, written once (borg's `with_repository`).

    with with_jail(host, name) as (ref, cfg):      # resolved (a unique prefix accepted), locked,
        ...                                         # its config loaded under the lock

`lock=False` reads without the jail's lock; `running=True`/`False` refuses a jail that is not
running / is running before anything else happens; `prefix=False` for destructive verbs, where
iocage's prefix matching is a hazard.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from iocjail.errors import JailNotRunning, MustBeStopped
from iocjail.site import config, state
from iocjail.site.config import JailConfig
from iocjail.site.host import Host
from iocjail.site.jails import JailRef, resolve


@contextmanager
def with_jail(host: Host, name: str, *, lock: bool = True, running: bool | None = None,
              prefix: bool = True) -> Iterator[tuple[JailRef, JailConfig]]:
    ref = resolve(host, name, prefix=prefix)
    with config.lock(host, ref.name) if lock else nullcontext():
        if running is not None:
            up = state.running(host).get(ref.name)
            if running and up is None:
                raise JailNotRunning(ref.name)
            if not running and up is not None:
                raise MustBeStopped(ref.name, ref.name)
        yield ref, config.load(host, ref)
