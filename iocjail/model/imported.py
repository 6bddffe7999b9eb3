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
this host (as root, at every start or stop) are named to the admin, never run by the import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from iocjail.errors import UsageError
from iocjail.model import properties as P
from iocjail.model.config import migrate
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
