"""`fstab`: a jail's extra mounts — add, remove, replace, list, edit — checked before any write.

Every change is validated in full first (bad input changes nothing), then written with one atomic
replace under the jail's lock. A destination must be a directory inside the jail's root, reached
without following any symlink: the jail's root user can plant symlinks in its tree, and a mount
target that followed one would mount over the host. Missing directories are created only on
request (`mkdir=True`), each component opened with O_NOFOLLOW below the one before.

In a running jail the change is applied at once, as iocage does: removed entries are unmounted,
added ones mounted (journaled with the jail's mounts, so its stop unmounts them). If that fails,
what was mounted or unmounted is put back and the old file restored: the command changed nothing.
"""

from __future__ import annotations

import errno
import os
import shlex
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from iocjail.errors import IocjailError, NotFound, UsageError
from iocjail.model import fstab as model
from iocjail.model.fstab import Entry, FstabError, Line
from iocjail.platform import shell
from iocjail.platform.clock import utc_now
from iocjail.platform.files import atomic_write
from iocjail.site import config, state
from iocjail.services import lifecycle
from iocjail.site.host import Host
from iocjail.site.jails import JailRef, resolve

ADDED = "Added by iocjail on {:%Y-%m-%d %H:%M:%S}"
Editor = Callable[[Path], int]


class EntryNotFound(NotFound):
    template = "{}"


class EditRefused(UsageError):
    template = "fstab of {} not changed: {} (your edit is kept in {})"


class ChangedWhileEditing(UsageError):
    template = "fstab of {} changed while you were editing: not saved (your edit is kept in {})"


@dataclass(frozen=True)
class Changed:
    message: str
    running: bool  # the jail runs: the change was mounted/unmounted in it


def jail_root(ref: JailRef) -> str:
    return str(ref.path / "root")


def fstab_path(ref: JailRef) -> Path:
    return ref.path / "fstab"


def read(ref: JailRef) -> list[Line]:
    try:
        text = fstab_path(ref).read_text()
    except FileNotFoundError:
        return []
    try:
        return model.parse(text)
    except FstabError as err:
        raise FstabError([*err.problems, f"fix the file with: iocjail fstab -e {ref.name}"]) from None


def list_entries(host: Host, name: str) -> list[Entry]:
    return model.entries(read(resolve(host, name, prefix=True)))


# -- changes ------------------------------------------------------------------------------------

def add(host: Host, name: str, args: Sequence[str], *, mkdir: bool = False,
        now: datetime | None = None) -> Changed:
    ref = resolve(host, name, prefix=True)
    new = _stamped(model.from_args(args), now)
    with config.lock(host, ref.name):
        lines = read(ref)
        new = model.absolute(new, jail_root(ref))
        _check_new(ref, new, model.entries(lines), mkdir=mkdir)
        _write(host, ref, [*lines, Line(new.text(), new)], [new] if mkdir else [])
    return Changed(f"Successfully added mount to {ref.name}'s fstab", _apply_live(host, ref, lines))


def replace(host: Host, name: str, index: int, args: Sequence[str], *, mkdir: bool = False,
            now: datetime | None = None) -> Changed:
    ref = resolve(host, name, prefix=True)
    new = _stamped(model.from_args(args), now)
    with config.lock(host, ref.name):
        lines = read(ref)
        positions = model.entry_positions(lines)
        if not 0 <= index < len(positions):
            raise EntryNotFound(f"Index {index} not found.")
        others = [e for i, e in enumerate(model.entries(lines)) if i != index]
        new = model.absolute(new, jail_root(ref))
        _check_new(ref, new, others, mkdir=mkdir)
        old = list(lines)
        lines[positions[index]] = Line(new.text(), new)
        _write(host, ref, lines, [new] if mkdir else [])
    return Changed(f"Index {index} replaced.", _apply_live(host, ref, old))


