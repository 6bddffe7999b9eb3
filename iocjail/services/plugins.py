"""Plugins (`fetch -P`): a jail made from an iocage plugin manifest, all or nothing.

Everything that can be refused is refused before anything is made (`prepare`): the manifest
(model/plugin_manifest), the jail's name and properties, an address for it, a package manager
for its packages, kernel modules only on a FreeBSD host, and the artifact, cloned into a private
directory and its overlay checked. Then `install` takes the steps iocage takes (reference §4.2),
each named in STEPS:

  kmods         FreeBSD: `kldload -n MODULE` for each of the manifest's kmods, before the jail
                exists (a plan run through the executor); loaded modules stay loaded, as with
                iocage: another jail or the host may use them by then
  create        the jail, from the manifest's release, with the merged properties
  config        type=pluginv2, plugin_name, plugin_repository; the manifest kept as
                jails/NAME/PLUGIN.json, where every start reads its devfs_ruleset (iocage's place)
  start         the jail (services/lifecycle); on FreeBSD its generated devfs ruleset holds the
                manifest's devfs paths and includes (lifecycle/freebsd/runtime.py)
  ca_root_nss   FreeBSD, https packagesite: `ca_root_nss` from the release's own repository,
                before the repository files switch pkg to the plugin's (services/packages)
  pkg repos     pkg's repository configuration and trusted fingerprints, inside the root
  packages      the manifest's packages (services/packages: pkg(8), or the jail's pkg_command)
  artifact      the clone kept in jails/NAME/plugin
  overlay       artifact/overlay/ copied over the root, never through a symlink in the jail
  post_install  /root/post_install.sh run inside, IOCAGE_PLUGIN_IP in its environment
  portal        the admin portal and documentation link of ui.json

A failure at kmods has made nothing and says so; a failure at any later step stops the jail and
destroys it, and the error says so. The jail is left running when all went well, as iocage
leaves it. `reporter.step(name, text)` hears each step before it runs (a test makes any step
fail there). On Linux the FREEBSD_ONLY steps never run: see `install`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from iocjail.errors import IocjailError, JailNotRunning, UsageError
from iocjail.fetch.update import Command
from iocjail.model import plugin_files as F
from iocjail.model import plugin_manifest as M
from iocjail.model import properties
from iocjail.model.packages import PKG_COMMAND, pkg_command_argv
from iocjail.model.values import validate_jail_name
from iocjail.platform import freebsd as FB
from iocjail.platform import safe_paths
from iocjail.platform.files import atomic_write
from iocjail.lifecycle.commands import Executor, carry_out, default_executor
from iocjail.site import config, state
from iocjail.services import create, destroy, enter, lifecycle, listing, plugin_source
from iocjail.site.host import Host
from iocjail.site.jails import JailRef, all_jails, resolve
from iocjail.services.plugin_source import Artifact, Source
from iocjail.services.props import parse_pairs

STEPS = ("kmods", "create", "config", "start", "ca_root_nss", "pkg repos", "packages", "artifact", "overlay",
         "post_install", "portal")
FREEBSD_ONLY = ("kmods", "ca_root_nss")
PLUGIN_TYPE = "pluginv2"


class Reporter(Protocol):
    def step(self, name: str, text: str) -> None:
        """A step of the install is about to run."""


class Quiet:
    def step(self, name: str, text: str) -> None:
        pass


class PluginFailed(IocjailError):
    template = "plugin {}: {} failed: {}; the half-made jail {} was destroyed"


class PluginNotMade(IocjailError):
    template = "plugin {}: {} failed: {}; nothing was made"


class PluginLeftBehind(IocjailError):
    template = "plugin {}: {} failed: {}; destroying the half-made jail {} failed too: {}"


class PackagesFailed(IocjailError):
    template = "packages not installed: {}"


@dataclass(frozen=True)
class Prepared:
    source: Source
    name: str
    props: tuple[str, ...]  # KEY=VALUE for create
    artifact: Artifact | None
    notes: tuple[str, ...] = ()
    freebsd: bool = False  # the host's runtime is FreeBSD's: kmods, ca_root_nss, devfs rules apply


@dataclass(frozen=True)
class Installed:
    name: str
    portal: F.Portal
    notes: tuple[str, ...] = field(default=())


# -- checks: nothing is made before all of them passed ---------------------------------------

@contextmanager
def prepare(host: Host, plugin: str, *, repository: str = plugin_source.OFFICIAL_INDEX, name: str | None = None,
            props: Sequence[str] = (), branch: str | None = None) -> Iterator[Prepared]:
    """Everything read and checked; the staged artifact lives as long as the block."""
    user = parse_pairs(props)
    _ = host.iocroot  # an active pool before any clone
    freebsd = state.of(host).name == "freebsd"
    source = plugin_source.read_manifest(host, plugin, repository=repository, branch=branch)
    manifest = source.manifest
    if manifest.kmods and not freebsd:
        raise UsageError(f"plugin {source.plugin}: kmods need a FreeBSD host (the manifest loads "
                         f"{', '.join(manifest.kmods)} into the kernel with kldload)")
    jail = validate_jail_name(name or _free_name(host, manifest.name.lower()))
    properties.validate("plugin_repository", source.repository)
    merged = M.jail_props(manifest, user)
    effective = {**properties.default_config(), **config.load_defaults(host), **dict(merged)}
    if M.needs_address(effective):
        raise UsageError(f"plugin {source.plugin} needs an address: give ip4_addr=…, ip6_addr=…, dhcp=on or nat=on")
    if manifest.pkgs and not freebsd and pkg_command_argv(effective.get(PKG_COMMAND)) is None:
        raise UsageError(f"plugin {source.plugin} installs packages, and a Linux jail has no pkg(8): give "
                         f"{PKG_COMMAND}=COMMAND (a command in the jail that takes pkg's arguments)")
    with plugin_source.staged_artifact(source, branch=branch) as artifact:
        yield Prepared(source, jail, tuple(f"{k}={v}" for k, v in merged), artifact,
                       _devfs_notes(manifest, effective, freebsd), freebsd)


def _devfs_notes(manifest: M.Manifest, effective: dict[str, str], freebsd: bool) -> tuple[str, ...]:
    """What becomes of the manifest's devfs_ruleset, when it has one."""
    if manifest.devfs_ruleset is None:
        return ()
    if not freebsd:
        return ("the manifest's devfs_ruleset does not apply on Linux: a jail's /dev there is a fixed minimal "
                "tmpfs (null, zero, full, random, urandom, tty, its own devpts)",)
    ruleset = effective.get("devfs_ruleset", "4")
    if ruleset != "4":
        return (f"devfs_ruleset={ruleset} is used as it is: the manifest's devfs paths and includes are not "
                "added (they join a ruleset generated from devfs_ruleset=4 only, as in iocage)",)
    return ()


