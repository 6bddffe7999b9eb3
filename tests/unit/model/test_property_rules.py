from __future__ import annotations

import pytest

from iocjail.errors import InvalidProperties, PropertyConflict
from iocjail.model import properties as P
from iocjail.model.property_rules import check_rules, needs


def base(**kw):
    return {**P.default_config(), **kw}


def test_nat_and_bpf_conflict():
    with pytest.raises(PropertyConflict, match="nat and bpf cannot both be on"):
        P.validate_many([("nat", "1")], base(bpf="1", vnet="1"))
    assert P.validate_many([("nat", "1")], base(bpf="0")) == {"nat": "1"}


@pytest.mark.parametrize("pairs,current,message", [
    ([("dhcp", "1")], {"bpf": "1"}, "bpf and dhcp need vnet=1: set vnet=1 as well"),
    ([("bpf", "1")], {}, "bpf needs vnet=1: set vnet=1 as well"),
    ([("ip6_addr", "vnet0|accept_rtadv")], {}, "accept_rtadv needs vnet=1"),
    ([("ip4_addr", "vnet0|DHCP"), ("vnet", "1")], {}, "dhcp needs bpf=1: set bpf=1 as well"),
    ([("vnet", "0")], {"vnet": "1", "bpf": "1"}, "bpf needs vnet=1"),
])
def test_needs_vnet_is_an_error_for_set(pairs, current, message):
    with pytest.raises(PropertyConflict, match=message.replace("|", r"\|")):
        P.validate_many(pairs, base(**current))


def test_several_rule_errors_are_listed():
    with pytest.raises(InvalidProperties) as info:
        P.validate_many([("dhcp", "1")], base())
    assert sorted(map(str, info.value.errors)) == ["dhcp needs bpf=1: set bpf=1 as well",
                                                     "dhcp needs vnet=1: set vnet=1 as well"]


def test_imply_turns_on_what_create_would():
    assert P.validate_many([("dhcp", "on")], imply=True) == {"dhcp": "1", "bpf": "1", "vnet": "1"}
    assert P.validate_many([("ip4_addr", "vnet0|dhcp")], imply=True) == {
        "ip4_addr": "vnet0|DHCP", "bpf": "1", "vnet": "1"}
    assert P.validate_many([("ip6_addr", "vnet0|accept_rtadv")], imply=True) == {
        "ip6_addr": "vnet0|accept_rtadv", "vnet": "1"}


def test_imply_respects_an_explicit_zero():
    with pytest.raises(PropertyConflict, match="dhcp needs vnet=1$"):
        P.validate_many([("dhcp", "1"), ("vnet", "0")], imply=True)


def test_implied_bpf_still_conflicts_with_nat():
    with pytest.raises(PropertyConflict, match="nat and bpf"):
        P.validate_many([("dhcp", "1")], base(nat="1"), imply=True)


def test_rules_only_fire_for_touched_keys():
    broken = base(bpf="1", vnet="0", nat="1")
    assert P.validate_many([("notes", "hello")], broken) == {"notes": "hello"}


def test_needs_reports_reasons():
    assert needs(base(dhcp="1")) == {"bpf": ["dhcp"], "vnet": ["dhcp"]}
    assert needs(base(dhcp="1", bpf="1", vnet="1")) == {}
    changes, errors = check_rules(base(), {"ip4_addr": "10.0.0.1"})
    assert changes == {"ip4_addr": "10.0.0.1"} and errors == []


def test_without_current_only_the_pairs_themselves_are_judged():
    assert P.validate_many([("dhcp", "1")]) == {"dhcp": "1"}  # the jail may have vnet and bpf on
    assert P.validate_many([("nat", "1")]) == {"nat": "1"}
    with pytest.raises(InvalidProperties) as info:
        P.validate_many([("dhcp", "1"), ("vnet", "0"), ("bpf", "0")])
    assert sorted(map(str, info.value.errors)) == ["dhcp needs bpf=1", "dhcp needs vnet=1"]
    with pytest.raises(PropertyConflict, match="nat and bpf"):
        P.validate_many([("nat", "1"), ("bpf", "1"), ("vnet", "1")])
