"""Which origin snapshots a rename moves: pure reasoning over dataset names."""

from __future__ import annotations

from iocjail.site.host import Host
from iocjail.site.jails import JailRef
from iocjail.services.rename import origin_moves

I = "p/iocage"


def ref(name: str, category: str = "jails") -> JailRef:
    from pathlib import Path

    return JailRef(name, category, f"{I}/{category}/{name}", Path("/x"))


def test_thin_from_template_and_clone():
    host = Host(_pool="p")
    origins = {
        f"{I}/jails/thin": None, f"{I}/jails/thin/root": f"{I}/releases/R/root@thin",
        f"{I}/jails/ft": None, f"{I}/jails/ft/root": f"{I}/templates/t/root@ft",
        f"{I}/jails/cl": f"{I}/jails/src@cl", f"{I}/jails/cl/root": f"{I}/jails/src/root@cl",
        f"{I}/jails/own": None, f"{I}/jails/own/root": f"{I}/releases/R/root@other",
    }
    snaps = {f"{I}/releases/R/root@thin", f"{I}/templates/t@ft", f"{I}/templates/t/root@ft", f"{I}/jails/src@cl",
             f"{I}/jails/src/root@cl", f"{I}/releases/R@thin"}
    assert origin_moves(host, ref("thin"), "n", origins, snaps) == [
        (f"{I}/releases/R/root@thin", f"{I}/releases/R/root@n", False)]  # releases/R@thin is not ours
    assert origin_moves(host, ref("ft"), "n", origins, snaps) == [(f"{I}/templates/t@ft", f"{I}/templates/t@n", True)]
    assert origin_moves(host, ref("cl"), "n", origins, snaps) == [(f"{I}/jails/src@cl", f"{I}/jails/src@n", True)]
    assert origin_moves(host, ref("own"), "n", origins, snaps) == []  # named otherwise: the user's
