"""A FreeBSD host simulated at the command level, for driving the real services with the FreeBSD
runtime selected on a Linux machine (FreeBSD's tools do not exist here).

`FreeBSDHost` is the `run`, `logged` and `interactive` of `lifecycle.freebsd.runtime.FreeBSDRuntime`:
it records every argv in order (`calls`) and answers as the man pages document: `jls --libxo json`
lists the jails `jail -c` created (JID and path read from the runtime jail.conf the start wrote)
until `jail -r` removes them; `uname -r`, `devfs rule showsets`, `ifconfig`, `netstat -rn --libxo
json` and `sysctl -i` print the host described below; `ifconfig epair create` prints a new pair;
`jexec` into a jail that does not exist fails; `mount -t`, `umount` and `mount -p` keep a mount table.
A command matching `fail` (a prefix of words) fails as the tool would. It changes nothing on this
machine except the files the runner itself writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from iocjail.errors import CommandFailed
from iocjail.platform.shell import Result

IFCONFIG = """\
em0: flags=8863<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
\tether 52:54:00:ab:cd:01
\tinet 192.0.2.5 netmask 0xffffff00 broadcast 192.0.2.255
bridge0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
\tether 58:9c:fc:10:ff:a1
\tmember: em0 flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>
\tgroups: bridge
lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0 mtu 16384
\tinet 127.0.0.1 netmask 0xff000000
\tgroups: lo
"""
NETSTAT = json.dumps({"statistics": {"route-information": {"route-table": {"rt-family": [
    {"address-family": "Internet", "rt-entry": [
        {"destination": "default", "gateway": "192.0.2.1", "flags": "UGS", "interface-name": "em0"}]}]}}}})
SYSCTLS = {"kern.racct.enable": "1", "kern.features.vimage": "1"}


class FreeBSDHost:
    def __init__(self, *, sysctls: Mapping[str, str] = SYSCTLS, devfs_sets: Sequence[int] = (1, 2, 3, 4),
                 fail: Sequence[str] = (), answers: Mapping[tuple[str, ...], Result] | None = None) -> None:
        self.sysctls = dict(sysctls)
        self.devfs_sets = list(devfs_sets)
        self.fail = tuple(fail)
        self.answers = dict(answers or {})  # argv -> Result, for commands run inside (exec, console)
        self.calls: list[tuple[str, ...]] = []
        self.envs: list[Mapping[str, str] | None] = []
        self.jails: dict[str, dict[str, object]] = {}  # kernel name -> jls entry
        self.mounts: list[tuple[str, str, str]] = []  # (source, target, fstype) as `mount -p` lists them
        self.epairs = 0

    # -- the three injected callables ------------------------------------------------------------
    def run(self, argv: Sequence[str], check: bool = True, env: Mapping[str, str] | None = None,
            input: bytes | str | None = None, timeout: float | None = None, **_: object) -> Result:
        args = tuple(argv)
        self.calls.append(args)
        self.envs.append(env)
        if self.fail and args[:len(self.fail)] == self.fail:
            if check:
                raise CommandFailed(list(args), 1, f"{args[0]}: injected failure")
            return Result(args, 1, "", f"{args[0]}: injected failure")
        if "jexec" in args[:3] and next(w for w in args if w.startswith("ioc-")) not in self.jails:
            message = f"jexec: jail \"{next(w for w in args if w.startswith('ioc-'))}\" not found"
            if check:
                raise CommandFailed(list(args), 1, message)
            return Result(args, 1, "", message)
        if args in self.answers:
            return self.answers[args]
        if args[:1] == ("jail",):
            return self._jail(args, check)
        if args[:1] in (("mount",), ("umount",)):
            return self._mount(args, check)
        return Result(args, 0, self._answer(args), "")

    def logged(self, argv: Sequence[str], log: str, env: Mapping[str, str], timeout: float | None) -> None:
        """Hooks on the host and jexec of exec_start/exec_stop, whose output goes to the console log."""
        self.run(argv, env=env, timeout=timeout)

    def interactive(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
        return self.run(argv, check=False, env=env).returncode

    # -- the host -------------------------------------------------------------------------------------
    def _answer(self, args: tuple[str, ...]) -> str:
        if args[:3] == ("jls", "--libxo", "json"):
            return json.dumps({"__version": "2", "jail-information": {"jail": list(self.jails.values())}})
        if args == ("uname", "-r"):
            return "14.1-RELEASE-p3\n"
        if args == ("devfs", "rule", "showsets"):
            return "".join(f"{n}\n" for n in self.devfs_sets)
        if args == ("ifconfig",):
            return IFCONFIG
        if args[-4:] == ("netstat", "-rn", "--libxo", "json"):
            return NETSTAT
        if args[:2] == ("sysctl", "-i"):
            return "".join(f"{n}: {self.sysctls[n]}\n" for n in args[2:] if n in self.sysctls)
        if args == ("ifconfig", "epair", "create"):
            self.epairs += 1
            return f"epair{self.epairs - 1}a\n"
        return ""

    def _jail(self, args: tuple[str, ...], check: bool) -> Result:
        """``jail -f CONF -c NAME`` creates the jail the conf describes; ``-r`` removes it, and with
        it the devfs mount holding /dev/log."""
        conf, verb, name = args[2], args[3], args[4]
        if (verb == "-c") == (name in self.jails):
            message = f"jail: {name}: " + ("already exists" if verb == "-c" else "not found")
            if check:
                raise CommandFailed(list(args), 1, message)
            return Result(args, 1, "", message)
        if verb == "-c":
            text = Path(conf).read_text()
            jid = int(re.search(r'\bjid = "?(\d+)"?;', text).group(1))  # type: ignore[union-attr]
            path = re.search(r'\bpath = "?([^";]+)"?;', text).group(1)  # type: ignore[union-attr]
            self.jails[name] = {"jid": jid, "hostname": name[4:], "path": path, "name": name, "state": "ACTIVE",
                                "cpusetid": 2 + jid, "ipv4_addrs": [], "ipv6_addrs": []}
        elif verb == "-r":
            jail = self.jails.pop(name)
            log = Path(str(jail["path"])) / "dev" / "log"
            if log.is_symlink():
                log.unlink()
        return Result(args, 0, "", "")

    def _mount(self, args: tuple[str, ...], check: bool) -> Result:
        """``mount -t FSTYPE SOURCE PATH`` adds to the table under the name PATH (FreeBSD keeps the
        name a file system was mounted on, whatever is renamed later); ``umount NAME`` removes the
        last entry of that name, as umount(8) finds it in the table; ``mount -p`` lists the table."""
        if args == ("mount", "-p"):
            return Result(args, 0, "".join(f"{s}\t{t}\t{f}\trw\t0 0\n" for s, t, f in self.mounts), "")
        if args[:2] == ("mount", "-t"):
            self.mounts.append((args[3], args[4], args[2]))
            return Result(args, 0, "", "")
        found = [i for i, m in enumerate(self.mounts) if m[1] == args[-1]]
        if not found:
            message = f"umount: {args[-1]}: not a file system root directory"
            if check:
                raise CommandFailed(list(args), 1, message)
            return Result(args, 1, "", message)
        del self.mounts[found[-1]]
        return Result(args, 0, "", "")

    # -- what the tests look at -------------------------------------------------------------------------
    def changing(self) -> list[tuple[str, ...]]:
        """The calls that change the host (every call but the read-only fact queries)."""
        return [c for c in self.calls if not is_query(c)]


def is_query(argv: tuple[str, ...]) -> bool:
    return (argv[:3] == ("jls", "--libxo", "json") or argv in (("uname", "-r"), ("devfs", "rule", "showsets"),
                                                               ("ifconfig",))
            or argv[-4:] == ("netstat", "-rn", "--libxo", "json") or argv[:2] == ("sysctl", "-i")
            or argv == ("mount", "-p"))
