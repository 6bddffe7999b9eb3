"""`destroy -d`: the deferred destroy of origin snapshots that `destroy NAME` relies on."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from iocjail.platform.shell import Result
from iocjail.platform.zfs import Zfs


def test_defer_adds_d_for_snapshots_only():
    calls: list[list[str]] = []

    def run(argv: Sequence[str], **kwargs: object) -> Result:
        calls.append(list(argv))
        return Result(tuple(argv), 0, "", "")

    zfs = Zfs(run=run)
    zfs.destroy("p/iocage/releases/R/root@www1", defer=True)
    zfs.destroy("p/iocage/templates/T@www1", recursive=True, defer=True)
    assert calls == [["zfs", "destroy", "-d", "p/iocage/releases/R/root@www1"],
                     ["zfs", "destroy", "-r", "-d", "p/iocage/templates/T@www1"]]
    with pytest.raises(ValueError):
        zfs.destroy("p/iocage/jails/www1", defer=True)
