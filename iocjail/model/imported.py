"""config.json and fstab of an imported jail. Pure.

An import changes a jail's files only where it must, so an archive imported under its own name,
as what it was, on a host with the same iocroot, comes back byte for byte:

* a new name (`import -n`) renames it as `rename` does: host_hostuuid, the default hostname,
  jail_zfs_dataset;
* a template becomes a jail (`type=jail`, `template=0`, as iocage does) unless it is imported
  as a template; a jail imported as a template gets the template marks;
* fstab paths under the jail's directory on the exporting host (`IOCROOT/jails/NAME` or
  `IOCROOT/templates/NAME`) move to where the jail now lives.

The archive's sha256 proves it is whole, not who wrote it: the hooks its config sets to run on
this host (as root, at every start or stop) and the host paths its fstab mounts into the jail are
named to the admin, never run or mounted by the import; an fstab that mounts the host's `/` is
refused.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from iocjail.errors import UsageError
from iocjail.model import properties as P
from iocjail.model.config import migrate
from iocjail.model.fstab import Entry as FstabEntry
from iocjail.model.fstab import parse_line
from iocjail.model.provision import fstab_moved, renamed_config
from iocjail.model.values import is_true

TEMPLATE_MARKS = {"type": "template", "template": "1"}
JAIL_MARKS = {"type": "jail", "template": "0"}


def was_template(cfg: Mapping[str, str]) -> bool:
    return cfg.get("type") == "template" or is_true(cfg.get("template"))


def imported_config(stored: Mapping[str, str], old: str, new: str, *, as_template: bool) -> dict[str, str]:
    out = dict(stored)
    if new != old:
        out = renamed_config(out, old, new)
    if as_template:
        out.update(TEMPLATE_MARKS)
    elif was_template(stored):
        out.update(JAIL_MARKS)
    return dict(sorted(out.items()))


# What jail(8) or iocjail runs on the host, not inside the jail (exec_start/exec_stop run inside).
HOST_HOOKS = ("exec_prestart", "exec_created", "exec_poststart", "exec_prestop", "exec_poststop")


def host_commands(stored: Mapping[str, str], defaults: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The host-side hooks the imported config sets to something other than this host's
    defaults: commands that will run here as root when the jail starts or stops."""
    return tuple((key, stored[key]) for key in HOST_HOOKS
                 if key in stored and stored[key] != defaults.get(key, P.REGISTRY[key].default))


def old_directories(source_iocroot: str, old: str) -> tuple[str, ...]:
    """Where the jail's files were on the exporting host (a jail, or a template)."""
    root = source_iocroot.rstrip("/")
    return (f"{root}/jails/{old}", f"{root}/templates/{old}")


def imported_fstab(text: str, old_dirs: Iterable[str], new_dir: str) -> str:
    for old_dir in old_dirs:
        if old_dir != new_dir:
            text = fstab_moved(text, old_dir, new_dir)
    return text


def config_problems(cfg: Mapping[str, str], defaults: Mapping[str, str]) -> list[str]:
    """What is wrong in an imported config.json, judged by the property registry as `set` judges
    values (after the usual migration of an older CONFIG_VERSION). Keys iocjail does not know
    are left alone, as on any jail (iocage forks and plugins add their own)."""
    migrated, _ = migrate(cfg, defaults, default=False)
    problems = []
    for key, value in migrated.items():
        if key not in P.REGISTRY and P.passthrough_param(key) is None:
            continue
        try:
            P.canonical(key, value)
        except UsageError as err:
            problems.append(str(err))
    return problems


# -- fstab sources on this host ---------------------------------------------------------------

def _entries(text: str) -> list[FstabEntry]:
    """The fstab's entries; a malformed line is skipped here (every start refuses it anyway)."""
    out = []
    for line in text.splitlines():
        try:
            entry = parse_line(line)
        except ValueError:
            continue
        if entry is not None:
            out.append(entry)
    return out


def _is_under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def host_root_source(fstab: str) -> str | None:
    """An entry that mounts the host's `/` itself (`/`, `//`, `/usr/..`): never imported."""
    for entry in _entries(fstab):
        if entry.source.startswith("/") and posixpath.normpath(entry.source).strip("/") == "":
            return entry.source
    return None


def host_sources(fstab: str, jail_dir: str, releases: str) -> tuple[tuple[str, str], ...]:
    """(source, "rw"/"ro") of every fstab entry that mounts a path of this host outside the
    jail's own directory, as written after the import: what the jail will see (and, rw, change)
    of the host at every start. Read-only mounts of this host's releases (a basejail's) are the
    jail's own kind and not named; sources that are no path (tmpfs, devfs) are not either, but a
    nullfs source that is not absolute is (mount would resolve it from wherever it runs)."""
    out = []
    for entry in _entries(fstab):
        mode = "ro" if "ro" in entry.options.split(",") else "rw"
        if not entry.source.startswith("/"):
            if entry.fstype == "nullfs":
                out.append((entry.source, mode))
            continue
        path = posixpath.normpath(entry.source)
        if _is_under(path, jail_dir) or (mode == "ro" and _is_under(path, releases)):
            continue
        out.append((entry.source, mode))
    return tuple(out)


# -- the mark of an import in progress --------------------------------------------------------

# A user property on the imported jail's dataset, made with it (`zfs create -o`) before the first
# stream is received and removed once the import is complete: a dataset that carries it is not a
# jail yet. One whose owner is gone (killed, or the pool moved to another host) is what a killed
# import left, and the next import of the name (or `clean --runtime`) destroys it.
IMPORT_PROP = "iocjail:importing"


@dataclass(frozen=True)
class ImportMark:
    host: str  # the importing host's name
    pid: int
    start: str  # the owner's start time as the platform tells it ("-" where it cannot)
    since: str  # UTC, when the import began

    def text(self) -> str:
        return f"host={self.host} pid={self.pid} start={self.start} since={self.since}"


def parse_import_mark(text: str | None) -> ImportMark | None:
    """The mark as `ImportMark.text` wrote it; None for anything else (no owner can be known)."""
    fields: dict[str, str] = {}
    for word in (text or "").split():
        key, _, value = word.partition("=")
        fields[key] = value
    pid = fields.get("pid", "")
    if not pid.isdigit() or not fields.get("host") or not fields.get("start") or not fields.get("since"):
        return None
    return ImportMark(fields["host"], int(pid), fields["start"], fields["since"])


def owner_gone(mark: ImportMark | None, this_host: str, owner_alive: bool) -> bool:
    """Whether a half import's owner is gone: unreadable mark, another host (the pool moved:
    nothing runs there on it now), or its process (pid and start time) is no longer running."""
    return mark is None or mark.host != this_host or not owner_alive
