"""The one place that starts processes: argv lists only (never a shell), captured output, timeouts.

Every argv is logged at debug level as `shlex.join(argv)` so a `--debug` run can be pasted
into a terminal. The user's own exec_* hooks are the only commands run through `/bin/sh -c`,
and they do so by building that argv themselves.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from iocjail.errors import CommandFailed, CommandTimeout, ToolMissing

log = logging.getLogger("iocjail.platform.shell")

Argv = Sequence[str]


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _checked_argv(argv: Argv) -> list[str]:
    if isinstance(argv, (str, bytes)):
        raise TypeError("argv must be a list of strings, not a string")
    args = [str(a) for a in argv]
    if not args:
        raise ValueError("empty argv")
    log.debug("run: %s", shlex.join(args))
    return args


def run(
    argv: Argv,
    *,
    check: bool = True,
    input: str | bytes | None = None,
    stdin: IO[bytes] | int | None = None,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> Result:
    """Run argv to completion and capture stdout/stderr as text.

    `check=True` raises CommandFailed (with the tool's stderr) on a non-zero exit;
    a missing executable raises ToolMissing; an expired timeout kills the process
    and raises CommandTimeout.
    """
    args = _checked_argv(argv)
    data = input.encode() if isinstance(input, str) else input
    try:
        proc = subprocess.run(
            args,
            input=data,
            stdin=stdin if data is None else None,
            capture_output=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError as err:
        raise ToolMissing(args[0]) from err
    except subprocess.TimeoutExpired as err:
        raise CommandTimeout(args, -1, _text(err.stderr)) from err
    result = Result(tuple(args), proc.returncode, _text(proc.stdout), _text(proc.stderr))
    if result.returncode != 0:
        log.debug("exit %d: %s", result.returncode, result.stderr.strip()[:500])
        if check:
            raise CommandFailed(args, result.returncode, result.stderr)
    return result


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="replace")


class Stream:
    """A running process whose stdout (or stdin) is a pipe the caller reads (or writes)."""

    def __init__(self, proc: subprocess.Popen[bytes], args: list[str], errfile: IO[bytes]) -> None:
        self.proc = proc
        self.args = args
        self._errfile = errfile  # a file, not a pipe: a chatty stderr can never block the stream

    @property
    def stdout(self) -> IO[bytes]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    @property
    def stdin(self) -> IO[bytes]:
        assert self.proc.stdin is not None
        return self.proc.stdin

    def wait(self, timeout: float | None = None) -> int:
        """Close our ends of the pipes, wait, and raise CommandFailed on a non-zero exit."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as err:
            self.kill()
            raise CommandTimeout(self.args, -1, "") from err
        stderr = self._read_stderr()
        if code != 0:
            log.debug("exit %d: %s", code, stderr.strip()[:500])
            raise CommandFailed(self.args, code, stderr)
        return code

    def _read_stderr(self) -> str:
        if self._errfile.closed:
            return ""
        self._errfile.seek(0)
        data = self._errfile.read()
        self._errfile.close()
        return _text(data)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()
        self._read_stderr()


@contextmanager
def stream(
    argv: Argv,
    *,
    read: bool = True,
    stdin: IO[bytes] | int | None = None,
    stdout: IO[bytes] | int | None = None,
    env: Mapping[str, str] | None = None,
    pipe_size: int | None = None,
) -> Iterator[Stream]:
    """Start argv with a pipe: `read=True` gives its stdout to the caller, else its stdin.
    `pipe_size` grows that pipe where the system allows (Linux): a stream of gigabytes then
    moves in large gulps instead of 64 KiB ones (zfs-fuse receives ~1.5x faster).

    On a clean exit of the block the process is waited for and its status checked; on an
    exception it is killed, so a failed consumer never leaves a producer running.
    """
    args = _checked_argv(argv)
    errfile = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(
            args,
            stdin=(stdin if read else subprocess.PIPE),
            stdout=(subprocess.PIPE if read else stdout),
            stderr=errfile,
            env=dict(env) if env is not None else None,
        )
    except FileNotFoundError as err:
        errfile.close()
        raise ToolMissing(args[0]) from err
    if pipe_size:
        _grow_pipe(proc.stdout if read else proc.stdin, pipe_size)
    handle = Stream(proc, args, errfile)
    try:
        yield handle
    except BaseException:
        handle.kill()
        raise
    handle.wait()


def _grow_pipe(pipe: IO[bytes] | None, size: int) -> None:
    op = getattr(fcntl, "F_SETPIPE_SZ", None)
    if op is None or pipe is None:
        return
    try:
        fcntl.fcntl(pipe.fileno(), op, size)
    except OSError:
        pass  # above pipe-max-size: the default pipe works, only slower


def interactive(argv: Argv, *, env: Mapping[str, str] | None = None) -> int:
    """Run argv on the caller's terminal (stdin, stdout, stderr inherited: an editor, a console)
    and return its exit status; nothing is captured. A missing executable raises ToolMissing."""
    args = _checked_argv(argv)
    try:
        return subprocess.run(args, env=dict(env) if env is not None else None, check=False).returncode
    except FileNotFoundError as err:
        raise ToolMissing(args[0]) from err


def which(tool: str) -> str | None:
    """Path of an executable on PATH (or the sbin directories root has), else None."""
    path = os.environ.get("PATH", "") + ":/sbin:/usr/sbin:/usr/local/sbin"
    for directory in path.split(":"):
        candidate = os.path.join(directory or ".", tool)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None