def _free_name(host: Host, base: str) -> str:
    """The manifest's name, or NAME_2, NAME_3… when taken, as iocage does."""
    taken = {r.name for r in all_jails(host, templates=None)}
    if base not in taken:
        return base
    number = 2
    while f"{base}_{number}" in taken:
        number += 1
    return f"{base}_{number}"


# -- the install -----------------------------------------------------------------------------

def kmod_plan(modules: Sequence[str]) -> tuple[Command, ...]:
    """`kldload -n MODULE` for each module, in the manifest's order."""
    return tuple(Command(FB.kldload_argv(module)) for module in modules)


def install(host: Host, prepared: Prepared, reporter: Reporter | None = None, *,
            executor: Executor | None = None) -> Installed:
    """The install; `executor` runs the FreeBSD plans (kldload, pkg), default: this host's."""
    report = reporter or Quiet()
    manifest, name = prepared.source.manifest, prepared.name
    if prepared.freebsd and manifest.kmods:
        try:
            report.step("kmods", f"Loading kernel modules: {', '.join(manifest.kmods)}")
            carry_out(kmod_plan(manifest.kmods), (), executor or default_executor(
                "loading a plugin's kernel modules", "kldload", "fetch -P", capture=True))
        except IocjailError as err:
            raise PluginNotMade(prepared.source.plugin, "kmods", err) from err
    report.step("create", f"Creating jail {name} from {manifest.release}")
    created = create.create(host, create.CreateRequest(release=manifest.release, name=name, props=prepared.props))
    notes = [n for c in created for n in c.notes]
    current = "config"
    try:
        ref = resolve(host, name)
        report.step("config", f"Marking {name} as plugin {prepared.source.plugin}")
        _mark_plugin(host, ref, prepared.source)
        root = ref.path / "root"
        current = "start"
        report.step(current, f"Starting {name}")
        lifecycle.start_one(host, ref)
        # Linux jails skip ca_root_nss: their pkg_command installs with the distribution's own
        # tools and trust store, and is never pointed at the manifest's packagesite (only pkg(8)
        # reads the repository files written below), so FreeBSD's CA package has nothing to do.
        if prepared.freebsd and F.needs_ca_root(manifest):
            current = "ca_root_nss"
            report.step(current, f"Secure packagesite: installing {F.CA_ROOT_PACKAGE}")
            install_packages(host, name, (F.CA_ROOT_PACKAGE,), executor=executor)
        current = "pkg repos"
        report.step(current, f"Writing the pkg repositories {', '.join(manifest.repos)}")
        for rel, text in F.repo_files(manifest):
            write_in_root(root, rel, text.encode())
        current = "packages"
        if manifest.pkgs:
            report.step(current, f"Installing packages: {', '.join(manifest.pkgs)}")
            install_packages(host, name, manifest.pkgs, executor=executor)
        current = "artifact"
        report.step(current, f"Keeping the artifact in {ref.path / 'plugin'}")
        _keep(ref, prepared)
        cfg = config.load(host, ref).effective
        ip = F.plugin_ip(cfg)
        if prepared.artifact is not None:
            current = "overlay"
            report.step(current, f"Copying the overlay ({len(prepared.artifact.overlay)} entries)")
            copy_overlay(prepared.artifact, root)
            current = "post_install"
            if prepared.artifact.post_install is not None:
                report.step(current, "Running post_install.sh")
                run_script(host, name, root, "post_install.sh", prepared.artifact.post_install, ip)
        current = "portal"
        report.step(current, "Reading the admin portal")
        portal = F.portal(prepared.artifact.ui_json if prepared.artifact else None, ip)
    except BaseException as err:
        _discard(host, prepared.source.plugin, current, name, err)
        raise  # _discard raises; this line keeps the type checker honest
    return Installed(name, portal, (*prepared.notes, *notes))