def remove(host: Host, name: str, args: Sequence[str]) -> Changed:
    """By index (a lone number) or by the entry itself (any accepted form; comments ignored)."""
    ref = resolve(host, name, prefix=True)
    with config.lock(host, ref.name):
        lines = read(ref)
        positions = model.entry_positions(lines)
        if model.is_index(args):
            index = int(args[0])
            if index >= len(positions):
                raise EntryNotFound(f"Index {index} not found.")
        else:
            wanted = model.absolute(model.from_args(args), jail_root(ref))
            matches = [i for i, e in enumerate(model.entries(lines)) if model.same_mount(e, wanted)]
            if not matches:
                raise EntryNotFound("No matching fstab entry.")
            index = matches[0]
        old = list(lines)
        del lines[positions[index]]
        _write(host, ref, lines, [])
    return Changed(f"Successfully removed mount from {ref.name}'s fstab", _apply_live(host, ref, old))


def edit(host: Host, name: str, *, editor: Editor | None = None, mkdir: bool = False) -> Changed:
    """Open a copy in the editor; save it only if the whole file is valid and nobody changed the
    original meanwhile. A refused edit stays in its temporary file, whose path the error gives."""
    ref = resolve(host, name, prefix=True)
    path = fstab_path(ref)
    before = path.read_bytes() if path.exists() else b""
    fd, tmp = tempfile.mkstemp(prefix=f"iocjail-fstab-{ref.name}.", suffix=".txt")
    with os.fdopen(fd, "wb") as handle:
        handle.write(before)
    try:
        status = (editor or run_editor)(Path(tmp))
    except BaseException:
        os.unlink(tmp)
        raise
    if status != 0:  # vi's :cq, an editor that failed to start: the user abandons the edit
        os.unlink(tmp)
        raise UsageError(f"fstab of {ref.name} not changed: the editor exited with status {status}")
    text = Path(tmp).read_text()
    with config.lock(host, ref.name):
        try:
            old = read(ref)
        except FstabError:
            old = []  # the broken file being fixed: nothing of it can be mounted
        now = path.read_bytes() if path.exists() else b""
        if now != before:
            raise ChangedWhileEditing(ref.name, tmp)
        try:
            lines = _absolute_lines(model.parse(text), jail_root(ref))
            _check_all(ref, model.entries(lines), mkdir=mkdir)
        except FstabError as err:
            raise EditRefused(ref.name, str(err), tmp) from None
        _write(host, ref, lines, model.entries(lines) if mkdir else [])
    os.unlink(tmp)
    return Changed(f"Successfully edited {ref.name}'s fstab", _apply_live(host, ref, old))


def run_editor(path: Path) -> int:
    """$EDITOR (words split as a shell would, never run through one), else vi."""
    editor = shlex.split(os.environ.get("EDITOR", "") or "vi")
    return shell.interactive([*editor, str(path)])


# -- checks and writes --------------------------------------------------------------------------

def _stamped(entry: Entry, now: datetime | None) -> Entry:
    when = now or utc_now()
    return Entry(*entry.fields, comment=ADDED.format(when.astimezone(timezone.utc)))


def _absolute_lines(lines: Sequence[Line], root: str) -> list[Line]:
    """Destinations written inside the jail (`/usr/src`) become host paths, as jail(8) needs."""
    out = []
    for line in lines:
        entry = line.entry and model.absolute(line.entry, root)
        out.append(Line(entry.text(), entry) if entry and entry != line.entry else line)
    return out


def _check_new(ref: JailRef, new: Entry, others: Sequence[Entry], *, mkdir: bool) -> None:
    problems = _problems(ref, new, mkdir=mkdir)
    problems += model.duplicates([*others, new])
    if problems:
        raise FstabError(problems)


def _check_all(ref: JailRef, entries: Sequence[Entry], *, mkdir: bool) -> None:
    problems = [p for e in entries for p in _problems(ref, e, mkdir=mkdir)]
    problems += model.duplicates(entries)
    if problems:
        raise FstabError(problems)


