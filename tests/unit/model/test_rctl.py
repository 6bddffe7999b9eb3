from __future__ import annotations

import pytest

from iocjail.errors import InvalidValue
from iocjail.model import rctl
from iocjail.model.rctl import RCTL_KEYS, parse_rctl


def test_all_iocage_keys():
    assert len(RCTL_KEYS) == 25 and len(set(RCTL_KEYS)) == 25
    assert rctl.COUNT_KEYS <= set(RCTL_KEYS) and rctl.THROTTLE_KEYS <= set(RCTL_KEYS)


@pytest.mark.parametrize("key,value,canon", [
    ("memoryuse", "deny=2G", "deny=2g"),
    ("vmemoryuse", "DENY=512m", "deny=512m"),
    ("maxproc", "deny=100", "deny=100"),
    ("cputime", "sigkill=3600", "sigkill=3600"),
    ("pcpu", "deny=50", "deny=50"),
    ("readbps", "throttle=10m", "throttle=10m"),
    ("writeiops", "throttle=100", "throttle=100"),
    ("wallclock", "log=86400", "log=86400"),
    ("openfiles", "devctl=1024", "devctl=1024"),
    ("swapuse", "sighup=1g", "sighup=1g"),
    ("datasize", "deny=0100", "deny=100"),
    ("memorylocked", "OFF", "off"),
])
def test_valid(key, value, canon):
    assert parse_rctl(key, value) == canon
    assert parse_rctl(key, canon) == canon


@pytest.mark.parametrize("key,value,why", [
    ("maxproc", "deny=10k", "count"),
    ("pcpu", "deny=50p", "count"),
    ("cputime", "deny=10", "deny is not possible"),
    ("wallclock", "deny=10", "deny is not possible"),
    ("readbps", "deny=1m", "deny is not possible"),
    ("writeiops", "deny=1", "deny is not possible"),
    ("memoryuse", "throttle=1g", "throttle applies only"),
    ("memoryuse", "sigfoo=1", "not a signal"),
    ("memoryuse", "kill=1", "unknown action"),
    ("memoryuse", "deny=", "ACTION=AMOUNT"),
    ("memoryuse", "deny=1g/jail", "ACTION=AMOUNT"),
    ("memoryuse", "deny=1.5g", "ACTION=AMOUNT"),
    ("memoryuse", "on", "ACTION=AMOUNT"),
])
def test_invalid(key, value, why):
    with pytest.raises(ValueError, match=why):
        parse_rctl(key, value)


def test_rules_for_keys_that_are_not_off():
    cfg = {"memoryuse": "deny=2G", "pcpu": "deny=50", "readbps": "throttle=1m", "maxproc": "off", "nthr": "off"}
    assert rctl.rctl_rules("db.1", cfg) == [
        "jail:ioc-db_1:memoryuse:deny=2g",
        "jail:ioc-db_1:pcpu:deny=50",
        "jail:ioc-db_1:readbps:throttle=1m",
    ]
    assert rctl.rctl_rules("x", {}) == []
    assert rctl.rctl_filter("db.1") == "jail:ioc-db_1:"


def test_rules_name_a_broken_stored_value():
    with pytest.raises(InvalidValue, match="invalid value for cputime: 'deny=5'"):
        rctl.rctl_rules("x", {"cputime": "deny=5"})
