"""Templates: `set template=yes|no` moves a jail between jails/ and templates/.

yes: rename jails/X -> templates/X, write type=template and template=1, readonly=on.
no:  readonly=off, rename templates/X -> jails/X, write type=jail and template=0.

Both are refused while the jail runs, and are all-or-nothing (a failed step undoes the ones
before it). Templates never start: the lifecycle checks `is_template(cfg)`. Jails made from a
template (`create -t`) keep working across both moves: ZFS renames carry their origins along.
"""

from __future__ import annotations

from collections.abc import Mapping

from iocjail.errors import MustBeStopped
from iocjail.model import config as model
from iocjail.model.values import is_true
from iocjail.platform.files import atomic_write
from iocjail.site import config, state
from iocjail.site.host import Host
from iocjail.site.jails import JailRef
from iocjail.services.provisioning import rename_back, transaction


def is_template(cfg: Mapping[str, str]) -> bool:
    """True for a template's (effective or stored) config: it must never start."""
    return cfg.get("type") == "template" or is_true(cfg.get("template"))


def refuse_running(host: Host, *names: str) -> None:
    running = state.running(host)
    for name in names:
        if name in running:
            raise MustBeStopped(name, name)


def convert(host: Host, ref: JailRef, stored: Mapping[str, str], to_template: bool,
            changes: Mapping[str, str]) -> JailRef:
    """Write `changes` plus the template marks; move the datasets if the kind changes.
    The caller holds the jail's lock. Returns where the jail is now."""
    marks = {"type": "template", "template": "1"} if to_template else {"type": "jail", "template": "0"}
    new_cfg = model.thin(stored, {**changes, **marks})
    if to_template == ref.is_template:
        config.write(host, ref, new_cfg)
        return ref
    text = model.dump_config_json(new_cfg)
    refuse_running(host, ref.name)
    category = "templates" if to_template else "jails"
    target = JailRef(ref.name, category, host.dataset(category, ref.name), host.path(category, ref.name))
    old_text = ref.config_path.read_bytes()
    zfs = host.zfs
    with transaction() as undo:
        # rename first, readonly after, both ways: zfs-fuse often calls a dataset whose readonly
        # just changed "busy" for the rename that follows (readonly does not stop a rename)
        undo.run(f"rename {ref.dataset}", lambda: zfs.rename(ref.dataset, target.dataset),
                 rename_back(zfs, target.dataset, ref.dataset))
        if not to_template:
            undo.run("readonly", lambda: zfs.set(target.dataset, {"readonly": "off"}),
                     lambda: zfs.set(target.dataset, {"readonly": "on"}))
        undo.add("config.json", lambda: atomic_write(target.config_path, old_text))
        atomic_write(target.config_path, text)
        if to_template:
            undo.run("readonly", lambda: zfs.set(target.dataset, {"readonly": "on"}),
                     lambda: zfs.set(target.dataset, {"readonly": "off"}))
    return target

