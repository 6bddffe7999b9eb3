"""The quota/reservation rules of OpenZFS's dsl_dir.c, checked before `set` touches anything."""

from __future__ import annotations

import pytest

from iocjail.model.zfs_space import Space, apply_order, refusal, size_bytes

M = 1 << 20
SPACE = Space(used=10 * M, quota=0, reservation=0, parent_available=100 * M)


@pytest.mark.parametrize("spec,expected", [("none", 0), ("500M", 500 * M), ("1.5T", 3 << 39), ("2G", 2 << 30),
                                           ("4096", 4096), ("0", 0)])
def test_size_bytes(spec, expected):
    assert size_bytes(spec) == expected


def test_size_bytes_refuses_garbage():
    with pytest.raises(ValueError):
        size_bytes("12Q")


@pytest.mark.parametrize("new,why", [
    ({"quota": "5M"}, "below what the jail uses"),                          # quota < used
    ({"quota": "20M", "reservation": "30M"}, "below what the jail uses or reserves"),
    ({"reservation": "111M"}, "larger than the space available"),           # grows by 101M > 100M
    ({"reservation": "50M", "quota": "40M"}, "below what the jail uses or reserves"),
])
def test_refused(new, why):
    assert why in (refusal(SPACE, new) or "")


@pytest.mark.parametrize("new", [{"quota": "none"}, {"reservation": "110M"},  # grows by exactly 100M past used
                                 {"quota": "20M", "reservation": "20M"}, {"dedup": "on"}])
def test_accepted(new):
    assert refusal(SPACE, new) is None


def test_existing_quota_bounds_a_new_reservation():
    limited = Space(used=10 * M, quota=40 * M, reservation=0, parent_available=1000 * M)
    assert "larger than the quota" in (refusal(limited, {"reservation": "50M"}) or "")
    assert refusal(limited, {"reservation": "50M", "quota": "60M"}) is None


def test_existing_reservation_bounds_a_new_quota():
    reserved = Space(used=10 * M, quota=0, reservation=30 * M, parent_available=1000 * M)
    assert "below what the jail uses or reserves" in (refusal(reserved, {"quota": "20M"}) or "")


def test_order_puts_zfs_judged_properties_first_and_orders_quota_and_reservation():
    reserved = Space(used=10 * M, quota=100 * M, reservation=50 * M, parent_available=1000 * M)
    assert apply_order(reserved, {"reservation": "60M", "dedup": "on", "quota": "200M"}) == \
        ["dedup", "quota", "reservation"]  # quota grows: first, so the reservation fits under it
    assert apply_order(reserved, {"quota": "20M", "reservation": "10M"}) == \
        ["reservation", "quota"]           # quota falls below the old reservation: that shrinks first
