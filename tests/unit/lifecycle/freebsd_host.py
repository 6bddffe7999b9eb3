"""A model of the FreeBSD host state a plan changes, for the failure-injection tests.

`SimulatedHost` is a runner: each action of a FreeBSD plan adds or removes a resource (an alias,
a devfs ruleset, a mount, the jail, an interface, a bridge member, an rctl rule, a pf anchor, an
ipfw rule or NAT instance, an rc.conf line, a delegated dataset, a file). Commands that change
nothing lasting are listed in `NO_RESOURCE`; any other command is an error, so a new kind of
command cannot slip into a plan without a decision on how it is undone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from iocjail.errors import CommandFailed
from iocjail.lifecycle.plan import Action

# Commands that leave nothing behind the jail's removal does not take away, or that change
# settings the host keeps on purpose (documented in lifecycle/freebsd/plan.py).
NO_RESOURCE = (
    ("hook",),  # the user's hooks: their effects are theirs
    ("sysctl", "net.inet.ip.forwarding=1"),
    ("zfs", "set", "jailed=on"), ("zfs", "create"),  # the jail's own data
    ("cpuset",),
    ("ifconfig", "*", "mtu"), ("ifconfig", "*", "link"), ("ifconfig", "*", "description"), ("ifconfig", "*", "up"),
    ("ifconfig", "*", "inet", "*/30"),  # the NAT gateway on vnet0.JID: goes with the interface
    ("ifconfig", "*", "-tso4"),
    ("symlink",), ("mkdir",), ("copy",),
)


def _matches(argv: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    if len(argv) < len(pattern):
        return False
    for word, want in zip(argv, pattern):
        if want == "*":
            continue
        if want.startswith("*") and word.endswith(want[1:]):
            continue
        if word != want:
            return False
    return True


class SimulatedHost:
    def __init__(self, fail_at: int | None = None, bridges: frozenset[str] = frozenset()) -> None:
        self.bridges = bridges  # bridges the host has: adding members to one is kept on purpose
        self.state: Counter[tuple[str, ...]] = Counter()
        self.count = 0  # do actions performed
        self.fail_at = fail_at
        self.log: list[tuple[str, tuple[str, ...], bool]] = []
        self.jail_up = False

    def describe(self, action: Action) -> str:
        return f"{action.op} {' '.join(action.args)}"

    def perform(self, action: Action, ctx: Mapping[str, str], *, step: str, undoing: bool):
        if not undoing:
            self.count += 1
            if self.count == self.fail_at:
                raise CommandFailed(list(action.args) or [action.op], 1, "injected failure")
        self.log.append((step, (action.op, *action.args), undoing))
        return self._apply(action)

    # -- the model ------------------------------------------------------------------------------
    def _add(self, *key: str) -> None:
        self.state[key] += 1

    def _remove(self, *key: str) -> None:
        assert self.state[key] > 0, f"undo of something never made: {key}"
        self.state[key] -= 1
        if not self.state[key]:
            del self.state[key]

    def _apply(self, action: Action) -> Mapping[str, str] | None:
        a = action.args
        if action.op == "write" and a[0].endswith("/root"):
            pass  # resolv.conf and friends: the jail's own files, kept (iocage writes them too)
        elif action.op == "write":
            self._add("file", a[0].rstrip("/") + a[1])
        elif action.op == "remove":
            self._remove("file", a[0].rstrip("/") + a[1])
        elif action.op == "mount":
            self._add("mount", a[2].rstrip("/") + a[3])
        elif action.op == "umount":
            self._remove("mount", a[0].rstrip("/") + a[1])
        elif action.op == "umount_under":  # the stop's sweep: whatever is still mounted under ROOT
            for key in [k for k in self.state if k[0] == "mount" and k[1].startswith(a[0].rstrip("/") + "/")]:
                del self.state[key]
        elif action.op == "epair":
            self._add("iface", a[0])
            return {a[1]: "epair9"}
        elif action.op == "bridge":
            if a[0] not in self.bridges:
                self._add("bridge", a[0])
        elif action.op == "unbridge":
            self._remove("bridge", a[0])
        elif action.op == "jexec":
            assert self.jail_up, "jexec into a jail that is not there"
        elif action.op == "run":
            self._command(tuple(a))
        elif not any(_matches((action.op, *a), p) for p in NO_RESOURCE):
            raise AssertionError(f"unclassified action {action.op} {a}")
        return None

    def _command(self, argv: tuple[str, ...]) -> None:
        if argv[0] == "setfib":
            argv = argv[2:]
        if argv[0] == "jexec":
            assert self.jail_up, f"jexec into a jail that is not there: {argv}"
            inner = argv[argv.index(next(w for w in argv[1:] if w.startswith("ioc-"))) + 1:]
            if inner[0] == "sysrc":
                if inner[1] == "-x":
                    self._remove("rc.conf", inner[2])
                else:
                    self._add("rc.conf", inner[1].split("=", 1)[0])
            elif inner[:2] == ("zfs", "mount"):
                self._add("zfs-mounted")
            elif inner[:2] == ("zfs", "unmount"):
                self._remove("zfs-mounted")
            return  # ifconfig/route/service inside: gone with the jail's network stack
        if len(argv) == 5 and argv[0] == "ifconfig" and argv[2] in ("inet", "inet6") and argv[4] == "alias":
            self._add("alias", argv[1], argv[3].split("/")[0])
        elif _matches(argv, ("ifconfig", "*", "*", "*", "-alias")):
            self._remove("alias", argv[1], argv[3])
        elif _matches(argv, ("devfs", "rule", "-s", "*", "add")):
            self._add("devfs-rule", argv[3])
        elif _matches(argv, ("devfs", "rule", "-s", "*", "delset")):
            for key in [k for k in self.state if k == ("devfs-rule", argv[3])]:
                del self.state[key]
        elif argv[:1] == ("jail",) and "-c" in argv:
            assert not self.jail_up
            self.jail_up = True
            self._add("jail", argv[-1])
        elif argv[:1] == ("jail",) and "-r" in argv:
            self.jail_up = False
            self._remove("jail", argv[-1])
            self.state = Counter({k: v for k, v in self.state.items() if k[0] != "vnet-in"})
        elif _matches(argv, ("ifconfig", "*", "vnet")):
            self._add("vnet-in", argv[1])
        elif _matches(argv, ("ifconfig", "*", "-vnet")):
            pass  # jail -r returns it too
        elif _matches(argv, ("ifconfig", "*", "addm")):
            self._add("member", argv[1], argv[3])
        elif _matches(argv, ("ifconfig", "*", "deletem")):
            self._remove("member", argv[1], argv[3])
        elif _matches(argv, ("ifconfig", "*", "destroy")):
            self._remove("iface", argv[1])
        elif argv[:2] == ("rctl", "-a"):
            self._add("rctl", argv[2])
        elif argv[:2] == ("rctl", "-r"):
            self._remove("rctl", argv[2])
        elif argv[:2] == ("zfs", "jail"):
            self._add("zfs-jailed", argv[3])
        elif argv[:2] == ("zfs", "unjail"):
            self._remove("zfs-jailed", argv[3])
        elif argv[0] == "pfctl" and "-f" in argv:
            self._add("pf-anchor", argv[2])
        elif argv[0] == "pfctl" and "-F" in argv:
            self._remove("pf-anchor", argv[2])
        elif _matches(argv, ("ipfw", "-q", "nat", "*", "config")):
            self._add("ipfw-nat", argv[3])
        elif _matches(argv, ("ipfw", "-q", "nat", "*", "delete")):
            self._remove("ipfw-nat", argv[3])
        elif _matches(argv, ("ipfw", "-q", "add")):
            self._add("ipfw-rule", argv[3])
        elif _matches(argv, ("ipfw", "-q", "delete")):
            assert self.state[("ipfw-rule", argv[3])] > 0
            del self.state[("ipfw-rule", argv[3])]
        elif not any(_matches(argv, p) for p in NO_RESOURCE):
            raise AssertionError(f"unclassified command {argv}")
