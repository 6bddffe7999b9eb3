"""What the FreeBSD and Linux start plans share: the step accumulator, the hooks and their
environment, the clean environment of commands run inside, and the resolver step.

`StepBuilder` keeps a step's undo bookkeeping in one place: ``b.pair(do, undo)`` records an action
with its inverse, and the inverse gets ``needs`` = the number of `do` actions up to and including
its own, so a step that fails halfway undoes exactly the part that ran. Undo actions run in
reverse order of recording; ``with_previous=True`` keeps an undo right after the one recorded
before it instead (a veth, then the bridge it emptied).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from iocjail.lifecycle.plan import Action, RootFacts, Step, op
from iocjail.model.jail import JailSettings
from iocjail.model.values import kernel_name

CLEAN_PATH = "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:/root/bin"


class StepBuilder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.do: list[Action] = []
        self._undo: list[list[Action]] = []

    def add(self, *actions: Action) -> None:
        """Actions with nothing to undo."""
        self.do.extend(actions)

    def pair(self, do: Action, undo: Action | None, *, with_previous: bool = False) -> None:
        """``do``, and ``undo`` (if any) once ``do`` has run."""
        self.do.append(do)
        if undo is not None:
            self.undo(undo, needs=len(self.do), with_previous=with_previous)

    def undo(self, action: Action, *, needs: int, with_previous: bool = False) -> None:
        """An undo action of its own, run once ``needs`` do actions completed."""
        action = replace(action, needs=needs)
        if with_previous and self._undo:
            self._undo[-1].append(action)
        else:
            self._undo.append([action])

    def step(self, cleanup: tuple[Action, ...] = ()) -> Step:
        return Step(self.name, tuple(self.do), tuple(a for group in reversed(self._undo) for a in group), cleanup)


def hook_env(name: str, settings: JailSettings, jid: int) -> dict[str, str]:
    """The environment iocage gives its hooks."""
    return {"JID": str(jid), "JNAME": kernel_name(name), "IOCAGE_NAME": name,
            "IOCAGE_HOSTNAME": settings.hostname or name}


def hook(settings: JailSettings, key: str, env: Mapping[str, str], *, needs: int = 0) -> Action:
    """A user's exec_* hook, run on the host through /bin/sh -c (the one shell allowed)."""
    return op("hook", settings.hooks[key], needs=needs, env=env, hook=True, timeout=settings.exec_timeout)


def clean_env(caller: Mapping[str, str]) -> dict[str, str]:
    """The environment of commands run inside with exec_clean=1 (iocage's exec, §1.10)."""
    lang = caller.get("LANG") or "en_US.UTF-8"
    return {"PATH": CLEAN_PATH, "PWD": "/", "HOME": "/", "TERM": caller.get("TERM") or "xterm-256color",
            "LANG": lang, "LC_ALL": caller.get("LC_ALL") or lang, "USER": "root", "SHELL": "/bin/sh"}


def resolver_step(settings: JailSettings, facts: RootFacts) -> Step:
    """resolv.conf from `resolver` and localtime from `host_time` (reference §2.7), the same on
    every platform, written through the no-follow ops: the jail's root user owns every path under ROOT."""
    do: list[Action] = []
    resolver = settings.resolver
    if resolver in ("/etc/resolv.conf", "none"):
        if facts.resolv_conf is not None:
            do.append(op("write", facts.root, "/etc/resolv.conf", facts.resolv_conf))
    elif resolver != "/dev/null":
        do.append(op("write", facts.root, "/etc/resolv.conf", "".join(f"{line}\n" for line in resolver.split(";"))))
    if settings.host_time and facts.localtime:
        do.append(op("copy", "/etc/localtime", facts.root, "/etc/localtime"))
    return Step("resolver", tuple(do))
