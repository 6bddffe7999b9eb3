"""`update` and `upgrade` of plugin jails: the plugin's own part, behind a snapshot.

iocage's plugin update (reference §1.15, §4.2): the plugin's INDEX is fetched again (or, for a
jail made from a local FILE.json, the manifest kept beside it is used), the manifest checked
exactly as at install, the artifact cloned again and its overlay checked; all of that before
anything changes. Then, in this order:

  snapshot      `zfs snapshot -r POOL/iocage/jails/NAME@ioc_plugin_update_<date>`
  start         the jail, if it is not running (stopped again afterwards)
  pkg repos     the manifest's pkg repositories, written again
  packages      the manifest's packages (services/packages)
  artifact      jails/NAME/plugin replaced by the new clone, the manifest copy too
  overlay       the new overlay copied over the root (never through a jail's symlink)
  post_upgrade  /root/post_upgrade.sh run inside, if the artifact has one

A failure stops the jail, rolls every filesystem of the jail back to the snapshot, starts the
jail again if it was running, and says so; success removes the snapshot, as iocage does.
A manifest whose release is a newer major version than the jail's is refused: that is an
upgrade, which moves the jail to the manifest's release first (services/upgrades, FreeBSD), then
comes back here.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from iocjail.errors import IocjailError, JailNotRunning, UsageError
from iocjail.model import plugin_files as F
from iocjail.model import plugin_manifest as M
from iocjail.model.packages import PKG_COMMAND, pkg_command_argv
from iocjail.platform.files import atomic_write
from iocjail.site import config, state
from iocjail.services import lifecycle, plugin_source, plugins
from iocjail.lifecycle.select import on_freebsd
from iocjail.site.host import Host
from iocjail.site.jails import JailRef, resolve
from iocjail.services.plugin_source import Artifact, Source

STEPS = ("snapshot", "start", "pkg repos", "packages", "artifact", "overlay", "post_upgrade")


class NotAPlugin(UsageError):
    template = "{}: not a plugin jail (type {})"


class PluginUpdateFailed(IocjailError):
    template = "plugin {}: update failed at {}: {}; rolled back to {}"


class PluginRollbackFailed(IocjailError):
    template = "plugin {}: update failed at {}: {}; rolling back to {} failed too ({}): roll back by hand"


@dataclass(frozen=True)
class Updated:
    name: str
    plugin: str
    snapshot: str  # taken first, removed after success
    commit: str | None  # the artifact now in jails/NAME/plugin


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _major(release: str) -> int | None:
    match = re.match(r"^(\d+)\.", release)
    return int(match.group(1)) if match else None


def plugin_source_of(host: Host, ref: JailRef, cfg: dict[str, str], *, branch: str | None = None) -> Source:
    """The manifest the jail follows: its INDEX entry again, or the copy kept beside it."""
    if cfg.get("type") not in ("plugin", plugins.PLUGIN_TYPE):
        raise NotAPlugin(ref.name, cfg.get("type", "jail"))
    plugin, repository = cfg.get("plugin_name", "none"), cfg.get("plugin_repository", "none")
    if repository not in ("none", ""):
        return plugin_source.read_manifest(host, plugin, repository=repository, branch=branch)
    kept = ref.path / F.manifest_copy_name(plugin)
    if not M.is_plugin_name(plugin) or not kept.is_file():
        raise UsageError(f"{ref.name}: no plugin index and no kept manifest ({kept.name}): cannot update it")
    text = kept.read_bytes()
    return Source(M.parse_manifest(text, str(kept), local=True), text, plugin, "none", True)


def update(host: Host, name: str, *, branch: str | None = None, reporter: plugins.Reporter | None = None,
           now: Callable[[], datetime] = utc_now) -> Updated:
    report = reporter or plugins.Quiet()
    ref = resolve(host, name, prefix=True)
    cfg = config.load(host, ref).effective
    source = plugin_source_of(host, ref, cfg, branch=branch)
    manifest = source.manifest
    have, want = _major(cfg.get("release", "")), _major(manifest.release)
    if have is not None and want is not None and want > have:
        raise UsageError(f"{ref.name}: the plugin now needs {manifest.release} (a major ABI change from "
                         f"{cfg.get('release')}): run iocjail upgrade {ref.name}")
    if manifest.pkgs and not on_freebsd() and pkg_command_argv(cfg.get(PKG_COMMAND)) is None:
        raise UsageError(f"{ref.name}: the plugin installs packages and the jail has no {PKG_COMMAND}")
    with plugin_source.staged_artifact(source, branch=branch) as artifact:
        report.step("snapshot", f"Snapshotting {ref.name}")
        snap = f"{ref.dataset}@ioc_plugin_update_{now().strftime('%Y-%m-%d_%H-%M-%S')}"
        host.zfs.snapshot(snap, recursive=True)
        was_running = ref.name in state.running(host)
        progress = _Progress(report)
        try:
            if not was_running:
                progress.step("start", f"Starting {ref.name}")
                lifecycle.start_one(host, ref)
            _apply(host, ref, cfg, source, artifact, progress)
        except BaseException as err:
            _roll_back(host, ref, source.plugin, progress.name, err, snap, was_running)
            raise
        if not was_running:
            lifecycle.stop_one(host, ref.name)
        host.zfs.destroy(snap, recursive=True)
    return Updated(ref.name, source.plugin, snap, artifact.commit if artifact else None)


class _Progress:
    """The reporter, and the name of the step running (the one a failure names)."""

    def __init__(self, report: plugins.Reporter) -> None:
        self.report, self.name = report, "start"

    def step(self, name: str, text: str) -> None:
        self.name = name
        self.report.step(name, text)


def _apply(host: Host, ref: JailRef, cfg: dict[str, str], source: Source, artifact: Artifact | None,
           progress: _Progress) -> None:
    root, manifest = ref.path / "root", source.manifest
    progress.step("pkg repos", f"Writing the pkg repositories {', '.join(manifest.repos)}")
    for rel, text in F.repo_files(manifest):
        plugins.write_in_root(root, rel, text.encode())
    if manifest.pkgs:
        progress.step("packages", f"Installing packages: {', '.join(manifest.pkgs)}")
        plugins.install_packages(host, ref.name, manifest.pkgs)
    progress.step("artifact", "Replacing the artifact")
    shutil.rmtree(ref.path / "plugin", ignore_errors=True)
    if artifact is not None:
        shutil.copytree(artifact.path, ref.path / "plugin", symlinks=True)
    atomic_write(ref.path / F.manifest_copy_name(source.plugin), source.text)
    if artifact is not None:
        progress.step("overlay", f"Copying the overlay ({len(artifact.overlay)} entries)")
        plugins.copy_overlay(artifact, root)
        if artifact.post_upgrade is not None:
            progress.step("post_upgrade", "Running post_upgrade.sh")
            plugins.run_script(host, ref.name, root, "post_upgrade.sh", artifact.post_upgrade, F.plugin_ip(cfg))


def _roll_back(host: Host, ref: JailRef, plugin: str, step: str, err: BaseException, snap: str,
               was_running: bool) -> None:
    reason = str(err) if isinstance(err, IocjailError) else f"{type(err).__name__}: {err}"
    try:
        try:
            lifecycle.stop_one(host, ref.name, force=True)
        except JailNotRunning:
            pass
        tag = snap.partition("@")[2]
        found = host.zfs.list_datasets(ref.dataset, recursive=True, types=("filesystem",))
        for fs in sorted((d.name for d in found), key=lambda n: n.count("/"), reverse=True):
            host.zfs.rollback(f"{fs}@{tag}")
        if was_running:
            lifecycle.start_one(host, ref)
    except IocjailError as again:
        raise PluginRollbackFailed(plugin, step, reason, snap, again) from err
    if isinstance(err, Exception):
        raise PluginUpdateFailed(plugin, step, reason, snap) from err
