"""A plugin repository's INDEX and the artifact's overlay: bad entries skipped by name, escapes refused."""

from __future__ import annotations

import json

import pytest

from iocjail.errors import UsageError
from iocjail.model import plugin_source as S


# -- INDEX -----------------------------------------------------------------------------------------

def test_index_entries_are_read_and_bad_ones_skipped_by_name():
    index = S.parse_index(json.dumps({
        "syncthing": {"MANIFEST": "syncthing.json", "name": "Syncthing", "primary_pkg": "net/syncthing",
                      "description": "Personal cloud sync", "official": True},
        "homebridge": {"MANIFEST": "homebridge.json", "name": "Homebridge", "description": "x", "offical": False},
        "evil": {"MANIFEST": "../../../etc/passwd", "name": "Evil"},
        "../x": {"MANIFEST": "x.json", "name": "x"},
        "term": {"MANIFEST": "term.json", "name": "\x1b]0;owned\x07", "description": ""},
    }), "INDEX")
    assert [e.key for e in index.entries] == ["homebridge", "syncthing"]
    assert index.find("syncthing") == S.IndexEntry("syncthing", "syncthing.json", "Syncthing", "Personal cloud sync",
                                                   "net/syncthing", True)
    assert index.find("homebridge").official is False and index.find("evil") is None
    assert [s.split(":")[0] for s in index.skipped] == ["evil", "../x", "term"]


def test_an_index_that_is_not_an_object_is_refused():
    with pytest.raises(S.InvalidIndex, match="must be a JSON object"):
        S.parse_index("[1]", "INDEX")


# -- overlay ---------------------------------------------------------------------------------------

def test_a_plain_overlay_passes_in_order():
    entries = [S.OverlayEntry("usr", "dir"), S.OverlayEntry("usr/local", "dir"),
               S.OverlayEntry("usr/local/etc/app.conf", "file"),
               S.OverlayEntry("usr/local/etc/app.d", "symlink", "../share/app"),
               S.OverlayEntry("usr/local/bin/app", "symlink", "../../../usr/local/share/app/bin")]
    assert S.check_overlay(entries) == entries


@pytest.mark.parametrize("entry, why", [
    (S.OverlayEntry("../etc/passwd", "file"), "not a plain relative path"),
    (S.OverlayEntry("usr/../../etc", "dir"), "not a plain relative path"),
    (S.OverlayEntry("/etc/passwd", "file"), "not a plain relative path"),
    (S.OverlayEntry("dev/mem", "other"), "a other, not a file"),
    (S.OverlayEntry("etc/rc.local", "symlink", "/etc/shadow"), "must stay inside the jail"),
    (S.OverlayEntry("etc/rc.local", "symlink", "../../../etc/shadow"), "must stay inside the jail"),
    (S.OverlayEntry("etc", "symlink", ".."), "must stay inside the jail"),
])
def test_overlay_entries_that_leave_the_root_are_refused(entry, why):
    with pytest.raises(UsageError, match=why):
        S.check_overlay([S.OverlayEntry("ok", "file"), entry])
