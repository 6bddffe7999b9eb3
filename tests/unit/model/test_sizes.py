"""Sizes as zfs prints them, from the exact numbers of `zfs get -p`."""

from __future__ import annotations

import pytest

from iocjail.model.sizes import human_ratio, human_size, parse_bytes, parse_ratio


@pytest.mark.parametrize("num,text", [
    (0, "0"), (512, "512"), (1023, "1023"), (1024, "1K"), (1536, "1.50K"), (604 * 1024, "604K"),
    (1258291, "1.20M"), (34353152, "32.8M"), (int(93.2 * 2**30), "93.2G"), (888 * 2**30, "888G"),
    (2**40, "1T"), (1000 * 2**30, "1000G"), (5 * 2**60, "5E"),
])
def test_human_size_matches_zfs(num, text):
    assert human_size(num) == text
    assert len(human_size(num)) <= 5


def test_parsing_raw_values():
    assert parse_bytes("1234") == 1234 and parse_bytes("-") is None and parse_bytes(None) is None
    assert parse_ratio("1.00x") == 1.0 and parse_ratio("2.50") == 2.5 and parse_ratio("-") is None
    assert human_ratio(1.0) == "1.00x" and human_ratio(None) == "-"
