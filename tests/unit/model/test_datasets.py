from __future__ import annotations

import pytest

from iocjail.errors import InvalidName
from iocjail.model.datasets import is_under, plan_destroy, validate_pool_name

R = "p/iocage"


@pytest.mark.parametrize("name", ["tank", "zroot", "p1", "a.b:c-d_e"])
def test_valid_pool_names(name):
    assert validate_pool_name(name) == name


@pytest.mark.parametrize("name,why", [
    ("", "empty"), ("bad/name", "letter"), ("1pool", "letter"), ("a b", "letter"), ("../x", "letter"),
    ("mirror", "reserved"), ("raidz2", "reserved"), ("c0t0", "reserved"), ("x" * 241, "longer"),
])
def test_invalid_pool_names(name, why):
    with pytest.raises(InvalidName, match=why):
        validate_pool_name(name)


def test_is_under():
    assert is_under("p/a", "p/a") and is_under("p/a/b", "p/a") and is_under("p/a@s", "p/a")
    assert not is_under("p/ab", "p/a") and not is_under("p", "p/a")


ORIGINS = {
    "p": None, R: None,
    f"{R}/releases/13.2-RELEASE": None,
    f"{R}/releases/13.2-RELEASE/root": None,
    f"{R}/templates/t1": None,
    f"{R}/templates/t1/root": f"{R}/releases/13.2-RELEASE/root@t1",
    f"{R}/jails/thin": None,
    f"{R}/jails/thin/root": f"{R}/releases/13.2-RELEASE/root@thin",
    f"{R}/jails/fromtpl": None,
    f"{R}/jails/fromtpl/root": f"{R}/templates/t1/root@fromtpl",
    f"{R}/jails/thick": None,
    f"{R}/jails/thick/root": None,
}


def test_clones_go_before_their_origins():
    plan = plan_destroy([f"{R}/releases/13.2-RELEASE", f"{R}/templates/t1", f"{R}/jails/thin",
                         f"{R}/jails/fromtpl"], ORIGINS)
    order = list(plan.units)
    assert order.index(f"{R}/jails/fromtpl") < order.index(f"{R}/templates/t1")
    assert order.index(f"{R}/templates/t1") < order.index(f"{R}/releases/13.2-RELEASE")
    assert order.index(f"{R}/jails/thin") < order.index(f"{R}/releases/13.2-RELEASE")
    assert plan.blockers == () and plan.origin_snapshots == ()


def test_a_clone_outside_the_targets_blocks():
    plan = plan_destroy([f"{R}/releases/13.2-RELEASE"], ORIGINS)
    assert plan.blockers == (f"{R}/jails/thin/root", f"{R}/templates/t1/root")


def test_absorb_takes_dependants_along_transitively():
    def absorb(name: str) -> str | None:
        parts = name.split("/")
        return "/".join(parts[:4]) if parts[2] in ("jails", "templates") else None

    plan = plan_destroy([f"{R}/releases/13.2-RELEASE"], ORIGINS, absorb)
    assert plan.blockers == ()
    assert set(plan.units) == {f"{R}/releases/13.2-RELEASE", f"{R}/templates/t1", f"{R}/jails/thin",
                               f"{R}/jails/fromtpl"}
    assert plan.units[-1] == f"{R}/releases/13.2-RELEASE"
    assert f"{R}/jails/thick" not in plan.units  # not a clone: survives


def test_per_jail_origin_snapshots_are_removed_after_their_clone():
    plan = plan_destroy([f"{R}/jails/thin", f"{R}/jails/fromtpl"], ORIGINS)
    assert set(plan.origin_snapshots) == {f"{R}/releases/13.2-RELEASE/root@thin", f"{R}/templates/t1/root@fromtpl"}


def test_an_origin_snapshot_still_used_elsewhere_is_kept():
    origins = dict(ORIGINS)
    origins["p/other"] = f"{R}/releases/13.2-RELEASE/root@thin"
    plan = plan_destroy([f"{R}/jails/thin"], origins)
    assert plan.origin_snapshots == ()


def test_a_user_snapshot_used_as_origin_is_not_removed():
    origins = {f"{R}/jails/a": None, f"{R}/jails/a/root": f"{R}/releases/R/root@mysnap", f"{R}/releases/R/root": None}
    assert plan_destroy([f"{R}/jails/a"], origins).origin_snapshots == ()
