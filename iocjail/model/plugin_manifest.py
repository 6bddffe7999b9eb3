"""iocage plugin manifests (reference §4.2), validated before anything is made. Pure.

A manifest comes from someone else's repository, and every field ends up somewhere that matters:
`name` names a jail and a dataset, `packagesite` and the fingerprint repository names are written
into pkg's UCL configuration and file names, `artifact` is handed to git, `properties` become the
jail's config. So each field is held to what its destination accepts, and anything else is refused
with the manifest's name and the field:

* the iocage schema: `name release pkgs packagesite fingerprints artifact` required, with their
  JSON types; `properties devfs_ruleset kmods official revision branch plugin_schema` optional;
  other keys are ignored, as iocage's draft-07 schema does;
* artifact URLs: `https://`, `http://`, `git://`, and `file://` only for a manifest read from this
  host (a remote index must not make the host clone its own repositories into a jail). Nothing
  else reaches git: no `ext::`/`fd::` transports (they run commands), no scp-like `host:path` or
  `ssh://` (a host named `-oProxyCommand=…` is option injection), no leading `-`, no credentials,
  no whitespace or control characters;
* properties: every key and value through the property registry, and none that acts on the host
  (hooks run on the host, delegated datasets, host files copied in, host NICs, device rules):
  a user who wants those gives them on the command line;
* `kmods`: plain kernel module names (letters, digits, `_`, `-`), which reach `kldload -n` on a
  FreeBSD host: no path, no `.ko` file name, nothing starting with `-`;
* `devfs_ruleset`: device patterns relative to /dev with a mode (null, `unhide`, `hide` or octal
  digits), none that could unhide a node giving the jail the host (model/devfs.host_node), and
  includes that name a ruleset (a number or a name of /etc/defaults/devfs.rules).

The repository's other documents, its INDEX and the artifact's overlay tree, are
model/plugin_source.py's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from iocjail.errors import UsageError
from iocjail.model import devfs as D
from iocjail.model import properties
from iocjail.model.devfs import DevfsRules

REQUIRED = ("name", "release", "pkgs", "packagesite", "fingerprints", "artifact")
GIT_SCHEMES = ("https", "http", "git")
LOCAL_SCHEMES = ("file",)
PACKAGESITE_SCHEMES = ("https", "http", "pkg+https", "pkg+http", "file")
DEFAULT_PROPS = (("vnet", "1"), ("boot", "1"))  # iocage's plugin defaults, under the manifest's
MAX_URL = 2048

# Properties a manifest may not set: each acts on the host, not only inside the jail.
HOST_PROPS = frozenset({
    "exec_prestart", "exec_poststart", "exec_prestop", "exec_poststop", "exec_created",  # run on the host
    "jail_zfs", "jail_zfs_dataset", "jail_zfs_mountpoint",  # hand pool datasets to the jail
    "resolver",  # a host path is copied into the jail
    "vnet_interfaces",  # moves host NICs into the jail
    "devfs_ruleset", "enforce_statfs", "children_max", "allow_mount", "allow_vmm",  # widen what it reaches
    "template", "type", "release", "cloned_release", "host_hostuuid",
})

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_RELEASE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")
_PKG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+@/-]{0,199}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_HEX64_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_KMOD_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")  # a module name: no path, no .ko
_DEVICE_RE = re.compile(r"^[A-Za-z0-9_*?.\[\]/-]{1,64}$")
_WORD_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+/-]{0,99}$")
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})|\[[0-9A-Fa-f:.]+\])$")
# A packagesite is written inside a double-quoted UCL string: URL characters only (no quote, no
# backslash, no space), and `$` only as pkg's `${VARIABLE}` (`${ABI}`).
_PACKAGESITE_RE = re.compile(r"^(?:[A-Za-z0-9._~:/?#@!&()*+,;=%-]|\$\{[A-Z_]{1,32}\})+$")


class InvalidManifest(UsageError):
    """``args`` = (where, problems); every problem of the manifest at once."""

    template = "plugin manifest {}: {}"


class UnsafeUrl(UsageError):
    template = "refusing {} {!r}: {}"


@dataclass(frozen=True)
class Fingerprint:
    function: str
    fingerprint: str


@dataclass(frozen=True)
class Manifest:
    name: str
    release: str
    pkgs: tuple[str, ...]
    packagesite: str
    fingerprints: tuple[tuple[str, tuple[Fingerprint, ...]], ...]  # (repo name, its keys)
    artifact: str  # "" when the plugin has none
    properties: tuple[tuple[str, str], ...] = ()  # canonical strings, in the manifest's order
    official: bool = False
    revision: str = "0"
    kmods: tuple[str, ...] = ()
    devfs_ruleset: DevfsRules | None = None
    branch: str | None = None

    @property
    def repos(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fingerprints)


# -- URLs ------------------------------------------------------------------------------------------

def plain_text(value: str) -> bool:
    return not any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value)


def check_git_url(url: str, *, local_ok: bool, what: str = "artifact") -> str:
    """`url` if git may be given it (see the module docstring); raises UnsafeUrl otherwise."""
    if not url or len(url) > MAX_URL:
        raise UnsafeUrl(what, url[:80], f"an empty URL or one longer than {MAX_URL} characters")
    if not plain_text(url):
        raise UnsafeUrl(what, url, "it contains whitespace or control characters")
    if url.startswith("-"):
        raise UnsafeUrl(what, url, "it would read as a command-line option")
    if "::" in url.split("/", 1)[0] or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*::", url):
        raise UnsafeUrl(what, url, "git's transport::address form (ext::, fd::) runs commands")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    allowed = GIT_SCHEMES + (LOCAL_SCHEMES if local_ok else ())
    if "://" not in url or scheme not in GIT_SCHEMES + LOCAL_SCHEMES:
        raise UnsafeUrl(what, url, f"only {', '.join(s + '://' for s in allowed)} URLs are accepted")
    if scheme not in allowed:
        raise UnsafeUrl(what, url, "a file:// URL is only accepted from a manifest read from this host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl(what, url, "credentials in the URL")
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise UnsafeUrl(what, url, "a file:// URL names an absolute path on this host (file:///path)")
        return url
    host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    if not host or not _HOST_RE.match(host) or host.startswith("-"):
        raise UnsafeUrl(what, url, "not a valid host name")
    try:
        parts.port  # noqa: B018  # raises ValueError for a port that is not a number in range
    except ValueError:
        raise UnsafeUrl(what, url, "not a valid port") from None
    return url


def check_packagesite(url: str) -> str:
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise ValueError("must be a URL")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in PACKAGESITE_SCHEMES:
        raise ValueError(f"must start with {', '.join(s + '://' for s in PACKAGESITE_SCHEMES)}")
    if not _PACKAGESITE_RE.match(url):
        raise ValueError("holds characters a pkg repository URL cannot (quotes, spaces, backslashes, a bare $)")
    return url


# -- manifests -------------------------------------------------------------------------------------

class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, why: str) -> None:
        self.items.append(f"{key}: {why}")


def _strings(value: Any, pattern: re.Pattern[str], key: str, problems: _Problems, hint: str = "") -> tuple[str, ...]:
    if not isinstance(value, list):
        problems.add(key, "must be a list of strings")
        return ()
    bad = [v for v in value if not isinstance(v, str) or not pattern.match(v)]
    if bad:
        problems.add(key, f"invalid entries {', '.join(repr(v) for v in bad[:5])}" + (f" ({hint})" if hint else ""))
    return tuple(dict.fromkeys(v for v in value if isinstance(v, str)))


def json_object(text: str | bytes, where: str, error: type[UsageError], not_object: str) -> dict[str, Any]:
    """`text` parsed as a JSON object, or `error(where, why)`."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise error(where, f"not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise error(where, not_object)
    return data


