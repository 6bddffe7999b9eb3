"""RCTL resource limits: one property per rctl(8) resource, ``off`` or ``ACTION=AMOUNT``.

Rules apply to the kernel jail name, ``jail:ioc-NAME:RESOURCE:ACTION=AMOUNT``; they are added
after start and removed at stop (iocage does the same; plain rctl rules would outlive the jail).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from iocjail.errors import InvalidValue
from iocjail.model.values import kernel_name

# iocage's list (CONFIG_VERSION 19+), in the order `get -a` shows them.
RCTL_KEYS = (
    "memoryuse", "memorylocked", "vmemoryuse", "maxproc", "cputime", "pcpu", "datasize",
    "stacksize", "coredumpsize", "openfiles", "pseudoterminals", "swapuse", "nthr",
    "msgqqueued", "msgqsize", "nmsgq", "nsem", "nsemop", "nshm", "shmsize", "wallclock",
    "readbps", "writebps", "readiops", "writeiops",
)
# Counts, seconds and percentages: a b/k/m/g/t/p size suffix makes no sense for these.
COUNT_KEYS = frozenset({
    "cputime", "maxproc", "openfiles", "pseudoterminals", "nthr", "msgqqueued", "nmsgq",
    "nsem", "nsemop", "nshm", "wallclock", "pcpu",
})
# rctl(8): deny cannot take back CPU time already used or I/O already done.
NO_DENY_KEYS = frozenset({"cputime", "wallclock", "readbps", "writebps", "readiops", "writeiops"})
THROTTLE_KEYS = frozenset({"readbps", "writebps", "readiops", "writeiops"})

SIGNALS = frozenset({
    "hup", "int", "quit", "ill", "trap", "abrt", "emt", "fpe", "kill", "bus", "segv", "sys",
    "pipe", "alrm", "term", "urg", "stop", "tstp", "cont", "chld", "ttin", "ttou", "io", "xcpu",
    "xfsz", "vtalrm", "prof", "winch", "info", "usr1", "usr2", "thr", "librt",
})

_RULE_RE = re.compile(r"^([a-z0-9]+)=([0-9]+)([bkmgtp]?)$")


def parse_rctl(key: str, value: str) -> str:
    """Canonical (lowercase) ``off`` or ``ACTION=AMOUNT`` for RCTL resource ``key``;
    raises ``ValueError(why)``."""
    spec = value.strip().lower()
    if spec == "off":
        return "off"
    match = _RULE_RE.match(spec)
    if not match:
        raise ValueError("expected off or ACTION=AMOUNT, e.g. deny=2g")
    action, amount, suffix = match.groups()
    _check_action(key, action)
    if suffix and key in COUNT_KEYS:
        raise ValueError(f"{key} is a count, not a size: drop the {suffix!r} suffix")
    return f"{action}={int(amount)}{suffix}"


def _check_action(key: str, action: str) -> None:
    if action.startswith("sig"):
        if action[3:] not in SIGNALS:
            raise ValueError(f"{action!r} is not a signal action (e.g. sigterm, sigkill)")
        return
    if action not in ("deny", "log", "devctl", "throttle"):
        raise ValueError(f"unknown action {action!r}: use deny, log, devctl, sigNAME or throttle")
    if action == "deny" and key in NO_DENY_KEYS:
        raise ValueError(f"deny is not possible for {key}: use log, devctl or a signal")
    if action == "throttle" and key not in THROTTLE_KEYS:
        raise ValueError("throttle applies only to readbps, writebps, readiops and writeiops")


def parser_for(key: str) -> Callable[[str], str]:
    """The registry parser for RCTL resource ``key``."""

    def parse(value: str) -> str:
        return parse_rctl(key, value)

    return parse


def rctl_rules(jailname: str, cfg: Mapping[str, str]) -> list[str]:
    """``rctl -a`` arguments for every resource of the effective ``cfg`` that is not off."""
    subject = f"jail:{kernel_name(jailname)}"
    rules = []
    for key in RCTL_KEYS:
        value = cfg.get(key, "off")
        try:
            rule = parse_rctl(key, value)
        except ValueError as err:  # a hand-edited config.json: name the key, do not crash
            raise InvalidValue(key, value, str(err)) from None
        if rule != "off":
            rules.append(f"{subject}:{key}:{rule}")
    return rules


def rctl_filter(jailname: str) -> str:
    """The ``rctl -r`` filter that removes every rule of the jail."""
    return f"jail:{kernel_name(jailname)}:"
