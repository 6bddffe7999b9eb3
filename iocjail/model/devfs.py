"""devfs rulesets of a start: which ruleset a jail gets and the rules of a generated one.

iocage (reference §2.6) treats ``devfs_ruleset=4`` — the default, FreeBSD's stock
``devfsrules_jail`` — as "build one for this jail": a fresh ruleset, numbered from
``min_dyn_devfs_ruleset`` up, holding ruleset 4's rules spelled out (hide everything, unhide
the basic, login and zfs nodes) plus ``fuse`` / ``bpf*`` / ``tun*`` when the jail needs them.
Any other number is the admin's own ruleset, used as given; it must exist (``devfs rule
showsets`` lists it) or the start is refused before anything runs. ``0`` means "no ruleset"
and needs no check.

A generated ruleset belongs to one start: the stop plan deletes it (``delset``), and so does
the rollback of a failed start — iocage leaks it when the start fails (§9.6).

Rules are tuples of devfs(8) words (``("path", "null", "unhide")``); the platform adapter puts
``devfs rule -s N add`` in front.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from iocjail.errors import NotFound, PropertyConflict
from iocjail.model.values import is_true

STOCK_JAIL_RULESET = 4  # /etc/defaults/devfs.rules [devfsrules_jail=4]
MAX_RULESET = 65535  # devfs ruleset numbers are 16 bits; 0 means none

# Ruleset 4's effect (devfsrules_hide_all + unhide_basic + unhide_login + zfs), in iocage's order.
# Patterns are devfs(8) globs passed to devfs as single argv words, never through a shell.
BASE_UNHIDE = (
    "null", "zero", "crypto", "random", "urandom",
    "pty[pqrsPQRSlmnoLMNO]*", "tty[pqrsPQRSlmnoLMNO]*",
    "ptmx", "pts", "pts/*", "fd", "fd/*", "stdin", "stdout", "stderr", "zfs",
)
# (property, device pattern): extra nodes a property needs.
OPTIONAL_UNHIDE = (("allow_mount_fusefs", "fuse"), ("bpf", "bpf*"), ("allow_tun", "tun*"))

Rule = tuple[str, ...]


class RulesetMissing(NotFound):
    template = "devfs_ruleset {} does not exist on this host (devfs rule showsets does not list it)"


@dataclass(frozen=True)
class DevfsChoice:
    """The ruleset a start uses; ``rules`` is empty for a ruleset that is used as it is."""

    number: int
    generated: bool
    rules: tuple[Rule, ...] = ()


def ruleset_rules(cfg: Mapping[str, str], plugin_paths: Mapping[str, str | None] | None = None,
                  includes: Iterable[int] = ()) -> tuple[Rule, ...]:
    """The rules of a generated ruleset for the effective ``cfg``.

    ``plugin_paths`` (``{pattern: mode or None}``) and ``includes`` are a plugin manifest's
    ``devfs_ruleset`` additions, appended as iocage does."""
    rules: list[Rule] = [("hide",)]
    rules += [("path", pattern, "unhide") for pattern in BASE_UNHIDE]
    rules += [("path", pattern, "unhide") for key, pattern in OPTIONAL_UNHIDE if is_true(cfg.get(key))]
    for pattern, mode in (plugin_paths or {}).items():
        rules.append(("path", pattern, "unhide") if mode is None else ("path", pattern, "mode", str(mode), "unhide"))
    rules += [("include", str(int(number))) for number in includes]
    return tuple(rules)


def next_free_ruleset(existing: Iterable[int], minimum: int) -> int:
    """The lowest ruleset number ≥ ``minimum`` that ``devfs rule showsets`` did not list."""
    taken = set(existing)
    number = max(int(minimum), 1)
    while number in taken:
        number += 1
    if number > MAX_RULESET:
        raise PropertyConflict(f"no free devfs ruleset between {minimum} and {MAX_RULESET}")
    return number


def choose_ruleset(cfg: Mapping[str, str], existing: Iterable[int],
                   plugin_paths: Mapping[str, str | None] | None = None,
                   includes: Iterable[int] = ()) -> DevfsChoice:
    """The ruleset of a start, given the numbers the host has (``devfs rule showsets``).

    Raises ``RulesetMissing`` for a custom ruleset the host does not have."""
    taken = set(existing)
    wanted = _number("devfs_ruleset", cfg.get("devfs_ruleset", str(STOCK_JAIL_RULESET)))
    if wanted == STOCK_JAIL_RULESET:
        minimum = _number("min_dyn_devfs_ruleset", cfg.get("min_dyn_devfs_ruleset", "1000"))
        return DevfsChoice(next_free_ruleset(taken, minimum), True, ruleset_rules(cfg, plugin_paths, includes))
    if wanted != 0 and wanted not in taken:
        raise RulesetMissing(wanted)
    return DevfsChoice(wanted, False)


def _number(key: str, value: str) -> int:
    text = value.strip()
    if not text.isdigit() or not 0 <= int(text) <= MAX_RULESET:
        raise PropertyConflict(f"{key} must be a number between 0 and {MAX_RULESET}, not {value!r}")
    return int(text)