def parse_manifest(text: str | bytes, where: str, *, local: bool) -> Manifest:
    """The manifest in `text` (JSON), every problem reported at once; `local`: read from this host."""
    data = json_object(text, where, InvalidManifest, "must be a JSON object")
    return validate_manifest(data, where, local=local)


def validate_manifest(data: Mapping[str, Any], where: str, *, local: bool) -> Manifest:
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise InvalidManifest(where, f"missing required key(s): {', '.join(missing)}")
    problems = _Problems()
    name, release, packagesite, artifact = (data["name"], data["release"], data["packagesite"], data["artifact"])
    if not isinstance(name, str) or not _NAME_RE.match(name):
        problems.add("name", "must be a string of letters, digits, '.', '_' and '-' (at most 64)")
    if not isinstance(release, str) or not _RELEASE_RE.match(release):
        problems.add("release", "must be a release name such as 13.2-RELEASE")
    pkgs = _strings(data["pkgs"], _PKG_RE, "pkgs", problems)
    try:
        check_packagesite(packagesite)
    except ValueError as err:
        problems.add("packagesite", str(err))
    fingerprints = _fingerprints(data["fingerprints"], problems)
    if not isinstance(artifact, str):
        problems.add("artifact", "must be a string (a git URL, or empty)")
    elif artifact:
        try:
            check_git_url(artifact, local_ok=local)
        except UnsafeUrl as err:
            problems.add("artifact", str(err))
    props = _properties(data.get("properties", {}), problems)
    kmods = _strings(data.get("kmods", []), _KMOD_RE, "kmods", problems,
                     "plain kernel module names: letters, digits, '_' and '-'")
    devfs = _devfs(data["devfs_ruleset"], problems) if "devfs_ruleset" in data else None
    official = data.get("official", False)
    if not isinstance(official, bool):
        problems.add("official", "must be true or false")
    revision = data.get("revision", "0")
    if isinstance(revision, bool) or not isinstance(revision, (str, int)) or not plain_text(str(revision)):
        problems.add("revision", "must be a string or a number")
    branch = data.get("branch")
    if branch is not None and (not isinstance(branch, str) or not _WORD_RE.match(branch)):
        problems.add("branch", "must be a git branch name")
    for key in ("plugin_schema",):
        if key in data and not isinstance(data[key], (str, int)):
            problems.add(key, "must be a string")
    if problems.items:
        raise InvalidManifest(where, "; ".join(problems.items))
    return Manifest(name=name, release=release, pkgs=pkgs, packagesite=packagesite, fingerprints=fingerprints,
                    artifact=artifact, properties=props, official=bool(official), revision=str(revision),
                    kmods=kmods, devfs_ruleset=devfs, branch=branch)


