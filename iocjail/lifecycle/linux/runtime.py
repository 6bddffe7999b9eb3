"""The Linux runtime (lifecycle/runtime.py): jails in namespaces, entered with nsenter; its plan is
lifecycle/linux/plan.py and its runner lifecycle/linux/runner.py.

A jail is alive while its holder (its init) runs: the pid and start time the journal recorded,
since a pid alone may be reused. `running` is a read of the journals, no process listing.
"""

from __future__ import annotations

import os
import pwd
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from iocjail.errors import UsageError
from iocjail.lifecycle import journal as J
from iocjail.lifecycle.engine import Runner
from iocjail.lifecycle.linux.plan import LinuxFacts, Mount, build_linux_plan, fstab_mount
from iocjail.lifecycle.linux.runner import LinuxRunner
from iocjail.lifecycle.plan import Action, Step, op
from iocjail.lifecycle.runtime import Built, Command, JailSite, Running, Wrap
from iocjail.lifecycle.steps import clean_env
from iocjail.model.fstab import Entry as FstabEntry
from iocjail.model.jail import JailSettings
from iocjail.model.values import is_true
from iocjail.platform import linux, safe_paths, shell


def init_alive(data: Mapping[str, Any]) -> bool:
    """The journal's jail init still runs (same pid and start time: a pid alone may be reused).
    A state file without the engine's context (the minimal `{jid, state}` form) is taken at its word."""
    if "ctx" not in data:
        return True
    ctx = data.get("ctx") or {}
    return linux.alive(ctx.get("pid"), ctx.get("pid_start"))


def facts(site: JailSite, jid: int) -> LinuxFacts:
    fstab = site.jaildir / "fstab"
    resolv = Path("/etc/resolv.conf")
    return LinuxFacts(
        jid=jid, root=str(site.jaildir / "root"), holder=linux.holder_argv(),
        console_log=str(site.iocroot / "log" / f"{site.name}-console.log"),
        fstab=fstab.read_text() if fstab.exists() else "",
        resolv_conf=resolv.read_text() if resolv.exists() else None,
        localtime=Path("/etc/localtime").exists())


def user_ids(root: Path, jail_user: str | None, host_user: str | None) -> tuple[int | None, int | None, dict[str, str]]:
    """uid, gid and login environment of -U (the jail's passwd) or -u (the host's)."""
    if jail_user and host_user:
        raise UsageError("-U and -u cannot be combined")
    if host_user:
        try:
            entry = pwd.getpwnam(host_user)
        except KeyError:
            raise UsageError(f"no user {host_user!r} on the host") from None
        return entry.pw_uid, entry.pw_gid, {"USER": host_user, "HOME": entry.pw_dir}
    if not jail_user or jail_user == "root":
        return None, None, {}
    text = (safe_paths.read_file(root, "/etc/passwd") or b"").decode(errors="replace")
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 7 and fields[0] == jail_user and fields[2].isdigit() and fields[3].isdigit():
            return int(fields[2]), int(fields[3]), {"USER": jail_user, "HOME": fields[5], "SHELL": fields[6]}
    raise UsageError(f"no user {jail_user!r} in the jail's /etc/passwd")


class LinuxRuntime:
    name = "linux"

    def taken(self) -> Callable[[int], bool]:
        return linux.jid_in_use

    def build(self, site: JailSite, cfg: Mapping[str, str], jid: int, datasets: frozenset[str] = frozenset()) -> Built:
        return Built(build_linux_plan(site.name, JailSettings.from_effective(cfg), facts(site, jid)), {})

    def runner(self, rundir: Path, facts: Mapping[str, str], wrap: Wrap | None = None) -> Runner:
        runner: Runner = LinuxRunner(rundir, facts.get("console_log"))
        return wrap(runner) if wrap else runner

    def alive(self, journal: J.Journal) -> bool:
        return linux.alive(journal.ctx.get("pid"), journal.ctx.get("pid_start"))

    def running(self, iocroot: Callable[[], Path], journals: Mapping[str, Mapping[str, Any]]) -> dict[str, Running]:
        return {name: Running(name, int(data["jid"]), str(data.get("state", "up")))
                for name, data in journals.items() if init_alive(data)}

    def exec_command(self, journal: J.Journal, cfg: Mapping[str, str], command: Sequence[str],
                     jail_user: str | None, host_user: str | None) -> Command:
        uid, gid, login = user_ids(Path(journal.facts["root"]), jail_user, host_user)
        env = {**clean_env(os.environ), **login} if is_true(cfg.get("exec_clean", "1")) else dict(os.environ)
        return Command([*linux.nsenter_argv(journal.ctx["pid"], uid=uid, gid=gid), *command], env)

    def console_command(self, journal: J.Journal, cfg: Mapping[str, str]) -> Command:
        """login(1) if the jail has it, with `login_flags`, else its /bin/sh as a login shell."""
        try:
            has_login = safe_paths.resolve(Path(journal.facts["root"]), "/usr/bin/login", kind="file") is not None
        except safe_paths.UnsafePath:
            has_login = False
        shell_argv = (["/usr/bin/login", "-p", *shlex.split(cfg.get("login_flags") or "-f root")]
                      if has_login else ["/bin/sh", "-l"])
        return Command([*linux.nsenter_argv(journal.ctx["pid"]), *shell_argv], clean_env(os.environ))

    def run(self, argv: Sequence[str], *, env: Mapping[str, str], input: bytes) -> shell.Result:
        return shell.run(argv, check=False, env=env, input=input)

    def interactive(self, argv: Sequence[str], *, env: Mapping[str, str]) -> int:
        return shell.interactive(argv, env=env)

    # -- fstab entries mounted into a running jail ---------------------------------------------
    def _mount(self, journal: J.Journal, entry: FstabEntry) -> Mount | None:
        return fstab_mount(journal.jail, entry.source, entry.destination, entry.fstype, entry.options,
                           journal.facts["root"])

    def live_mount(self, journal: J.Journal, entry: FstabEntry) -> Step | None:
        """The step that mounts ENTRY now and is undone with the jail's mounts; None for /proc
        and /dev/fd, which are the runtime's own."""
        mount = self._mount(journal, entry)
        if mount is None:
            return None
        root = journal.facts["root"]
        return Step("mount.fstab", (op("mount_live", mount.fstype, mount.source, root, mount.target, mount.options),),
                    (op("umount", root, mount.target, needs=1),))

    def live_unmount(self, journal: J.Journal, entry: FstabEntry) -> Action | None:
        mount = self._mount(journal, entry)
        return None if mount is None else op("umount", journal.facts["root"], mount.target)
