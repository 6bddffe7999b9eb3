"""`fetch`: download (or copy) a release's sets, verify them, extract them, update, mark complete.

Order, so that a failure anywhere leaves nothing usable and a retry completes:

1. MANIFEST (from the mirror, or DIR/REL/MANIFEST) is read before anything is created:
   an unknown release leaves no dataset behind.
2. Each set is downloaded into `download/REL/` as NAME.part, verified, renamed (download.py).
3. Every member of every set is checked; nothing is extracted from an unsafe archive.
4. `releases/REL` is marked `complete=no`, its root is (re)made and the sets extracted.
5. freebsd-update runs (FreeBSD hosts and releases only, unless --noupdate).
6. `complete=yes`: only now does the release appear in `list -r` and `create` accept it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import requests

from iocjail.errors import CommandFailed, IocjailError, NotFound, UsageError
from iocjail.fetch import download as dl
from iocjail.fetch import manifest, members, mirror, names, update
from iocjail.platform import shell, tar
from iocjail.site import releases
from iocjail.site.host import Host


class LocalMissing(NotFound):
    template = "{} does not exist: local fetch reads DIR/RELEASE/FILE"


class UpdateFailed(IocjailError):
    template = "freebsd-update of {} failed: {}"


class NoRelease(UsageError):
    template = "no release given: use -r RELEASE ({})"


class Reporter(dl.Progress, Protocol):
    def step(self, text: str) -> None: ...


class QuietReporter(dl.NoProgress):
    def step(self, text: str) -> None:
        pass


@dataclass(frozen=True)
class Source:
    """Where a release's files come from: a mirror's release directory or a local one."""

    url: str | None = None  # ends in '/'
    directory: Path | None = None  # DIR/REL
    verify: bool = True  # only a local fetch may turn this off (--no-verify)

    @property
    def where(self) -> str:
        return self.url if self.url is not None else str(self.directory)


@dataclass(frozen=True)
class FetchResult:
    release: str
    source: str
    root: Path
    files: tuple[dl.Fetched, ...]
    notes: tuple[str, ...] = field(default=())
    userland: str | None = None


def host_machine() -> tuple[str, str]:
    uname = os.uname()
    processor = ""
    if uname.sysname == "FreeBSD":
        processor = shell.run(["uname", "-p"]).stdout.strip()
    return names.machine_pair(uname.machine, processor)


def remote_source(release: str, *, server: str | None = None, root_dir: str | None = None,
                  url: str | None = None) -> Source:
    if url:
        if server or root_dir:
            raise UsageError("--url names the release directory: do not combine it with -s or -d")
        return Source(url=mirror.checked_url(url))
    root = root_dir or mirror.root_dir(*host_machine())
    return Source(url=mirror.release_url(server or mirror.DEFAULT_SERVER, root, release))


def local_source(directory: str, release: str, *, verify: bool = True) -> Source:
    path = Path(directory) / release
    if not path.is_dir():
        raise LocalMissing(path)
    return Source(directory=path, verify=verify)


def mirror_releases(*, server: str | None = None, root_dir: str | None = None,
                    session: requests.Session | None = None) -> tuple[str, list[mirror.MirrorRelease]]:
    """The index page's URL and the releases it offers (for `fetch` without -r)."""
    url = mirror.index_url(server or mirror.DEFAULT_SERVER, root_dir or mirror.root_dir(*host_machine()))
    found = mirror.parse_index(dl.get_text(session or dl.new_session(), url))
    if not found:
        raise dl.DownloadFailed(url, "the page lists no N.M-RELEASE directories")
    return url, found


def fetch(host: Host, release: str, source: Source, *, files: Sequence[str] = (), noupdate: bool = False,
          reporter: Reporter | None = None, session: requests.Session | None = None) -> FetchResult:
    names.validate_release(release)
    for name in files:
        names.validate_file_name(name)
    reporter = reporter or QuietReporter()
    session = session or dl.new_session()
    _ = host.iocroot  # the pool is active and its tree mounted, before any download
    with releases.lock(host, release):
        entries = _select(source, release, files, session)
        cache = _dataset_path(host, host.dataset("download", release))
        fetched = [_get_one(source, entry, cache, session, reporter) for entry in entries]
        for item in fetched:
            reporter.step(f"Checking {item.path.name}")
            members.check(item.path.name, tar.members(item.path))
        root = _prepare_root(host, release)
        for item in fetched:
            reporter.step(f"Extracting {item.path.name}")
            tar.extract(item.path, root)
        notes = [_update(host, release, root, noupdate, reporter)]
        userland = _userland(root)
        host.zfs.set(host.dataset("releases", release), {releases.COMPLETE_PROP: "yes"})
    return FetchResult(release, source.where, root, tuple(fetched), tuple(n for n in notes if n), userland)