def _fingerprints(value: Any, problems: _Problems) -> tuple[tuple[str, tuple[Fingerprint, ...]], ...]:
    if not isinstance(value, dict) or not value:
        problems.add("fingerprints", 'must be an object {"repo": [{"function": "sha256", "fingerprint": HEX}]}')
        return ()
    out = []
    for repo, keys in value.items():
        if not _REPO_RE.match(repo):
            problems.add("fingerprints", f"repository name {repo!r}: letters, digits, '_' and '-' only")
            continue
        if not isinstance(keys, list) or not keys:
            problems.add(f"fingerprints.{repo}", "must be a non-empty list")
            continue
        found = []
        for item in keys:
            if not isinstance(item, dict) or not isinstance(item.get("function"), str) \
                    or not isinstance(item.get("fingerprint"), str):
                problems.add(f"fingerprints.{repo}", 'each entry is {"function": ..., "fingerprint": ...}')
            elif item["function"] != "sha256":
                problems.add(f"fingerprints.{repo}", f"function {item['function']!r}: pkg knows sha256 only")
            elif not _HEX64_RE.match(item["fingerprint"]):
                problems.add(f"fingerprints.{repo}", "a fingerprint is 64 hexadecimal digits")
            else:
                found.append(Fingerprint("sha256", item["fingerprint"].lower()))
        out.append((repo, tuple(found)))
    return tuple(out)