def _problems(ref: JailRef, entry: Entry, *, mkdir: bool) -> list[str]:
    root = jail_root(ref)
    problems = model.check(entry, root)
    if entry.fstype == "nullfs" and entry.source.startswith("/") and not os.path.exists(entry.source):
        problems.append(f"Source: {entry.source} does not exist!")
    if not problems:
        problems += destination_problems(Path(root), model.inside_parts(entry.destination, root) or [],
                                         entry.destination, mkdir=mkdir)
    return problems


def destination_problems(root: Path, parts: Sequence[str], shown: str, *, mkdir: bool) -> list[str]:
    """Walk `parts` below `root` without following symlinks; say what is wrong, if anything.
    A missing component is fine when `mkdir` (it will be created); a symlink never is."""
    try:
        with _walk(root, parts, create=False):
            return []
    except _Missing as missing:
        if mkdir:
            return []
        return [f"Destination: {shown} does not exist! (give --mkdir to create {missing.args[0]})"]
    except _Refused as refused:
        return [f"Destination: {shown}: {refused.args[0]}"]


class _Missing(Exception):
    pass


class _Refused(Exception):
    pass


@contextmanager
def _walk(root: Path, parts: Sequence[str], *, create: bool, made: list[Path] | None = None) -> Iterator[int]:
    """An fd of root/parts…, each component opened O_NOFOLLOW|O_DIRECTORY relative to the one
    before (created with mode 0755 when `create`); `made` collects what was created."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(root, flags)
    except OSError as err:
        raise _Refused(f"the jail's root {root} is not a directory ({err.strerror})") from None
    here = root
    try:
        for part in parts:
            here = here / part
            try:
                next_fd = os.open(part, flags, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise _Missing(str(here)) from None
                os.mkdir(part, 0o755, dir_fd=fd)
                if made is not None:
                    made.append(here)
                next_fd = os.open(part, flags, dir_fd=fd)
            except OSError as err:
                if err.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    kind = "a symlink" if os.path.islink(here) else "not a directory"
                    raise _Refused(f"{here} is {kind} inside the jail: refused") from None
                raise
            os.close(fd)
            fd = next_fd
        yield fd
    finally:
        os.close(fd)


def _write(host: Host, ref: JailRef, lines: Sequence[Line], create_for: Sequence[Entry]) -> None:
    """Create the requested destinations, then replace the file; undo the directories on failure."""
    made: list[Path] = []
    root = Path(jail_root(ref))
    with config.writable(host, ref):
        try:
            for entry in create_for:
                with _walk(root, model.inside_parts(entry.destination, str(root)) or [], create=True, made=made):
                    pass
            atomic_write(fstab_path(ref), model.render(lines))
        except BaseException:
            for path in reversed(made):
                try:
                    path.rmdir()
                except OSError:
                    pass
            raise


def _apply_live(host: Host, ref: JailRef, old: Sequence[Line]) -> bool:
    """Bring a running jail's mounts from the `old` file to the one just written; False if the
    jail is not running. On failure everything goes back, the old file included, and it raises."""
    if ref.name not in state.running(host):
        return False
    before, after = model.entries(old), model.entries(read(ref))
    gone = [e for e in before if not any(model.same_mount(e, a) for a in after)]
    new = [a for a in after if not any(model.same_mount(a, e) for e in before)]
    done: list[tuple[bool, Entry]] = []  # (mounted, entry)
    try:
        for entry in gone:
            lifecycle.unmount_live(host, ref.name, entry)
            done.append((False, entry))
        for entry in new:
            lifecycle.mount_live(host, ref.name, entry)
            done.append((True, entry))
    except IocjailError:
        for mounted, entry in reversed(done):
            try:
                (lifecycle.unmount_live if mounted else lifecycle.mount_live)(host, ref.name, entry)
            except IocjailError:
                pass  # the error below is the one to report; stop still undoes the journal
        with config.lock(host, ref.name):
            _write(host, ref, old, [])
        raise
    return True
