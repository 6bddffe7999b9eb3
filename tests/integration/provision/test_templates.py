"""`set template=yes|no`: datasets move between jails/ and templates/, readonly follows."""

from __future__ import annotations

import json

import pytest

from iocjail.services.templates import is_template
from tests.support.cli import iocjail, names, ok, prop

REL = "13.2-RELEASE"


def test_to_a_template_and_back(fetched, iocroot):
    r = f"{fetched}/iocage"
    ok("create", "-r", REL, "-n", "dns", "ip4_addr=192.0.2.53")
    out = ok("set", "template=yes", "notes=resolver", "dns")
    assert out == "template: 0 -> 1\nnotes: none -> resolver\n"
    assert f"{r}/templates/dns" in names(fetched) and f"{r}/jails/dns" not in names(fetched)
    assert prop(f"{r}/templates/dns/root", "origin") == f"{r}/releases/{REL}/root@dns"
    cfg = json.loads((iocroot / "templates" / "dns" / "config.json").read_text())
    assert (cfg["type"], cfg["template"], cfg["notes"]) == ("template", "1", "resolver")
    assert is_template(cfg)
    with pytest.raises(OSError):  # readonly (zfs-fuse misreports the property while mounted)
        (iocroot / "templates" / "dns" / "root" / "probe").write_text("x")
    # a set on the template keeps it readonly and in place
    assert ok("set", "priority=3", "dns") == "priority: 99 -> 3\n"
    assert json.loads((iocroot / "templates" / "dns" / "config.json").read_text())["priority"] == "3"

    ok("create", "-t", "dns", "-n", "dns1")
    assert ok("set", "template=no", "dns") == "template: 1 -> 0\n"
    assert f"{r}/jails/dns" in names(fetched) and f"{r}/templates/dns" not in names(fetched)
    cfg = json.loads((iocroot / "jails" / "dns" / "config.json").read_text())
    assert (cfg["type"], cfg["template"]) == ("jail", "0") and not is_template(cfg)
    (iocroot / "jails" / "dns" / "root" / "probe").write_text("writable again")
    # the jail made from it followed the move
    assert prop(f"{r}/jails/dns1/root", "origin") == f"{r}/jails/dns/root@dns1"


def test_refusals(fetched, iocroot, mark_running):
    ok("create", "-r", REL, "-n", "web")
    before = names(fetched)
    result = iocjail("set", "template=yes", "default")
    assert result.exit_code == 2 and "cannot be set on default" in result.output
    result = iocjail("set", "template=maybe", "web")
    assert result.exit_code == 2 and "template" in result.output
    mark_running("web")
    result = iocjail("set", "template=yes", "web")
    assert result.exit_code == 1 and "is running: stop it first" in result.output
    assert names(fetched) == before
    assert "template" not in json.loads((iocroot / "jails" / "web" / "config.json").read_text())


def test_is_template():
    assert is_template({"type": "template"}) and is_template({"template": "1"})
    assert not is_template({"type": "jail", "template": "0"}) and not is_template({})