def prop_string(value: Any) -> str:
    """A manifest property value as config.json stores it: JSON true/false are 1/0."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, str)):
        return str(value)
    raise ValueError("must be a string, a number or true/false")


def _properties(value: Any, problems: _Problems) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        problems.add("properties", "must be an object of property: value")
        return ()
    out = []
    for key, raw in value.items():
        if key in HOST_PROPS or key.startswith(("jail_param_", "allow_mount")):
            problems.add(f"properties.{key}", "acts on the host: a manifest may not set it (give it yourself "
                                              "on the command line)")
            continue
        try:
            out.append((key, properties.validate(key, prop_string(raw))))
        except ValueError as err:
            problems.add(f"properties.{key}", str(err))
        except UsageError as err:
            problems.add(f"properties.{key}", str(err))
    return tuple(out)


def _devfs(value: Any, problems: _Problems) -> DevfsRules | None:
    if not isinstance(value, dict) or not isinstance(value.get("paths"), dict):
        problems.add("devfs_ruleset", 'must be {"paths": {"DEVICE": null or "mode"}, "includes": [...]}')
        return None
    paths = []
    for device, mode in value["paths"].items():
        if not _DEVICE_RE.match(device) or ".." in device.split("/") or device.startswith("/"):
            problems.add("devfs_ruleset.paths", f"invalid device pattern {device!r}")
        elif not D.valid_mode(mode):
            problems.add("devfs_ruleset.paths", f"{device}: a mode is null, 'unhide', 'hide' or octal digits")
        elif mode != "hide" and D.host_node(device) is not None:
            problems.add("devfs_ruleset.paths", f"{device} would unhide the host's /dev/{D.host_node(device)} in "
                                                "the jail: a manifest may not (add such a rule yourself)")
        else:
            paths.append((device, mode))
    includes = _strings(value.get("includes", []), re.compile(r"^\$?[A-Za-z0-9_]{1,64}$"), "devfs_ruleset.includes",
                        problems)
    unknown = [word for word in includes if D.include_number(word) is None]
    if unknown:
        problems.add("devfs_ruleset.includes", f"{', '.join(repr(w) for w in unknown[:5])}: a ruleset number or a "
                                               f"name of /etc/defaults/devfs.rules ({', '.join(D.STOCK_RULESETS)})")
    return DevfsRules(tuple(paths), includes)


def devfs_of(text: str | bytes, where: str) -> DevfsRules | None:
    """Only the `devfs_ruleset` of a kept manifest (jails/NAME/PLUGIN.json), checked as at
    install: what a start of the plugin jail adds to its generated ruleset, as iocage reads it."""
    data = json_object(text, where, InvalidManifest, "must be a JSON object")
    if "devfs_ruleset" not in data:
        return None
    problems = _Problems()
    rules = _devfs(data["devfs_ruleset"], problems)
    if problems.items:
        raise InvalidManifest(where, "; ".join(problems.items))
    return rules


def is_plugin_name(name: str) -> bool:
    return bool(_NAME_RE.match(name))


# -- properties of the new jail --------------------------------------------------------------------

def jail_props(manifest: Manifest, user: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """iocage's order: the plugin defaults (vnet, boot), the manifest's properties over them, the
    user's over both."""
    merged: dict[str, str] = dict(DEFAULT_PROPS)
    merged.update(manifest.properties)
    merged.update(user)
    return list(merged.items())


def needs_address(cfg: Mapping[str, str]) -> bool:
    """True when a plugin jail would have no address: iocage refuses to fetch a plugin then."""
    return all(cfg.get(k, "none") in ("none", "") for k in ("ip4_addr", "ip6_addr")) \
        and not any(cfg.get(k, "0") in ("1", "on", "yes", "true") for k in ("dhcp", "nat"))
