from __future__ import annotations

import json

import pytest

from iocjail.errors import CorruptConfig
from iocjail.model import config as C
from iocjail.model import properties as P

DEFAULTS = P.default_config(mac_prefix="02ff60", hostid="abc")


@pytest.mark.parametrize("text,problem", [
    ('{"a": "1",}', "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 11"),
    ('{\n  "a": "1"\n  "b": "2"\n}', "line 3 column 3"),
    ("", "line 1 column 1"),
    ("[1, 2]", "expected a JSON object, found list"),
    ('"x"', "expected a JSON object, found str"),
    ('{"a": [1]}', "a: expected a string, found list"),
    ('{"a": {"b": "c"}}', "a: expected a string, found dict"),
    ('{"a": 1.5}', "a: expected a string, found float"),
])
def test_corrupt_configs_name_file_and_problem(text, problem):
    with pytest.raises(CorruptConfig) as info:
        C.parse_config_json(text, "/iocage/jails/x/config.json")
    message = str(info.value)
    assert message.startswith("/iocage/jails/x/config.json: ")
    assert problem in message


def test_iocage_numbers_and_null_become_strings():
    cfg = C.parse_config_json('{"boot": 1, "vnet": 0, "x": true, "y": false, "hostid": null, "p": "99"}', "f")
    assert cfg == {"boot": "1", "vnet": "0", "x": "1", "y": "0", "hostid": "none", "p": "99"}


def test_dump_is_sorted_indented_with_newline():
    text = C.dump_config_json({"b": "1", "a": "x\u00e9"})
    assert text == '{\n    "a": "x\\u00e9",\n    "b": "1"\n}\n'
    assert C.parse_config_json(text, "f") == {"a": "x\u00e9", "b": "1"}
    with pytest.raises(TypeError):
        C.dump_config_json({"a": 1})  # type: ignore[dict-item]


def test_dump_then_parse_round_trips_defaults():
    assert C.parse_config_json(C.dump_config_json(DEFAULTS), "d") == DEFAULTS


def test_effective_overlays_jail_on_defaults():
    eff = C.effective({"a": "1", "b": "2"}, {"b": "3", "c": "4"})
    assert eff == {"a": "1", "b": "3", "c": "4"}


def test_thin_keeps_touched_keys():
    existing = {"host_hostuuid": "x", "boot": "0", "priority": "99"}  # priority equals the default: kept
    out = C.thin(existing, {"notes": "hi", "boot": "1", "vnet": "0"})
    assert out == {"boot": "1", "host_hostuuid": "x", "notes": "hi", "priority": "99", "vnet": "0"}
    assert list(out) == sorted(out)
    assert C.thin(out, {"notes": None, "missing": None}) == {"boot": "1", "host_hostuuid": "x", "priority": "99",
                                                            "vnet": "0"}


def test_thin_config_is_only_stamped():
    cfg = {"host_hostuuid": "a", "ip4": "none", "boot": "yes"}
    out, changed = C.migrate(cfg, DEFAULTS)
    assert changed
    assert out == {"CONFIG_VERSION": "34", "host_hostuuid": "a", "ip4": "disable", "boot": "1"}
    assert C.migrate(out, DEFAULTS) == (out, False)


def test_newer_version_is_left_alone():
    cfg = {"CONFIG_VERSION": "35", "host_hostuuid": "a", "ip4": "none"}
    assert C.migrate(cfg, DEFAULTS) == (cfg, False)


def test_defaultrouter_none_only_migrates_before_v26():
    old, _ = C.migrate({"CONFIG_VERSION": "25", "host_hostuuid": "a", "defaultrouter": "none"}, DEFAULTS)
    new, _ = C.migrate({"CONFIG_VERSION": "27", "host_hostuuid": "a", "defaultrouter": "none"}, DEFAULTS)
    assert old["defaultrouter"] == "auto" and new["defaultrouter"] == "none"


def test_legacy_fill_uses_current_defaults_and_skips_defaults_only():
    custom = {**DEFAULTS, "priority": "10", "nat_prefix": "10.9", "exec_created": "/bin/echo"}
    out, _ = C.migrate({"CONFIG_VERSION": "18", "host_hostuuid": "a"}, custom)
    assert out["exec_created"] == "/bin/echo"  # filled with today's default: effective is unchanged
    assert "priority" not in out  # not a key iocage's migration adds
    assert "nat_prefix" not in out  # defaults-only: a copy would shadow the default
    assert out["memoryuse"] == "off" and out["allow_nfsd"] == "0"


def test_default_flag_overrides_inference():
    out, _ = C.migrate({"CONFIG_VERSION": "20"}, DEFAULTS, default=False)
    assert "priority" not in out
    out, _ = C.migrate({"CONFIG_VERSION": "20", "host_hostuuid": "odd"}, DEFAULTS, default=True)
    assert out["priority"] == "99"


def test_unreadable_version_is_treated_as_oldest():
    out, changed = C.migrate({"CONFIG_VERSION": "eleven", "host_hostuuid": "a", "defaultrouter": "none"}, DEFAULTS)
    assert changed and out["defaultrouter"] == "auto" and out["CONFIG_VERSION"] == "34"


def test_migrated_output_is_json_safe():
    out, _ = C.migrate({"CONFIG_VERSION": "11", "host_hostuuid": "a"}, DEFAULTS)
    assert json.loads(C.dump_config_json(out)) == out
