from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocjail.errors import InvalidName
from iocjail.model import values as V


@pytest.mark.parametrize("name", ["www1", "a", "web.example", "my_jail-2", "x" * 64, "ALLx", "Default"])
def test_valid_jail_names(name):
    assert V.validate_jail_name(name) == name


@pytest.mark.parametrize("name,why", [
    ("", "empty"), (".", "path component"), ("..", "path component"), ("-rf", "option"),
    ("default", "reserved"), ("help", "reserved"), ("ALL", "reserved"), ("x" * 65, "longer than 64"),
    ("a b", "only letters"), ("a/b", "only letters"), ("jail;rm", "only letters"), ("é", "only letters"),
])
def test_invalid_jail_names(name, why):
    with pytest.raises(InvalidName, match=why):
        V.validate_jail_name(name)


def test_kernel_name_replaces_dots():
    assert V.kernel_name("web.example") == "ioc-web_example"
    assert V.kernel_name("www1") == "ioc-www1"


@pytest.mark.parametrize("raw,expected", [("On", "1"), (" yes ", "1"), ("TRUE", "1"), ("Off", "0"), ("no", "0")])
def test_boolean(raw, expected):
    assert V.boolean(raw) == expected


def test_is_true_reads_like_iocage():
    assert V.is_true("1") and V.is_true("on") and V.is_true("Yes")
    assert not V.is_true("0") and not V.is_true("garbage") and not V.is_true(None)


def test_int_range_is_strict():
    parse = V.int_range(1, 99)
    assert parse("42") == "42"
    for bad in ("5x", "+5", "1_0", "4.0", "", "١"):
        with pytest.raises(ValueError):
            parse(bad)
    with pytest.raises(ValueError, match="between 1 and 99"):
        parse("100")
    with pytest.raises(ValueError, match="at least 0"):
        V.int_range(0)("-1")


def test_cpuset_host_bound():
    assert V.cpuset("0-3", ncpu=4) == "0-3"
    with pytest.raises(ValueError, match="this host has CPUs 0-3"):
        V.cpuset("2-4", ncpu=4)
    with pytest.raises(ValueError, match="listed twice"):
        V.cpuset("0-2,3,1")


def test_parse_nat_forwards_typed():
    assert V.parse_nat_forwards("tcp(80:8080), udp(53), 22, tcp/udp(1000:2000)") == (
        ("tcp", 80, 8080), ("udp", 53, 53), ("tcp", 22, 22), ("tcp/udp", 1000, 2000))
    assert V.parse_nat_forwards("none") == ()
    with pytest.raises(ValueError, match="forwarded twice"):
        V.parse_nat_forwards("tcp/udp(53),udp(54:53)")
    with pytest.raises(ValueError, match="outside 1-65535"):
        V.parse_nat_forwards("udp(70000)")


def test_depends_and_datasets():
    assert V.depends(" a  b ") == "a b"
    assert V.depends("") == "none"
    assert V.datasets("p/a p/b") == "p/a p/b"


@given(st.integers(min_value=-1000, max_value=1000))
def test_int_range_agrees_with_int(n):
    parse = V.int_range(-1, 3)
    if -1 <= n <= 3:
        assert parse(str(n)) == str(n)
    else:
        with pytest.raises(ValueError):
            parse(str(n))


@given(st.lists(st.integers(min_value=0, max_value=63), min_size=1, max_size=10, unique=True))
def test_cpuset_lists_round_trip(cpus):
    spec = ",".join(map(str, cpus))
    assert V.cpuset(spec) == spec
    assert V.cpuset(spec.replace(",", ", ")) == spec