def _mark_plugin(host: Host, ref: JailRef, source: Source) -> None:
    """The plugin's type and origin in config.json, and the manifest as read beside it, before
    the first start reads its devfs_ruleset (iocage writes it right after the create too)."""
    with config.lock(host, ref.name):
        stored = config.load(host, ref).stored
        stored.update(type=PLUGIN_TYPE, plugin_name=source.plugin, plugin_repository=source.repository)
        config.write(host, ref, dict(sorted(stored.items())))
    atomic_write(ref.path / F.manifest_copy_name(source.plugin), source.text)


def install_packages(host: Host, name: str, pkgs: Sequence[str], *, executor: Executor | None = None) -> None:
    """The package step: services/packages (pkg(8) on FreeBSD, the jail's pkg_command on Linux);
    any package that failed (after its retries) fails the plugin."""
    from iocjail.services import packages

    failed = packages.install(host, name, pkgs, executor=executor)
    if failed:
        raise PackagesFailed(", ".join(failed))


def _keep(ref: JailRef, prepared: Prepared) -> None:
    """The artifact beside the root (iocage's jails/NAME/plugin)."""
    if prepared.artifact is not None:
        shutil.copytree(prepared.artifact.path, ref.path / "plugin", symlinks=True)


def write_in_root(root: Path, rel: str, data: bytes, mode: int = 0o644) -> None:
    """ROOT/rel with its missing parent directories, never through a symlink."""
    parts = rel.split("/")
    for depth in range(1, len(parts)):
        safe_paths.mkdir(root, "/".join(parts[:depth]))
    safe_paths.write_file(root, rel, data, mode)


