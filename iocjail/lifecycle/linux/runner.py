"""`LinuxRunner` performs and describes the actions of a Linux plan (lifecycle/linux/plan.py):
one place per op, so `--plan` and the real run cannot drift. Each named op is small, checks its
target before acting, and is safe to repeat when undoing: an undo finds what is still there and
removes only that.

The argv, mount and process helpers it uses are platform/linux.py's and platform/linux_procs.py's:
the jail's init is the holder (platform/linux_holder.py), started with `spawn_argv`; commands enter
the jail with `nsenter_argv`.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from iocjail.errors import CommandFailed
from iocjail.lifecycle.linux.plan import unmount_order
from iocjail.lifecycle.plan import Action, describe_argv
from iocjail.platform import safe_paths, shell
from iocjail.platform.linux import (link_exists, mounted, net_lock, nsenter_argv, spawn_argv, umount_by_id,
                                    umount_retrying)
from iocjail.platform.linux_procs import (RuntimeFailure, alive, find_holders, jail_pids, kill_holder, signal_all,
                                          start_time, wait_gone)
from iocjail.platform.mounts import mountinfo, parse_mountinfo

BRIDGE_ALIAS = "iocjail"  # marks bridges iocjail made, so the last jail leaving one removes it
SPAWN_TIMEOUT = 30.0


class LinuxRunner:
    """Performs and describes the ops of a Linux plan (see lifecycle/linux_plan.py)."""

    def __init__(self, rundir: Path, console_log: str | None = None) -> None:
        self.rundir = rundir
        self.console_log = console_log

    def perform(self, action: Action, ctx: Mapping[str, str], *, step: str, undoing: bool) -> Mapping[str, str] | None:
        handler = getattr(self, f"_op_{action.op}", None)
        if handler is None:
            raise RuntimeFailure(f"unknown action {action.op!r}")
        result: Mapping[str, str] | None = handler(action, ctx, undoing)
        return result

    def describe(self, action: Action) -> str:
        a = action.args
        text = {
            "run": lambda: describe_argv(a),
            "hook": lambda: describe_argv(["/bin/sh", "-c", a[0]]),
            "jexec": lambda: describe_argv(["setsid", "--wait", *nsenter_argv("{pid}"), "/bin/sh", "-c", a[0]])
            + f" >> {self.console_log or '/dev/null'}",
            "spawn": lambda: describe_argv(spawn_argv(a[0], a[1], a[2], tuple(a[3:]))),
            "kill": lambda: f"kill -KILL <holder of {a[0]}>  (its pid namespace dies with it)",
            "terminate": lambda: f"kill -TERM <each process of the jail but its init>; wait up to {a[1]}s; "
                                 "kill -KILL <what remains>",
            "mount": lambda: describe_argv(self._mount_argv(a[0], a[1], a[4], a[2] + a[3])),
            "umount": lambda: f"umount {a[0] + a[1]}  (if mounted there)",
            "umount_under": lambda: f"umount -l <each mount still under {a[0].rstrip('/')}/, deepest first, "
                                    "by mount ID wherever it was moved>; fail if any is left",
            "mount_live": lambda: f"{describe_argv(self._mount_argv(a[0], a[1], a[4], '<stage>'))}; "
                                  f"mount --move <stage> {a[2] + a[3]}",
            "mknod": lambda: f"mknod -m {a[2]} {a[0] + a[1]} c {a[3]} {a[4]}",
            "mkdir": lambda: f"mkdir -p {a[0] + a[1]}",
            "symlink": lambda: f"ln -s {a[2]} {a[0] + a[1]}",
            "write": lambda: f"write {a[0] + a[1]}  ({len(a[2].encode())} bytes; a symlink there is replaced)",
            "copy": lambda: f"cp {a[0]} {a[1] + a[2]}  (a symlink there is replaced)",
            "share": lambda: f"mount --make-shared {a[0]}",
            "private": lambda: f"mount --make-private {a[0]}",
            "bridge": lambda: f"ip link add {a[0]} type bridge; ip link set {a[0]} alias {BRIDGE_ALIAS} up  "
                              f"(if missing); ip link set {a[1]} master {a[0]}",
            "unbridge": lambda: f"ip link del {a[0]}  (if iocjail made it and nothing is attached)",
            "link_del": lambda: f"ip link del {a[0]}  (if it exists)",
        }.get(action.op)
        return text() if text else f"{action.op} {describe_argv(a)}"

    # -- argv and hooks ---------------------------------------------------------------------
    def _holder_alive(self, ctx: Mapping[str, str]) -> bool:
        return alive(ctx.get("pid"), ctx.get("pid_start"))

    def _op_run(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        if "--target" in action.args and not self._holder_alive(ctx):
            if undoing:
                return None
            raise RuntimeFailure("the jail's init is gone")
        env = {**os.environ, **dict(action.env)} if action.env else None
        shell.run(list(action.args), env=env, timeout=action.timeout)
        return None

    def _logged(self, argv: list[str], env: Mapping[str, str], timeout: float | None) -> None:
        """Run argv with its output appended to the console log; a daemon it leaves behind holding
        the log open never keeps the start waiting (no pipe)."""
        path = Path(self.console_log) if self.console_log else Path(os.devnull)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as log, shell.stream(argv, read=False, stdout=log, env=env) as proc:
            proc.stdin.close()
            proc.wait(timeout)

    def _op_hook(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        self._logged(["/bin/sh", "-c", action.args[0]], {**os.environ, **dict(action.env)}, action.timeout)

    def _op_jexec(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        if not self._holder_alive(ctx):
            if undoing:
                return None
            raise RuntimeFailure("the jail's init is gone")
        argv = ["setsid", "--wait", *nsenter_argv(ctx["pid"]), "/bin/sh", "-c", action.args[0]]
        try:
            self._logged(argv, dict(action.env) or dict(os.environ), action.timeout)
        except CommandFailed as err:  # name the jail's shell, not the tools that entered the jail
            raise type(err)(["/bin/sh", "-c", action.args[0]], err.returncode, err.stderr) from err
        return None

    # -- the holder ---------------------------------------------------------------------------
    def _op_spawn(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> Mapping[str, str]:
        root, hostname, net, *holder = action.args
        argv = spawn_argv(root, hostname, net, tuple(holder))
        pid = start = None
        with shell.stream(argv, stdin=subprocess.DEVNULL) as proc:
            lines = _read_lines(proc.stdout.fileno(), SPAWN_TIMEOUT)
            for line in lines:
                word, _, rest = line.partition(" ")
                if word == "pid":
                    pid, start = rest.split()
                elif word == "ready" and pid and start:
                    return {"pid": pid, "pid_start": start}
                else:
                    break
        if pid:
            kill_holder(int(pid), start)
        detail = next((line for line in lines if line.startswith("error")), "")
        raise RuntimeFailure(f"the jail's init did not start: {detail or 'unshare failed (root? namespaces?)'}")

    def _op_kill(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        if self._holder_alive(ctx):
            kill_holder(int(ctx["pid"]), ctx.get("pid_start"))
        for pid in find_holders(action.args[0]):  # a holder the journal never learned of
            kill_holder(pid, start_time(pid))
        return None

    def _op_terminate(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        """SIGTERM every process of the jail but its init, wait stop_timeout, SIGKILL the rest."""
        if not self._holder_alive(ctx):
            return None
        holder = int(ctx["pid"])
        targets = [p for p in jail_pids(holder) if p != holder]
        signal_all(targets, signal.SIGTERM)
        left = wait_gone(targets, float(action.args[1]))
        if left:
            signal_all(left, signal.SIGKILL)
            wait_gone(left, 5.0)
        return None

    # -- mounts and files in the root -----------------------------------------------------------
    @staticmethod
    def _mount_argv(fstype: str, source: str, options: str, target: str) -> list[str]:
        if fstype == "bind":
            return ["mount", "--bind", "-o", options, source, target]
        return ["mount", "-t", fstype, "-o", options, source, target]

    def _op_mount(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        fstype, source, root, target, options = action.args
        kind = "file" if fstype == "bind" and os.path.isfile(source) else "dir"
        path = safe_paths.resolve(Path(root), target, kind=kind)
        shell.run(self._mount_argv(fstype, source, options, str(path)))

    def _op_mount_live(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        """Mount into a running jail: made on a private staging point, then moved under ROOT,
        whose shared mount carries it into the jail's namespace with its flags (a read-only
        bind's remount would not propagate; a move carries the finished mount)."""
        fstype, source, root, target, options = action.args
        kind = "file" if fstype == "bind" and os.path.isfile(source) else "dir"
        safe_paths.resolve(Path(root), target, kind=kind)  # refused before anything is made
        stage = self.rundir / "stage" / f"{os.getpid()}.{time.monotonic_ns()}"
        point = stage / "m"
        point.mkdir(parents=True)
        if kind == "file":
            point.rmdir()
            point.touch()
        try:
            shell.run(["mount", "--bind", str(stage), str(stage)])
            try:
                shell.run(["mount", "--make-private", str(stage)])
                shell.run(self._mount_argv(fstype, source, options, str(point)))
                try:
                    # the jail runs: it could swap a component of the path for a symlink after the
                    # check, so the move goes to the checked directory itself, held open
                    with safe_paths.pinned(Path(root), target, kind=kind) as held:
                        shell.run(["mount", "--no-canonicalize", "--move", str(point), held])
                except (CommandFailed, safe_paths.UnsafePath):
                    shell.run(["umount", str(point)])
                    raise
            finally:
                shell.run(["umount", str(stage)])
        finally:
            point.unlink() if point.is_file() else point.rmdir()
            stage.rmdir()

    def _op_umount(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        root, target = action.args
        path = root.rstrip("/") + target
        if mounted(path) is None:
            return None  # moved by the jail, perhaps: umount_under finds it
        safe_paths.resolve(Path(root), target, kind="any")  # never unmount through a planted symlink
        umount_retrying(["umount", path])
        return None

    def _op_umount_under(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        """Unmount whatever is still mounted under ROOT (never ROOT itself), deepest first. The
        journal's unmounts go by path, and the jail's root user can move a mount away from its
        path; the host's mount table still has it, by mount ID, at its new place."""
        root = action.args[0].rstrip("/")
        if self._holder_alive(ctx) or find_holders(root):
            raise RuntimeFailure("the jail's init still runs: what is mounted under its root is left")
        left: list[tuple[int, int, str]] = []
        while True:  # again while a round unmounts something: one may have hidden another's path
            before = left
            left = unmount_order([(m.mount_id, m.parent_id, m.target) for m in parse_mountinfo(mountinfo())], root)
            if not left:
                return None
            if left == before:
                raise RuntimeFailure(f"still mounted under the jail's root: {', '.join(sorted(m[2] for m in left))}")
            for mount_id, _, point in left:
                umount_by_id(root, mount_id, point)

    def _op_mknod(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        root, target, mode, major, minor = action.args
        safe_paths.mknod(Path(root), target, int(mode, 8), int(major), int(minor))

    def _op_mkdir(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        safe_paths.mkdir(Path(action.args[0]), action.args[1])

    def _op_symlink(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        root, target, link_to = action.args
        safe_paths.symlink(Path(root), target, link_to)

    def _op_write(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        root, target, content = action.args
        safe_paths.write_file(Path(root), target, content.encode())

    def _op_copy(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        source, root, target = action.args
        safe_paths.write_file(Path(root), target, Path(source).read_bytes())  # the host's file: trusted

    def _op_share(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> Mapping[str, str] | None:
        root = action.args[0].rstrip("/")
        out = None
        if mounted(root) is None:  # a root that is no dataset of its own: make it a mount
            shell.run(["mount", "--bind", root, root])
            out = {"root_bound": "1"}
        shell.run(["mount", "--make-shared", root])
        return out

    def _op_private(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        root = action.args[0].rstrip("/")
        if mounted(root) is None:
            return None
        shell.run(["mount", "--make-private", root])
        if ctx.get("root_bound") == "1":
            shell.run(["umount", root])
        return None

    # -- network --------------------------------------------------------------------------------
    def _op_bridge(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        bridge, member = action.args
        with net_lock(self.rundir):
            if not link_exists(bridge):
                shell.run(["ip", "link", "add", bridge, "type", "bridge"])
                shell.run(["ip", "link", "set", bridge, "alias", BRIDGE_ALIAS, "up"])
            shell.run(["ip", "link", "set", member, "master", bridge])

    def _op_unbridge(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        bridge = action.args[0]
        with net_lock(self.rundir):
            if not link_exists(bridge):
                return None
            try:
                alias = Path(f"/sys/class/net/{bridge}/ifalias").read_text().strip()
                members = os.listdir(f"/sys/class/net/{bridge}/brif")
            except OSError:
                return None
            if alias == BRIDGE_ALIAS and not members:
                shell.run(["ip", "link", "del", bridge])
        return None

    def _op_link_del(self, action: Action, ctx: Mapping[str, str], undoing: bool) -> None:
        if link_exists(action.args[0]):
            shell.run(["ip", "link", "del", action.args[0]])


def _read_lines(fd: int, timeout: float) -> list[str]:
    """Lines from `fd` until `ready`, an error, EOF or the timeout."""
    deadline = time.monotonic() + timeout
    buffer = b""
    lines: list[str] = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            raw, buffer = buffer.split(b"\n", 1)
            lines.append(raw.decode(errors="replace"))
            if raw == b"ready" or raw.startswith(b"error"):
                return lines
    return lines