def _select(source: Source, release: str, files: Sequence[str],
            session: requests.Session) -> list[manifest.Entry]:
    """The MANIFEST entries to fetch (unverified local files get an empty sha256)."""
    wanted = list(files) or list(names.default_files(host_machine()[1]))
    required = list(files) or ["base.txz"]
    if source.url is not None:
        text = dl.get_text(session, mirror.file_url(source.url, "MANIFEST"))
        return manifest.select(manifest.parse(text, f"MANIFEST of {release}"), wanted, required, release)
    assert source.directory is not None
    listed = source.directory / "MANIFEST"
    if listed.is_file():
        entries = manifest.parse(listed.read_text(errors="replace"), str(listed))
        if source.verify:
            return manifest.select(entries, wanted, required, release)
    elif source.verify:
        raise LocalMissing(f"{listed} (needed to verify the files; --no-verify skips the check)")
    present = [n for n in wanted if (source.directory / n).is_file()]
    for name in required:
        if name not in present:
            raise LocalMissing(source.directory / name)
    return [manifest.Entry(n, "") for n in present]


def _dataset_path(host: Host, dataset: str) -> Path:
    """Create `dataset` if needed and return where it is mounted."""
    if not host.zfs.exists(dataset):
        host.zfs.create(dataset, parents=True)
    mountpoint = host.zfs.get(dataset, "mountpoint") or ""
    if not mountpoint.startswith("/"):
        raise IocjailError(f"{dataset} has no usable mountpoint ({mountpoint or '-'})")
    return Path(mountpoint)


def _get_one(source: Source, entry: manifest.Entry, cache: Path, session: requests.Session,
             reporter: Reporter) -> dl.Fetched:
    dest = cache / entry.name
    if source.url is not None:
        return dl.download(session, mirror.file_url(source.url, entry.name), dest, entry.sha256, reporter)
    assert source.directory is not None
    src = source.directory / entry.name
    if not src.is_file():
        raise LocalMissing(src)
    return dl.copy(src, dest, entry.sha256 if source.verify else None, reporter)


def _prepare_root(host: Host, release: str) -> Path:
    """Mark the release incomplete and give back an extraction target.

    A partial release (left `complete=no` by a failed fetch) gets a fresh root unless clones
    already hang from it; a complete one is re-extracted in place (iocage's "cleans up your
    mess"), which leaves jails cloned from its snapshots untouched.
    """
    ds = host.dataset("releases", release)
    root_ds = f"{ds}/root"
    existing = {d.name: d for d in host.zfs.list_datasets(host.dataset("releases"), [releases.COMPLETE_PROP],
                                                          depth=2)}
    if ds not in existing:
        host.zfs.create(ds, parents=True, props={releases.COMPLETE_PROP: "no"})
    else:
        partial = existing[ds].get(releases.COMPLETE_PROP) == "no"
        host.zfs.set(ds, {releases.COMPLETE_PROP: "no"})
        if partial and root_ds in existing and not _has_clones(host, root_ds):
            host.zfs.destroy(root_ds, recursive=True)
            del existing[root_ds]
    if root_ds not in existing:
        host.zfs.create(root_ds)
    return _dataset_path(host, root_ds)


def _has_clones(host: Host, dataset: str) -> bool:
    origins = host.zfs.list_datasets(host.pool, ["origin"], recursive=True)
    return any((d.get("origin") or "").startswith(dataset + "@") for d in origins)


def _update(host: Host, release: str, root: Path, noupdate: bool, reporter: Reporter) -> str | None:
    reason = update.skip_reason(host_system=os.uname().sysname, release=release, noupdate=noupdate,
                                has_update_conf=(root / "etc" / "freebsd-update.conf").is_file())
    if reason:
        return reason
    reporter.step(f"Updating {release} with freebsd-update")
    plan = update.freebsd_update_plan(str(root), release, os.environ.get("TERM", "dumb"))
    try:
        for command in plan.steps:
            result = shell.run(command.argv, env=command.env, check=False)
            if result.returncode not in command.ok_codes:
                raise UpdateFailed(release, CommandFailed(list(command.argv), result.returncode, result.stderr))
    finally:
        for command in plan.cleanup:
            shell.run(command.argv, env=command.env, check=False)
    return None


def _userland(root: Path) -> str | None:
    script = root / "bin" / "freebsd-version"
    try:  # read nothing through a symlink the release holds (a Linux /bin -> usr/bin included)
        if script.parent.is_symlink() or script.is_symlink() or not script.is_file():
            return None
        return update.userland_version(script.read_text(errors="replace")[:65536])
    except OSError:
        return None
