"""`list` column rules (iocage §1.2): short release, short IPv4, UUID names, sorting, display."""

from __future__ import annotations

import pytest

from iocjail.errors import UsageError
from iocjail.services import listing as L


@pytest.mark.parametrize("release,short", [
    ("13.2-RELEASE-p4", "13.2-RELEASE"), ("13.2-RELEASE", "13.2-RELEASE"), ("14.0-STABLE", "14.0-STABLE"),
    ("EMPTY", "EMPTY"), ("13.2-RELEASE-pre", "13.2-RELEASE-pre"), (None, None),
])
def test_short_release(release, short):
    assert L.short_release(release) == short


@pytest.mark.parametrize("cfg,shown", [
    ({"ip4_addr": "em0|192.0.2.10/24"}, "192.0.2.10"),
    ({"ip4_addr": "em0|192.0.2.10/24,em1|198.51.100.2"}, "192.0.2.10,198.51.100.2"),
    ({"ip4_addr": "192.0.2.10"}, "192.0.2.10"),
    ({"ip4_addr": "vnet0|DHCP"}, "DHCP"),
    ({"ip4_addr": "none", "dhcp": "1"}, "DHCP"),
    ({"ip4_addr": "none"}, None),
    ({}, None),
])
def test_short_ip4(cfg, shown):
    assert L.short_ip4(cfg) == shown


def test_uuid_names_are_cut_to_8_unless_long():
    uid = "0b1f6c35-4b4a-4c9e-9c7b-9b1a2b3c4d5e"
    assert L.display_name(uid, False) == "0b1f6c35"
    assert L.display_name(uid, True) == uid
    assert L.display_name("www1", False) == "www1"
    assert L.display_name("x" * 36, False) == "x" * 36


def row(name, jid=None, state="down", release="13.2-RELEASE-p4", ip4=None, **kw):
    return L.JailRow(name, jid, state, release, ip4, **kw)


def test_display_short_long_and_corrupt():
    r = row("www1", ip4="192.0.2.10", ip4_addr="em0|192.0.2.10/24")
    assert L.display(r, False).release == "13.2-RELEASE" and L.display(r, False).ip4 == "192.0.2.10"
    assert L.display(r, True).release == "13.2-RELEASE-p4" and L.display(r, True).ip4 == "em0|192.0.2.10/24"
    bad = L.display(L.JailRow("b", None, "CORRUPT", None, None), False)
    assert (bad.release, bad.ip4, bad.state) == ("N/A", "N/A", "CORRUPT")


def test_json_is_typed_and_keeps_full_names():
    uid = "0b1f6c35-4b4a-4c9e-9c7b-9b1a2b3c4d5e"
    r = row(uid, jid=7, state="up", ip4="192.0.2.10", boot=True, type="jail", basejail=False)
    assert L.to_json(r, False) == {"jid": 7, "name": uid, "state": "up", "release": "13.2-RELEASE",
                                   "ip4": "192.0.2.10"}
    assert L.to_json(r, True)["boot"] is True and L.to_json(r, True)["template"] is None


def test_sort_columns_are_checked_case_insensitively():
    assert L.check_sort("RELEASE", L.SHORT_SORT) == "release"
    with pytest.raises(UsageError, match="cannot sort by 'boot': choose one of jid, name, state, release, ip4"):
        L.check_sort("boot", L.SHORT_SORT)
    assert L.check_sort("boot", L.LONG_SORT) == "boot"


def test_natural_order_for_versions_addresses_and_missing_values():
    rows = [row("a", release="11.2-RELEASE"), row("b", release="9.3-RELEASE"), row("c", release=None)]
    assert [r.name for r in sorted(rows, key=L._sort_key("release"))] == ["b", "a", "c"]
    rows = [row("a", ip4="10.0.0.10"), row("b", ip4="10.0.0.9"), row("c", ip4=None)]
    assert [r.name for r in sorted(rows, key=L._sort_key("ip4"))] == ["b", "a", "c"]
    rows = [row("a", jid=12), row("b"), row("c", jid=3)]
    assert [r.name for r in sorted(rows, key=L._sort_key("jid"))] == ["c", "a", "b"]
