"""Fetched releases: which are complete (`list -r`, `create`), and the release lock.

A release iocjail is fetching carries `org.freebsd.iocjail:complete=no` on `releases/REL`
until the last step succeeds, when it becomes `yes`. A release without the property was made
by iocage or by hand (`zfs create -p …/releases/NAME/root` + installworld) and counts as
complete: an iocage host is adopted as it is. A release marked `no` is never offered.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass

from iocjail.errors import IocjailError, NotFound
from iocjail.fetch.names import sort_key, validate_release
from iocjail.site import config
from iocjail.site.host import Host

COMPLETE_PROP = "org.freebsd.iocjail:complete"


class ReleaseNotFound(NotFound):
    template = "release {!r} not found: fetch it first (iocjail fetch -r {})"


class ReleaseIncomplete(IocjailError):
    template = "release {!r} is incomplete (a fetch did not finish): run iocjail fetch -r {} again"


@dataclass(frozen=True)
class Release:
    name: str
    dataset: str  # POOL/iocage/releases/NAME
    complete: bool


def lock(host: Host, release: str) -> AbstractContextManager[None]:
    """One fetch or destroy of a release at a time."""
    return config.lock(host, release, what="release")


def all_releases(host: Host) -> list[Release]:
    """Every `releases/NAME` that has a `root`, complete or not, in version order (one zfs call)."""
    parent = host.dataset("releases")
    found = {d.name: d for d in host.zfs.list_datasets(parent, [COMPLETE_PROP], depth=2)}
    out = []
    for name, ds in found.items():
        rel = name[len(parent) + 1:]
        if not name.startswith(parent + "/") or "/" in rel or f"{name}/root" not in found:
            continue
        out.append(Release(rel, name, ds.get(COMPLETE_PROP) != "no"))
    return sorted(out, key=lambda r: sort_key(r.name))


def fetched(host: Host) -> list[str]:
    """The releases `list -r` shows and `create` accepts."""
    return [r.name for r in all_releases(host) if r.complete]


def require_complete(host: Host, name: str) -> Release:
    validate_release(name)
    for rel in all_releases(host):
        if rel.name == name:
            if not rel.complete:
                raise ReleaseIncomplete(name, name)
            return rel
    raise ReleaseNotFound(name, name)
