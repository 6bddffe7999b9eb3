"""Why a start refuses a jail's root: each fact that is not the jail's own mounted root dataset."""

from __future__ import annotations

from dataclasses import replace

import pytest

from iocjail.model.jail_root import RootFacts, root_problem

GOOD = RootFacts(path="/iocage/jails/web/root", dataset="tank/iocage/jails/web/root", exists=True,
                 mountpoint="/iocage/jails/web/root", mounted=True, unsafe=None,
                 mounted_here="tank/iocage/jails/web/root")


def test_the_jails_own_mounted_root_dataset_passes():
    assert root_problem(GOOD) is None


@pytest.mark.parametrize("change, why", [
    ({"exists": False, "mountpoint": None, "mounted": False}, "it has no root dataset (tank/iocage/jails/web/root)"),
    ({"mountpoint": "/etc"}, "is mounted at /etc, not at /iocage/jails/web/root"),
    ({"unsafe": "/iocage/jails/web/root is a symlink (to /)"}, "its root is not a plain directory: /iocage/jails/web/root is a symlink (to /)"),
    ({"mounted": False, "mounted_here": None}, "its root dataset tank/iocage/jails/web/root is not mounted"),
    ({"mounted_here": "tank/iocage/jails/db/root"}, "tank/iocage/jails/db/root is mounted there"),
    ({"mounted_here": None}, "nothing is mounted there"),
    ({"importing": True}, "its import did not finish"),
])
def test_anything_else_is_refused_with_its_reason(change, why):
    problem = root_problem(replace(GOOD, **change))
    assert problem is not None and why in problem
