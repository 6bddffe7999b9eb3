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

A plugin jail's manifest adds to a generated ruleset (``DevfsRules``: iocage keeps the manifest
as ``jails/NAME/PLUGIN.json`` and reads its ``devfs_ruleset`` at every start): each path of
``paths`` with its mode (``null`` or ``unhide``: unhidden; ``hide``; octal digits: ``mode M
unhide``; iocage passed the digits bare, which devfs(8) does not parse) and each of
``includes`` (a ruleset number, or a name of /etc/defaults/devfs.rules) as ``include N``. The
order is: hide, ruleset 4's nodes, the includes, the plugin's paths, then the nodes the jail's
own properties need, so the user's ``bpf=1`` wins over a plugin's ``"bpf*": "hide"`` and an
included ruleset that hides everything again (4 and 5 start with hide_all) cannot undo what
comes after it. Includes of rulesets 1-3 are dropped, as iocage drops them: the generated set
spells them out. With a ruleset of the admin's own (not 4) nothing is added, as in iocage.

A manifest comes from someone else's repository, so a path that could match a node giving the
jail the host itself (memory, I/O ports, disks and GEOM, device and firewall control, the
console) is refused when the manifest is read (`host_node`).

Rules are tuples of devfs(8) words (``("path", "null", "unhide")``); the platform adapter puts
``devfs rule -s N add`` in front.
"""

from __future__ import annotations

import fnmatch
import re
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

# /etc/defaults/devfs.rules' named rulesets, which manifests include by name.
STOCK_RULESETS = {"devfsrules_hide_all": 1, "devfsrules_unhide_basic": 2, "devfsrules_unhide_login": 3,
                  "devfsrules_jail": 4, "devfsrules_jail_vnet": 5}
SPELLED_OUT = frozenset({1, 2, 3})  # a generated set holds their rules already
MODE_WORDS = ("hide", "unhide")
_MODE_RE = re.compile(r"^[0-7]{3,4}$")
# Nodes of a FreeBSD /dev that hand the jail the host: kernel memory and I/O ports, PCI and
# device control, disks, partitions and GEOM (ZFS pools live there), memory disks, CAM pass-through,
# the firewall and audit devices, the console and keyboard. One example name per family: a
# pattern that matches it is refused.
HOST_NODES = (
    "mem", "kmem", "io", "pci", "devctl", "devctl2", "devstat", "klog", "geom.ctl", "mdctl", "md0",
    "ada0", "ada0p1", "da0", "da0s1a", "nvd0", "nda0", "nvme0", "nvme0ns1", "vtbd0", "mmcsd0", "cd0",
    "pass0", "xpt0", "ses0", "zvol/pool/volume", "gpt/disk0", "gptid/0", "diskid/DISK-0", "label/disk0",
    "ufs/root", "ufsid/0", "iso9660/cd", "msdosfs/EFI", "pf", "pflog", "ipl", "ipnat", "auditpipe",
    "audit", "console", "consolectl", "sysmouse", "kbdmux0", "ukbd0", "atkbd0", "ttyv0", "cpuctl0",
    "dtrace/helper", "apm", "acpi", "ipmi0", "hpet0", "vmm/guest", "vmmctl", "iscsi", "ctl", "led/x",
)

Rule = tuple[str, ...]


class RulesetMissing(NotFound):
    template = "devfs_ruleset {} does not exist on this host (devfs rule showsets does not list it)"


class IncludeMissing(NotFound):
    template = ("devfs ruleset {} (an include of the plugin manifest's devfs_ruleset) does not exist on this "
                "host (devfs rule showsets does not list it)")


@dataclass(frozen=True)
class DevfsRules:
    """A plugin manifest's ``devfs_ruleset``: ``paths`` (pattern, mode or None) and ``includes``."""

    paths: tuple[tuple[str, str | None], ...]
    includes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DevfsChoice:
    """The ruleset a start uses; ``rules`` is empty for a ruleset that is used as it is."""

    number: int
    generated: bool
    rules: tuple[Rule, ...] = ()


def ruleset_rules(cfg: Mapping[str, str], additions: DevfsRules | None = None) -> tuple[Rule, ...]:
    """The rules of a generated ruleset for the effective ``cfg``, with a plugin manifest's
    ``additions`` (see the module docstring for the order)."""
    rules: list[Rule] = [("hide",)]
    rules += [("path", pattern, "unhide") for pattern in BASE_UNHIDE]
    if additions is not None:
        rules += [("include", str(number)) for number in included(additions)]
        rules += [path_rule(pattern, mode) for pattern, mode in additions.paths]
    rules += [("path", pattern, "unhide") for key, pattern in OPTIONAL_UNHIDE if is_true(cfg.get(key))]
    return tuple(rules)


def path_rule(pattern: str, mode: str | None) -> Rule:
    """One ``paths`` entry of a manifest as a devfs rule."""
    if mode is None or mode == "unhide":
        return ("path", pattern, "unhide")
    if mode == "hide":
        return ("path", pattern, "hide")
    return ("path", pattern, "mode", mode, "unhide")


def valid_mode(mode: object) -> bool:
    return mode is None or (isinstance(mode, str) and (mode in MODE_WORDS or bool(_MODE_RE.match(mode))))


def include_number(word: str) -> int | None:
    """A manifest's include as a ruleset number: digits, or a stock name with or without ``$``."""
    text = word[1:] if word.startswith("$") else word
    if text.isdigit() and not word.startswith("$"):
        number = int(text)
        return number if 0 < number <= MAX_RULESET else None
    return STOCK_RULESETS.get(text)


def included(additions: DevfsRules) -> tuple[int, ...]:
    """The rulesets a generated set includes: the manifest's, without those it spells out."""
    numbers = (include_number(word) for word in additions.includes)
    return tuple(dict.fromkeys(n for n in numbers if n is not None and n not in SPELLED_OUT))


def host_node(pattern: str) -> str | None:
    """A node of the host's /dev that ``pattern`` would unhide and a jail must never reach
    (None when there is none): checked with Python's fnmatch, which matches at least what
    devfs(8) does (its ``*`` also crosses ``/``)."""
    for node in HOST_NODES:
        if fnmatch.fnmatchcase(node, pattern):
            return node
    return None


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
                   additions: DevfsRules | None = None) -> DevfsChoice:
    """The ruleset of a start, given the numbers the host has (``devfs rule showsets``) and a
    plugin manifest's ``additions`` (used only in a generated set, as iocage does).

    Raises ``RulesetMissing`` for a custom ruleset, or a ruleset the manifest includes, that the
    host does not have."""
    taken = set(existing)
    wanted = _number("devfs_ruleset", cfg.get("devfs_ruleset", str(STOCK_JAIL_RULESET)))
    if wanted == STOCK_JAIL_RULESET:
        minimum = _number("min_dyn_devfs_ruleset", cfg.get("min_dyn_devfs_ruleset", "1000"))
        missing = [n for n in (included(additions) if additions else ()) if n not in taken]
        if missing:
            raise IncludeMissing(missing[0])
        return DevfsChoice(next_free_ruleset(taken, minimum), True, ruleset_rules(cfg, additions))
    if wanted != 0 and wanted not in taken:
        raise RulesetMissing(wanted)
    return DevfsChoice(wanted, False)


def _number(key: str, value: str) -> int:
    text = value.strip()
    if not text.isdigit() or not 0 <= int(text) <= MAX_RULESET:
        raise PropertyConflict(f"{key} must be a number between 0 and {MAX_RULESET}, not {value!r}")
    return int(text)

