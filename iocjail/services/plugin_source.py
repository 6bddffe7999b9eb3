"""Where a plugin comes from: its INDEX, its manifest and its artifact, all read and checked
before a plugin jail is made.

* The INDEX repository (`-g`, default iocage's) is a git URL, cloned into `IOCROOT/.plugin_index`
  (replaced whole, under a lock: a failed clone keeps the previous copy), or a local directory
  holding `INDEX`, read where it is.
* A manifest is `NAME` in that INDEX, or a local `FILE.json`. Only manifests read from this host
  (a file, a local directory, a `file://` index) may name a `file://` artifact.
* The artifact is cloned into a private staging directory and its `overlay/` checked
  (model/plugin_manifest.check_overlay) before anything is created; ui.json, post_install.sh and
  post_upgrade.sh are read there without following a symlink the repository planted.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from iocjail.errors import NotFound, UsageError
from iocjail.model import plugin_manifest as M, plugin_source as S
from iocjail.platform import git, safe_paths
from iocjail.site import config
from iocjail.site.host import Host

OFFICIAL_INDEX = "https://github.com/freenas/iocage-ix-plugins.git"
INDEX_DIR = ".plugin_index"
MAX_FILE = 1 << 20  # a manifest, INDEX or ui.json larger than this is no manifest


class PluginNotFound(NotFound):
    template = "plugin {!r} is not in the INDEX of {} (it lists: {})"


@dataclass(frozen=True)
class IndexDir:
    path: Path  # the directory holding INDEX
    index: S.Index
    repository: str  # as the user named it: URL or directory
    local: bool  # read from this host (directory or file://)


@dataclass(frozen=True)
class Source:
    manifest: M.Manifest
    text: bytes  # the manifest as read, kept beside the jail
    plugin: str  # INDEX key, or the manifest's name for a FILE.json
    repository: str  # plugin_repository: the index, or "none" for a FILE.json
    local: bool
    entry: S.IndexEntry | None = None


@dataclass(frozen=True)
class Artifact:
    path: Path  # the checked-out clone
    commit: str
    overlay: tuple[S.OverlayEntry, ...]
    ui_json: bytes | None
    post_install: bytes | None
    post_upgrade: bytes | None


def _read_small(path: Path, what: str) -> bytes:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise NotFound(f"{what} {path} not found") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{what} {path} is not a regular file")
    if st.st_size > MAX_FILE:
        raise UsageError(f"{what} {path} is larger than {MAX_FILE} bytes")
    return path.read_bytes()


def _read_in(directory: Path, name: str, what: str) -> bytes | None:
    """DIRECTORY/name (no symlink anywhere), None if missing."""
    data = safe_paths.read_file(directory, name)
    if data is not None and len(data) > MAX_FILE:
        raise UsageError(f"{what} {name} is larger than {MAX_FILE} bytes")
    return data


# -- the INDEX -------------------------------------------------------------------------------------

def is_local_dir(repository: str) -> bool:
    return "://" not in repository and os.path.isdir(repository)


def load_index(host: Host, repository: str = OFFICIAL_INDEX, *, branch: str | None = None) -> IndexDir:
    if is_local_dir(repository):
        path = Path(repository).resolve()
        text = _read_in(path, "INDEX", "plugin INDEX")
        if text is None:
            raise NotFound(f"{repository} holds no INDEX: not a plugin index")
        return IndexDir(path, S.parse_index(text, str(path / "INDEX")), str(path), True)
    M.check_git_url(repository, local_ok=True, what="plugin index")
    local = repository.lower().startswith("file://")
    path = host.path(INDEX_DIR)
    with config.lock(host, INDEX_DIR):
        fresh = host.path(f"{INDEX_DIR}.new-{secrets.token_hex(4)}")
        try:
            git.clone(repository, fresh, protocols=_protocols(local), branch=branch)
            text = _read_in(fresh, "INDEX", "plugin INDEX")
            if text is None:
                raise NotFound(f"{repository} holds no INDEX: not a plugin index")
            index = S.parse_index(text, f"{repository} INDEX")
            _swap(fresh, path)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
    return IndexDir(path, index, repository, local)


def _swap(fresh: Path, path: Path) -> None:
    """Put the new clone in place of the old one; a reader sees one or the other."""
    old = path.with_name(f"{INDEX_DIR}.old-{secrets.token_hex(4)}")
    if path.exists():
        os.rename(path, old)
    os.rename(fresh, path)
    shutil.rmtree(old, ignore_errors=True)


def _protocols(local: bool) -> tuple[str, ...]:
    return M.GIT_SCHEMES + (M.LOCAL_SCHEMES if local else ())


# -- the manifest ----------------------------------------------------------------------------------

def is_file_argument(plugin: str) -> bool:
    """`-P FILE.json` (or any path) names a local manifest; anything else an INDEX entry."""
    return plugin.endswith(".json") or "/" in plugin


def read_manifest(host: Host, plugin: str, *, repository: str = OFFICIAL_INDEX, branch: str | None = None) -> Source:
    if is_file_argument(plugin):
        path = Path(plugin)
        text = _read_small(path, "plugin manifest")
        manifest = M.parse_manifest(text, str(path), local=True)
        return Source(manifest, text, manifest.name, "none", True)
    if not M.is_plugin_name(plugin):
        raise UsageError(f"invalid plugin name {plugin!r}: give an INDEX name or a FILE.json")
    found = load_index(host, repository, branch=branch)
    entry = found.index.find(plugin)
    if entry is None:
        names = ", ".join(e.key for e in found.index.entries[:20]) or "nothing"
        skipped = [s for s in found.index.skipped if s.startswith(f"{plugin}: ")]
        if skipped:
            raise S.InvalidIndex(found.repository, skipped[0])
        raise PluginNotFound(plugin, found.repository, names)
    read = _read_in(found.path, entry.manifest, "plugin manifest")
    if read is None:
        raise NotFound(f"{found.repository}: {entry.manifest} (the manifest of {plugin}) is missing")
    manifest = M.parse_manifest(read, f"{plugin} ({entry.manifest})", local=found.local)
    return Source(manifest, read, plugin, found.repository, found.local, entry)


# -- the artifact ----------------------------------------------------------------------------------

@contextmanager
def staged_artifact(source: Source, *, branch: str | None = None) -> Iterator[Artifact | None]:
    """The artifact cloned and checked in a private directory, removed when the block ends."""
    url = source.manifest.artifact
    if not url:
        yield None
        return
    M.check_git_url(url, local_ok=source.local)  # validated with the manifest; said again where it is used
    staging = Path(tempfile.mkdtemp(prefix="iocjail-plugin-"))
    try:
        path = staging / "artifact"
        git.clone(url, path, protocols=_protocols(source.local), branch=branch or source.manifest.branch)
        yield Artifact(path, git.head(path), tuple(S.check_overlay(scan_overlay(path))),
                       _read_in(path, "ui.json", "ui.json"), _read_in(path, "post_install.sh", "post_install.sh"),
                       _read_in(path, "post_upgrade.sh", "post_upgrade.sh"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def scan_overlay(artifact: Path) -> list[S.OverlayEntry]:
    """Every entry of ARTIFACT/overlay, parents before their contents, links not followed."""
    top = artifact / "overlay"
    try:
        st = os.lstat(top)
    except FileNotFoundError:
        return []
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError("plugin overlay refused: the artifact's overlay is not a directory (a symlink?)")
    out = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            full = Path(dirpath, name)
            rel = full.relative_to(top).as_posix()
            mode = os.lstat(full).st_mode
            if stat.S_ISLNK(mode):
                out.append(S.OverlayEntry(rel, "symlink", os.readlink(full)))
            elif stat.S_ISDIR(mode):
                out.append(S.OverlayEntry(rel, "dir"))
            elif stat.S_ISREG(mode):
                out.append(S.OverlayEntry(rel, "file"))
            else:
                out.append(S.OverlayEntry(rel, "other"))
    return sorted(out, key=lambda e: e.path.split("/"))
