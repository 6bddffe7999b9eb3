"""`FreeBSDRunner` performs the actions of a FreeBSD plan (lifecycle/freebsd/plan.py), and
`describe_action` says what each runs, for `--plan` and the golden files: one place per op, so
the plan a user reviews and the run cannot drift.

Most actions are plain argv (`run`); the named ops are the ones that need a decision at run time
or a path checked inside a jail's root:

* ``jexec ARGV…``: a command inside the jail holding the user's text (exec_start/exec_stop), so
  never searched for placeholders; its output is appended to the jail's console log.
* ``hook CMD``: a user's exec_* hook on the host, ``/bin/sh -c CMD`` with the plan's environment.
* ``write ROOT PATH TEXT``, ``remove ROOT PATH``, ``copy SRC ROOT PATH``, ``mkdir ROOT PATH``,
  ``symlink ROOT PATH TARGET``, ``mount FSTYPE SOURCE ROOT PATH OPTS``, ``umount ROOT PATH``: files
  and mounts under ROOT, reached without following a symlink the jail's root user planted;
  ``umount_under ROOT``: whatever `mount -p` still lists under ROOT, unmounted by its table name.
* ``epair HOST_NAME KEY``: ``ifconfig epair create`` then the ``a`` side renamed HOST_NAME at
  once (a failed rename destroys the pair); reports the pair's name as KEY for ``{KEY}b``.
* ``bridge BRIDGE [MEMBER…]``: create it marked ``description iocjail`` if missing, else add the
  missing members; ``unbridge BRIDGE [MEMBER…]``: destroy it only if iocjail made it and nothing
  but those members is left. Both under one lock, so concurrent starts agree.

When undoing, a command addressed to the jail (``jexec … ioc-NAME``, ``jail -r ioc-NAME``) that
fails because the jail is gone (removed outside iocjail: `jls` no longer lists it) has nothing
left to undo: what it would stop or remove went with the jail, so a stop still completes.

Processes are started through injected callables (shell.run by default), so tests replay a
FreeBSD host's answers on any machine.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from iocjail.errors import CommandFailed, IocjailError
from iocjail.lifecycle.plan import Action
from iocjail.platform import freebsd as F
from iocjail.platform import safe_paths, shell
from iocjail.platform.files import locked
from iocjail.platform.freebsd_output import parse_epair_create, parse_ifconfig, parse_jls_json
from iocjail.platform.mounts import parse_mount_p

RunFn = Callable[..., shell.Result]
LoggedFn = Callable[[Sequence[str], str, Mapping[str, str], "float | None"], None]

BRIDGE_MARK = "iocjail"  # the description of bridges iocjail created (the runner destroys only those)


class RuntimeFailure(IocjailError):
    pass


def append_to_log(argv: Sequence[str], log: str, env: Mapping[str, str], timeout: float | None) -> None:
    """Run argv with stdout and stderr appended to `log` (no pipe: a daemon it leaves running
    with the log open never keeps the start waiting)."""
    path = Path(log)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as handle, shell.stream(list(argv), read=False, stdout=handle, env=env) as proc:
        proc.stdin.close()
        proc.wait(timeout)


def describe_action(action: Action, console_log: str) -> str:
    """The exact command(s) an action of a FreeBSD plan runs, as `--plan` and the golden files
    show them (FreeBSDRunner below performs them)."""
    a = action.args
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in action.env)
    prefix = f"env {env} " if env else ""
    text: dict[str, Callable[[], str]] = {
        "run": lambda: prefix + shlex.join(a),
        "jexec": lambda: f"{shlex.join(a)} >> {console_log}",
        "hook": lambda: f"{prefix}{shlex.join(['/bin/sh', '-c', a[0]])} >> {console_log}",
        "write": lambda: f"write {a[0].rstrip('/')}{a[1]}  ({len(a[2].encode())} bytes, no symlink followed)",
        "remove": lambda: f"rm -f {a[0].rstrip('/')}{a[1]}",
        "copy": lambda: f"cp {a[0]} {a[1].rstrip('/')}{a[2]}  (no symlink followed)",
        "mkdir": lambda: f"mkdir -p {a[0].rstrip('/')}{a[1]}  (no symlink followed)",
        "symlink": lambda: f"ln -s {a[2]} {a[0].rstrip('/')}{a[1]}",
        "mount": lambda: shlex.join(F.mount_argv(a[0], a[1], a[2].rstrip("/") + a[3])) + "  (target checked: no symlink)",
        "umount": lambda: shlex.join(F.umount_argv(a[0].rstrip("/") + a[1])) + "  (if mounted)",
        "umount_under": lambda: f"umount <each mount `mount -p` lists under {a[0].rstrip('/')}/, last mounted "
                                "first, by its table name: umount(8) unmounts that entry by FSID>; fail if any is left",
        "epair": lambda: f"{shlex.join(F.epair_create_argv())}; {shlex.join(F.iface_rename_argv('{' + a[1] + '}a', a[0]))}",
        "bridge": lambda: shlex.join(F.bridge_create_argv(a[0], a[1:], BRIDGE_MARK)) + "  (if missing, else: "
        + ("; ".join(shlex.join(F.bridge_addm_argv(a[0], m)) for m in a[1:]) or "nothing") + ")",
        "unbridge": lambda: shlex.join(F.iface_destroy_argv(a[0])) + "  (if iocjail created it and no jail is attached)",
    }
    line = text[action.op]() if action.op in text else f"{action.op} {shlex.join(a)}"
    return line + (f"  (timeout {action.timeout:g}s)" if action.timeout is not None else "")


def jail_addressed(argv: Sequence[str]) -> str | None:
    """The jail of ``[setfib N] jexec [-l] [-u|-U USER] ioc-NAME …`` or ``jail … -r ioc-NAME``."""
    words = list(argv)
    if words[:1] == ["setfib"]:
        words = words[2:]
    if words[:1] == ["jail"] and "-r" in words:
        return words[-1]
    if words[:1] != ["jexec"]:
        return None
    i = 1
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in ("-u", "-U") else 1
    return words[i] if i < len(words) else None


class FreeBSDRunner:
    def __init__(self, rundir: Path, console_log: str | None = None, *, run: RunFn = shell.run,
                 logged: LoggedFn = append_to_log) -> None:
        self.rundir = Path(rundir)
        self.console_log = console_log or os.devnull
        self._run = run
        self._logged = logged

    def perform(self, action: Action, ctx: Mapping[str, str], *, step: str, undoing: bool) -> Mapping[str, str] | None:
        handler = getattr(self, f"_op_{action.op}", None)
        if handler is None:
            raise RuntimeFailure(f"unknown action {action.op!r}")
        result: Mapping[str, str] | None = handler(action, undoing)
        return result

    def describe(self, action: Action) -> str:
        return describe_action(action, self.console_log)

    # -- commands -------------------------------------------------------------------------
    def _env(self, action: Action) -> dict[str, str] | None:
        return {**os.environ, "PATH": F.TOOL_PATH, **dict(action.env)}

    def _op_run(self, action: Action, undoing: bool) -> None:
        try:
            self._run(list(action.args), env=self._env(action), timeout=action.timeout)
        except CommandFailed:
            if not (undoing and self._jail_gone(action.args)):
                raise

    def _op_jexec(self, action: Action, undoing: bool) -> None:
        try:
            self._logged(action.args, self.console_log, self._env(action) or {}, action.timeout)
        except CommandFailed:
            if not (undoing and self._jail_gone(action.args)):
                raise

    def _jail_gone(self, argv: Sequence[str]) -> bool:
        """The jail `argv` addresses (jexec's or jail -r's) is not in `jls` (or is dying)."""
        name = jail_addressed(argv)
        if name is None:
            return False
        jail = parse_jls_json(self._run(list(F.jls_argv())).stdout).get(name)
        return jail is None or jail.dying

    def _op_hook(self, action: Action, undoing: bool) -> None:
        self._logged(("/bin/sh", "-c", action.args[0]), self.console_log, self._env(action) or {}, action.timeout)

    # -- files and mounts under a root -------------------------------------------------------
    def _op_write(self, action: Action, undoing: bool) -> None:
        root, rel, content = action.args
        Path(root).mkdir(parents=True, exist_ok=True)
        safe_paths.write_file(Path(root), rel, content.encode())

    def _op_remove(self, action: Action, undoing: bool) -> None:
        root, rel = action.args
        try:
            os.unlink(root.rstrip("/") + rel)  # unlink never follows the last component
        except FileNotFoundError:
            pass

    def _op_copy(self, action: Action, undoing: bool) -> None:
        source, root, rel = action.args
        safe_paths.write_file(Path(root), rel, Path(source).read_bytes())  # the host's file: trusted

    def _op_mkdir(self, action: Action, undoing: bool) -> None:
        """``mkdir -p`` inside the root: each component made or checked in turn, none a symlink."""
        parts = safe_paths.parts_of(action.args[1])
        for count in range(1, len(parts) + 1):
            safe_paths.mkdir(Path(action.args[0]), "/" + "/".join(parts[:count]))

    def _op_symlink(self, action: Action, undoing: bool) -> None:
        root, rel, target = action.args
        safe_paths.symlink(Path(root), rel, target)

    def _op_mount(self, action: Action, undoing: bool) -> None:
        fstype, source, root, rel, _options = action.args
        path = safe_paths.resolve(Path(root), rel, kind="dir")
        self._run(list(F.mount_argv(fstype, source, str(path))))

    def _op_umount(self, action: Action, undoing: bool) -> None:
        root, rel = action.args
        try:
            path = safe_paths.resolve(Path(root), rel, kind="dir")  # never unmount through a planted symlink
        except safe_paths.UnsafePath:
            if undoing:
                return None  # gone, or replaced: nothing of ours is mounted there
            raise
        try:
            self._run(list(F.umount_argv(str(path))))
        except CommandFailed as err:
            if not (undoing and ("not a file system root" in err.stderr or "Invalid argument" in err.stderr)):
                raise
        return None

    def _op_umount_under(self, action: Action, undoing: bool) -> None:
        """Unmount what is still mounted under ROOT once the jail is removed. The jail's root user
        can rename a mount's parent, so the path jail(8) or the procfs step unmount by no longer
        leads to it; FreeBSD's table keeps the name it was mounted on, and umount(8) given that
        name finds the entry in the table and unmounts it by its FSID (never a path walk)."""
        root = action.args[0].rstrip("/")
        found = self._mounted_under(root)
        if not found:
            return None
        for target in reversed(found):  # mount order reversed: deepest first
            self._run(list(F.umount_argv(target)), check=False)  # what it leaves is named below
        left = self._mounted_under(root)
        if left:
            raise RuntimeFailure(f"still mounted under the jail's root: {', '.join(left)}")
        return None

    def _mounted_under(self, root: str) -> list[str]:
        return [m.target for m in parse_mount_p(self._run(["mount", "-p"]).stdout) if m.target.startswith(root + "/")]

    # -- network ---------------------------------------------------------------------------------
    def _op_epair(self, action: Action, undoing: bool) -> Mapping[str, str]:
        host_if, key = action.args
        base = parse_epair_create(self._run(list(F.epair_create_argv())).stdout)
        try:
            self._run(list(F.iface_rename_argv(f"{base}a", host_if)))
        except IocjailError:
            self._run(list(F.iface_destroy_argv(f"{base}a")), check=False)
            raise
        return {key: base}

    def _bridge(self, bridge: str) -> Any:
        result = self._run(["ifconfig", bridge], check=False)
        if not result.ok:
            return None
        return parse_ifconfig(result.stdout).get(bridge)

    def _op_bridge(self, action: Action, undoing: bool) -> None:
        bridge, *members = action.args
        with locked(self.rundir / "locks" / "net.lock", "the host's bridges"):
            found = self._bridge(bridge)
            if found is None:
                self._run(list(F.bridge_create_argv(bridge, members, BRIDGE_MARK)))
                return None
            for member in members:
                if member not in found.members:
                    self._run(list(F.bridge_addm_argv(bridge, member)))
        return None

    def _op_unbridge(self, action: Action, undoing: bool) -> None:
        bridge, *members = action.args
        with locked(self.rundir / "locks" / "net.lock", "the host's bridges"):
            found = self._bridge(bridge)
            if found is not None and found.description == BRIDGE_MARK and set(found.members) <= set(members):
                self._run(list(F.iface_destroy_argv(bridge)))
        return None
