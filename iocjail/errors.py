"""The one exception hierarchy. Every error a user can see carries a message and an exit code.

Shared by every layer (it holds no logic), so `model/` may raise these too.
"""

from __future__ import annotations


class IocjailError(Exception):
    """Base class: ``str(err)`` is the one-line message shown as ``iocjail: <message>``."""

    template = "{}"
    exit_code = 1

    def __str__(self) -> str:
        if not self.args:
            return self.template
        return self.template.format(*self.args)


class UsageError(IocjailError):
    """Bad input from the user: wrong value, unknown name, conflicting flags."""

    exit_code = 2


class InvalidName(UsageError):
    template = "invalid {} name {!r}: {}"


class NotFound(IocjailError):
    exit_code = 3


class JailNotFound(NotFound):
    template = "jail {!r} not found"


class PoolNotFound(NotFound):
    template = "pool {!r} does not exist"


class NoActivePool(IocjailError):
    template = "no active pool: run iocjail activate POOL"
    exit_code = 3


class SeveralActivePools(IocjailError):
    template = "more than one active pool ({}): run iocjail activate POOL to choose one"
    exit_code = 3


class Aborted(IocjailError):
    template = "aborted: nothing was changed"


class CommandFailed(IocjailError):
    """A process exited non-zero. ``args`` = (argv, returncode, stderr)."""

    def __init__(self, argv: list[str], returncode: int, stderr: str = "") -> None:
        super().__init__(argv, returncode, stderr)
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr

    def __str__(self) -> str:
        detail = first_line(self.stderr) or f"exit status {self.returncode}"
        return f"{self.argv[0]}: {detail}"


class CommandTimeout(CommandFailed):
    def __str__(self) -> str:
        return f"{self.argv[0]}: timed out"


class ToolMissing(IocjailError):
    template = "{} not found: is it installed?"
    exit_code = 127


class ZfsError(IocjailError):
    """zfs(8)/zpool(8) failed; the message is zfs's own (first line)."""

    template = "{}"


class DatasetNotFound(ZfsError, NotFound):
    exit_code = 3


class DatasetExists(ZfsError):
    pass


class DatasetBusy(ZfsError):
    pass


def first_line(text: str) -> str:
    """The first non-empty line of a tool's stderr: zfs follows errors with pages of usage."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


# -- properties (model/) ---------------------------------------------------------------------

class InvalidValue(UsageError):
    """``args`` = (property, value, why)."""

    template = "invalid value for {}: {!r}: {}"


class UnknownProperty(UsageError):
    """``args`` = (property, hint); hint is '' or '; did you mean ...?'."""

    template = "unknown property {!r}{}"


class ReadOnlyProperty(UsageError):
    template = "{} cannot be changed by the user"


class PropertyConflict(UsageError):
    """Values that are valid alone but not together (e.g. nat=1 with bpf=1)."""


class InvalidProperties(UsageError):
    """Several property errors at once; ``errors`` keeps each one (all-or-nothing `set`)."""

    def __init__(self, errors: list[UsageError]) -> None:
        super().__init__(errors)
        self.errors = list(errors)

    def __str__(self) -> str:
        return f"{len(self.errors)} invalid properties: " + "; ".join(map(str, self.errors))


class CorruptConfig(IocjailError):
    """A config.json/defaults.json that cannot be read. ``args`` = (path, problem)."""

    template = "{}: {}"


class JailRunning(IocjailError):
    """A start finds the jail already running: nothing to do, which `start ALL` and `--rc` report
    as a skip, not a failure. Not a verb's refusal of a running jail: that is MustBeStopped."""

    template = "{}: already running (jid {})"


class MustBeStopped(IocjailError):
    """A verb that changes a jail's datasets (clone, rename, export, destroy, a template's
    conversion, rollback) refuses it while it runs. ``args`` = (name, name)."""

    template = "jail {!r} is running: stop it first (iocjail stop {})"


class JailNotRunning(IocjailError):
    template = "{}: not running"
