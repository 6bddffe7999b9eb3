"""Generated devfs rulesets (iocage §2.6) and the choice of a start's ruleset."""

from __future__ import annotations

import pytest

from iocjail.errors import PropertyConflict
from iocjail.model import devfs
from iocjail.model.devfs import (DevfsChoice, DevfsRules, IncludeMissing, RulesetMissing, choose_ruleset,
                                 next_free_ruleset, ruleset_rules)

# Ruleset 4 of /etc/defaults/devfs.rules, spelled out the way iocage writes it, in its order.
BASE = [
    ("hide",),
    ("path", "null", "unhide"),
    ("path", "zero", "unhide"),
    ("path", "crypto", "unhide"),
    ("path", "random", "unhide"),
    ("path", "urandom", "unhide"),
    ("path", "pty[pqrsPQRSlmnoLMNO]*", "unhide"),
    ("path", "tty[pqrsPQRSlmnoLMNO]*", "unhide"),
    ("path", "ptmx", "unhide"),
    ("path", "pts", "unhide"),
    ("path", "pts/*", "unhide"),
    ("path", "fd", "unhide"),
    ("path", "fd/*", "unhide"),
    ("path", "stdin", "unhide"),
    ("path", "stdout", "unhide"),
    ("path", "stderr", "unhide"),
    ("path", "zfs", "unhide"),
]


def test_default_rules_are_ruleset_4_spelled_out():
    assert list(ruleset_rules({})) == BASE
    assert list(ruleset_rules({"bpf": "0", "allow_tun": "0", "allow_mount_fusefs": "0"})) == BASE


def test_optional_devices_follow_their_properties_in_iocage_order():
    rules = ruleset_rules({"bpf": "1", "allow_tun": "1", "allow_mount_fusefs": "1"})
    assert list(rules[len(BASE):]) == [("path", "fuse", "unhide"), ("path", "bpf*", "unhide"),
                                       ("path", "tun*", "unhide")]
    assert list(ruleset_rules({"bpf": "on"})[len(BASE):]) == [("path", "bpf*", "unhide")]


def test_plugin_additions_follow_ruleset_4_and_precede_the_jails_own_devices():
    plex = DevfsRules((("dri/*", "0666"), ("drm/*", None), ("cuaU*", "unhide"), ("bpf*", "hide")),
                      ("$devfsrules_jail_vnet", "$devfsrules_hide_all", "10", "devfsrules_unhide_login"))
    rules = ruleset_rules({"bpf": "1"}, plex)
    assert list(rules[:len(BASE)]) == BASE
    assert list(rules[len(BASE):]) == [
        ("include", "5"), ("include", "10"),  # 1-3 are spelled out above: dropped, as iocage drops them
        ("path", "dri/*", "mode", "0666", "unhide"), ("path", "drm/*", "unhide"), ("path", "cuaU*", "unhide"),
        ("path", "bpf*", "hide"),
        ("path", "bpf*", "unhide")]  # the user's bpf=1 comes last, so it wins over the manifest


@pytest.mark.parametrize("word,number", [("5", 5), ("$devfsrules_jail", 4), ("devfsrules_jail_vnet", 5),
                                         ("$devfsrules_hide_all", 1), ("0", None), ("70000", None),
                                         ("$5", None), ("$my_rules", None), ("devfsrules", None)])
def test_include_numbers(word, number):
    assert devfs.include_number(word) == number


@pytest.mark.parametrize("pattern,node", [
    ("mem", "mem"), ("*mem", "mem"), ("k*", "kmem"), ("*", "mem"), ("ada*", "ada0"), ("da[0-9]*", "da0"),
    ("zvol/*", "zvol/pool/volume"), ("gpt*", "gpt/disk0"), ("pf", "pf"), ("tty*", "ttyv0"), ("d*", "devctl"),
    ("dri/*", None), ("drm/*", None), ("bpf*", None), ("cuaU*", None), ("ttyU*", None), ("nvidia*", None),
    ("usb/*", None), ("dsp*", None), ("tun*", None), ("fuse", None),
])
def test_patterns_that_would_hand_the_jail_the_host_are_named(pattern, node):
    assert devfs.host_node(pattern) == node


def test_a_plugins_rules_only_join_a_generated_ruleset():
    plex = DevfsRules((("dri/*", None),), ("10",))
    generated = choose_ruleset({"devfs_ruleset": "4"}, {1, 2, 3, 4, 10}, plex)
    assert generated.rules[-2:] == (("include", "10"), ("path", "dri/*", "unhide"))
    # the admin's own ruleset is used as it is, the manifest's additions left out (as iocage does)
    assert choose_ruleset({"devfs_ruleset": "10"}, {1, 2, 3, 4, 10}, plex) == DevfsChoice(10, False, ())


def test_a_ruleset_the_manifest_includes_must_exist():
    with pytest.raises(IncludeMissing, match="devfs ruleset 12 .*does not exist on this host"):
        choose_ruleset({}, {1, 2, 3, 4}, DevfsRules((), ("12",)))
    assert choose_ruleset({}, {1, 2, 3, 4}, DevfsRules((), ("$devfsrules_unhide_basic",))).generated


@pytest.mark.parametrize("existing,minimum,expected", [
    (set(), 1000, 1000),
    ({1, 2, 3, 4}, 1000, 1000),
    ({1000, 1001, 1003}, 1000, 1002),
    ({5, 6}, 5, 7),
    (set(), 0, 1),  # 0 means "no ruleset": never handed out
])
def test_next_free_ruleset(existing, minimum, expected):
    assert next_free_ruleset(existing, minimum) == expected


def test_next_free_ruleset_runs_out():
    with pytest.raises(PropertyConflict, match="no free devfs ruleset"):
        next_free_ruleset(range(65530, 65536), 65530)


def test_stock_ruleset_means_generate_one():
    choice = choose_ruleset({"devfs_ruleset": "4", "min_dyn_devfs_ruleset": "1000", "bpf": "1"}, {1, 2, 3, 4, 1000})
    assert choice.number == 1001 and choice.generated
    assert choice.rules[-1] == ("path", "bpf*", "unhide")
    assert choose_ruleset({}, set()).number == 1000  # registry defaults: 4 and 1000


def test_custom_ruleset_is_used_as_given():
    assert choose_ruleset({"devfs_ruleset": "10"}, {1, 2, 3, 4, 10}) == DevfsChoice(10, False, ())
    assert choose_ruleset({"devfs_ruleset": "0"}, set()) == DevfsChoice(0, False, ())


def test_missing_custom_ruleset_is_refused():
    with pytest.raises(RulesetMissing, match="devfs_ruleset 7 does not exist"):
        choose_ruleset({"devfs_ruleset": "7"}, {1, 2, 3, 4})
    assert RulesetMissing.exit_code == 3


@pytest.mark.parametrize("cfg", [{"devfs_ruleset": "x"}, {"devfs_ruleset": "70000"},
                                 {"min_dyn_devfs_ruleset": "-1"}])
def test_hand_edited_numbers_are_named(cfg):
    with pytest.raises(PropertyConflict, match="must be a number"):
        choose_ruleset(cfg, set())


def test_max_ruleset_is_16_bits():
    assert devfs.MAX_RULESET == 65535