def copy_overlay(artifact: Artifact, root: Path) -> None:
    """artifact/overlay/ over the root: directories made, files replaced, links recreated; a
    symlink on the way inside the jail is refused (safe_paths), never followed."""
    base, top = root, artifact.path / "overlay"
    for entry in artifact.overlay:
        if entry.kind == "dir":
            safe_paths.mkdir(base, entry.path)
        elif entry.kind == "symlink":
            safe_paths.symlink(base, entry.path, entry.target or "", replace=True)
        else:
            source = safe_paths.read_file(top, entry.path)
            if source is None:
                raise UsageError(f"plugin overlay: {entry.path} vanished from the artifact")
            executable = (top / entry.path).lstat().st_mode & 0o111
            safe_paths.write_file(base, entry.path, source, 0o755 if executable else 0o644)


def run_script(host: Host, name: str, root: Path, script: str, data: bytes, ip: str) -> None:
    """ROOT/root/SCRIPT run inside with /bin/sh and IOCAGE_PLUGIN_IP; a non-zero exit fails."""
    write_in_root(root, f"root/{script}", data, 0o755)
    argv = ["/bin/sh", "-c", 'IOCAGE_PLUGIN_IP="$1" exec /bin/sh "/root/$2"', "sh", ip, script]
    done = enter.exec_in(host, name, argv, capture=True, stdin=b"")
    if done.code != 0:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or [""]
        raise UsageError(f"{script} exited {done.code}" + (f": {tail[0]}" if tail[0] else ""))


def _discard(host: Host, plugin: str, step: str, name: str, err: BaseException) -> None:
    """Stop and destroy the half-made jail; raise the error that says what happened."""
    try:
        try:
            lifecycle.stop_one(host, name, force=True)
        except JailNotRunning:
            pass
        planned = destroy.plan(host, [name], recursive=False)
        destroy.destroy(host, planned, recursive=False)
    except Exception as cleanup:  # the first error matters most; name what is left
        raise PluginLeftBehind(plugin, step, err, name, cleanup) from err
    if isinstance(err, IocjailError):
        raise PluginFailed(plugin, step, err, name) from err
    if isinstance(err, Exception):
        raise PluginFailed(plugin, step, f"{type(err).__name__}: {err}", name) from err
    raise err  # KeyboardInterrupt and the like: the jail is gone, pass it on

# -- list -P and list -PR --------------------------------------------------------------------

@dataclass(frozen=True)
class PluginJail:
    row: listing.JailRow  # as `list -l` shows it
    portal: str | None
    doc: str | None


def plugin_jails(host: Host, *, sort: str = "name") -> list[PluginJail]:
    """`list -P`: jails of type plugin/pluginv2 with their portal and documentation link, read
    from jails/NAME/plugin/ui.json without following a symlink."""
    out = []
    for row in listing.jails(host, long=True, sort=sort):
        if row.type not in ("plugin", PLUGIN_TYPE):
            continue
        try:
            ui = safe_paths.read_file(host.path("jails", row.name), "plugin/ui.json")
        except (safe_paths.UnsafePath, OSError):
            ui = None
        found = F.portal(ui, F.plugin_ip({"ip4_addr": row.ip4_addr or "none", "ip6_addr": row.ip6 or "none"}))
        out.append(PluginJail(listing.display(row, True), found.admin, found.doc))
    return out


def remote(host: Host, repository: str = plugin_source.OFFICIAL_INDEX, *,
           branch: str | None = None) -> plugin_source.IndexDir:
    """`list -PR`: the index, fetched again (a git URL) or read (a directory)."""
    return plugin_source.load_index(host, repository, branch=branch)


def is_plugin(host: Host, name: str) -> bool:
    """True for a plugin jail; False for anything else (a plain jail, a release name)."""
    try:
        ref = resolve(host, name, prefix=True)
        return config.load(host, ref).effective.get("type") in ("plugin", PLUGIN_TYPE)
    except IocjailError:
        return False
