"""What create, clone, rename, templates and destroy share: the undo journal that makes each of
them all-or-nothing, and the jail's support files (the one batched look at the iocage tree they
start from is site/inventory.py).

The journal: every step that changes the pool registers its undo *before* it runs (a step that
fails halfway, e.g. `zfs clone -p` that made the parent but not the clone, is undone too), and
undos are idempotent ("destroy if it exists"). A step refused because its target already existed
created nothing, so its undo is dropped. On any failure the undos run in reverse order; an undo
that fails itself is reported with the original error, never instead of it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from iocjail.errors import DatasetExists, DatasetNotFound, IocjailError
from iocjail.model import properties
from iocjail.model.provision import DEFAULT_RC_CONF
from iocjail.platform import safe_paths
from iocjail.platform.zfs import Zfs
from iocjail.site import config
from iocjail.site.host import Host

log = logging.getLogger("iocjail.services.provisioning")

class RollbackIncomplete(IocjailError):
    template = "{} (and undoing it failed, left behind: {})"


class NotMounted(IocjailError):
    template = "{} is not mounted at {}: cannot write its files"


# -- the undo journal ------------------------------------------------------------------------

class Undo:
    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], None]]] = []

    def run(self, what: str, action: Callable[[], object], undo: Callable[[], None]) -> None:
        """Register `undo`, then do `action`; DatasetExists means nothing was made."""
        self._steps.append((what, undo))
        try:
            action()
        except DatasetExists:
            self._steps.pop()
            raise

    def add(self, what: str, undo: Callable[[], None]) -> None:
        self._steps.append((what, undo))

    def rollback(self) -> list[str]:
        failed = []
        for what, undo in reversed(self._steps):
            try:
                undo()
            except Exception as err:  # keep undoing the rest; report every leftover
                log.debug("undo of %s failed: %s", what, err)
                failed.append(f"{what} ({err})")
        self._steps.clear()
        return failed


@contextmanager
def transaction() -> Iterator[Undo]:
    undo = Undo()
    try:
        yield undo
    except BaseException as err:
        failed = undo.rollback()
        if failed:
            raise RollbackIncomplete(str(err), "; ".join(failed)) from err
        raise


def destroy_quietly(zfs: Zfs, name: str, *, recursive: bool = False) -> Callable[[], None]:
    """An undo: destroy `name` (with -r) if it still exists."""

    def undo() -> None:
        try:
            zfs.destroy(name, recursive=recursive)
        except DatasetNotFound:
            pass

    return undo


def rename_back(zfs: Zfs, current: str, original: str, *, recursive: bool = False) -> Callable[[], None]:
    """An undo: rename `current` back to `original`, if the rename happened at all."""

    def undo() -> None:
        if zfs.exists(current):
            zfs.rename(current, original, recursive=recursive)

    return undo


# -- the jail's files ------------------------------------------------------------------------

def require_mounted(path: Path, dataset: str) -> None:
    """Never write a jail's files into the directory under an unmounted dataset."""
    if not os.path.ismount(path):
        raise NotMounted(dataset, path)


def defaults(host: Host) -> dict[str, str]:
    """defaults.json over the registry's defaults: what a jail's stored config is laid over."""
    return {**properties.default_config(), **config.load_defaults(host)}


def write_rc_conf(root: Path, iocroot: Path) -> bool:
    """Give a jail without /etc/rc.conf the default one (iocroot/default_rc.conf if the host
    has its own, as iocage keeps it there); True if written."""
    if safe_paths.exists(root, "etc/rc.conf"):
        return False
    custom = iocroot / "default_rc.conf"
    text = custom.read_text() if custom.is_file() and not custom.is_symlink() else DEFAULT_RC_CONF
    safe_paths.write_text(root, "etc/rc.conf", text, sync=False)  # a jail being made: see create
    return True
