"""What a plugin install writes and shows, from a validated manifest and the jail's config. Pure.

* pkg's repository configuration, as iocage writes it (reference §4.2 step 5): the stock FreeBSD
  repository disabled, one `repos/REPO.conf` per fingerprint repository pointing at the
  manifest's packagesite, and its trusted keys under `fingerprints/REPO/trusted/` (one file per
  key: iocage's loop rewrote one file and kept only the last key);
* whether the packagesite is fetched over TLS, which needs the CA bundle in the jail first
  (iocage installs `ca_root_nss` before pointing pkg at the plugin's repository, §4.2 step 4);
* the address handed to post_install.sh as IOCAGE_PLUGIN_IP;
* the admin portal and documentation link from the artifact's ui.json, with `%%IP%%` replaced.
  Both are printed on the user's terminal, so they are refused unless they are one line of
  printable text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from iocjail.model.devfs import DevfsRules, path_rule
from iocjail.model.plugin_manifest import Manifest

PKG_DIR = "usr/local/etc/pkg"
FREEBSD_CONF = "FreeBSD: { enabled: no }\n"
CA_ROOT_PACKAGE = "ca_root_nss"  # the Mozilla CA bundle pkg(8) verifies an https packagesite with


def repo_files(manifest: Manifest) -> list[tuple[str, str]]:
    """(path inside the jail's root, content) of pkg's repository configuration."""
    files = [(f"{PKG_DIR}/repos/FreeBSD.conf", FREEBSD_CONF)]
    for repo, keys in manifest.fingerprints:
        files.append((f"{PKG_DIR}/repos/{repo}.conf",
                      f'{repo}: {{\n    url: "{manifest.packagesite}",\n    signature_type: "fingerprints",\n'
                      f'    fingerprints: "/{PKG_DIR}/fingerprints/{repo}",\n    enabled: true\n}}\n'))
        for number, key in enumerate(keys, start=1):
            name = repo if number == 1 else f"{repo}.{number}"
            files.append((f"{PKG_DIR}/fingerprints/{repo}/trusted/{name}",
                          f'function: "{key.function}"\nfingerprint: "{key.fingerprint}"\n'))
    return files


def needs_ca_root(manifest: Manifest) -> bool:
    """True when pkg fetches the packagesite over https (`https://`, `pkg+https://`)."""
    return manifest.packagesite.split("://", 1)[0].lower() in ("https", "pkg+https")


def describe_devfs(rules: DevfsRules) -> str:
    """The manifest's devfs rules in devfs(8)'s words, for the user to read before the install."""
    words = [" ".join(path_rule(pattern, mode)[1:]) for pattern, mode in rules.paths]
    words += [f"include {word}" for word in rules.includes]
    return ", ".join(words) or "none"


def plugin_ip(cfg: Mapping[str, str]) -> str:
    """The first configured address, without `iface|` and `/mask`: IPv4 first, as iocage does;
    "" for a DHCP jail (its address is only known once it runs)."""
    for key in ("ip4_addr", "ip6_addr"):
        value = cfg.get(key, "none")
        if value in ("none", ""):
            continue
        first = value.split(",")[0].strip()
        address = first.split("|", 1)[-1].split("/", 1)[0]
        if address and address.upper() != "DHCP" and address != "accept_rtadv":
            return address
    return ""


@dataclass(frozen=True)
class Portal:
    admin: str | None  # adminportal, %%IP%% replaced
    doc: str | None  # docurl


def _line(value: object) -> str | None:
    if not isinstance(value, str) or not value or len(value) > 1000:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 or 0x80 <= ord(ch) < 0xA0 for ch in value):
        return None  # an escape sequence must not reach the terminal
    return value


def portal(ui_json: str | bytes | None, ip: str) -> Portal:
    """The admin portal and doc URL of ui.json; missing or malformed parts are None."""
    if ui_json is None:
        return Portal(None, None)
    try:
        data = json.loads(ui_json)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return Portal(None, None)
    if not isinstance(data, dict):
        return Portal(None, None)
    admin = _line(data.get("adminportal"))
    if admin is not None:
        admin = ",".join(p.replace("%%IP%%", ip or "DHCP") for p in admin.split(","))
    return Portal(admin, _line(data.get("docurl")))


def manifest_copy_name(plugin: str) -> str:
    """iocage keeps the manifest a plugin jail was made from beside its config: `NAME.json`."""
    return f"{plugin}.json"
