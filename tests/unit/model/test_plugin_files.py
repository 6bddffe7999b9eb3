"""What a plugin install writes into the jail and shows: pkg repositories, IP, admin portal."""

from __future__ import annotations

import json

import pytest

from iocjail.model import plugin_files as F
from iocjail.model import plugin_manifest as M

A = "a" * 64
B = "B" * 64
BASE = {"name": "web", "release": "13.2-RELEASE", "pkgs": ["nginx"], "artifact": "",
        "packagesite": "https://pkg.example.org/${ABI}/latest",
        "fingerprints": {"iocage-plugins": [{"function": "sha256", "fingerprint": A}]}}


def manifest(**fingerprints):
    return M.validate_manifest({
        "name": "web", "release": "13.2-RELEASE", "pkgs": ["nginx"], "artifact": "",
        "packagesite": "https://pkg.example.org/${ABI}/latest",
        "fingerprints": fingerprints or {"iocage-plugins": [{"function": "sha256", "fingerprint": A}]}},
        "web.json", local=False)


def test_repo_files_disable_freebsd_and_trust_the_manifest_keys():
    files = dict(F.repo_files(manifest()))
    assert files == {
        "usr/local/etc/pkg/repos/FreeBSD.conf": "FreeBSD: { enabled: no }\n",
        "usr/local/etc/pkg/repos/iocage-plugins.conf": (
            'iocage-plugins: {\n    url: "https://pkg.example.org/${ABI}/latest",\n'
            '    signature_type: "fingerprints",\n'
            '    fingerprints: "/usr/local/etc/pkg/fingerprints/iocage-plugins",\n    enabled: true\n}\n'),
        "usr/local/etc/pkg/fingerprints/iocage-plugins/trusted/iocage-plugins":
            f'function: "sha256"\nfingerprint: "{A}"\n',
    }


def test_every_key_of_every_repository_is_kept():
    m = manifest(one=[{"function": "sha256", "fingerprint": A}, {"function": "sha256", "fingerprint": B}],
                 two=[{"function": "sha256", "fingerprint": B}])
    paths = [p for p, _ in F.repo_files(m)]
    assert paths == ["usr/local/etc/pkg/repos/FreeBSD.conf", "usr/local/etc/pkg/repos/one.conf",
                     "usr/local/etc/pkg/fingerprints/one/trusted/one", "usr/local/etc/pkg/fingerprints/one/trusted/one.2",
                     "usr/local/etc/pkg/repos/two.conf", "usr/local/etc/pkg/fingerprints/two/trusted/two"]
    assert dict(F.repo_files(m))["usr/local/etc/pkg/fingerprints/one/trusted/one.2"].endswith(f'"{B.lower()}"\n')


@pytest.mark.parametrize("cfg, ip", [
    ({"ip4_addr": "vnet0|192.0.2.5/24,vnet0|192.0.2.6/24"}, "192.0.2.5"),
    ({"ip4_addr": "192.0.2.7"}, "192.0.2.7"),
    ({"ip4_addr": "none", "ip6_addr": "vnet0|2001:db8::5/64"}, "2001:db8::5"),
    ({"ip4_addr": "vnet0|DHCP"}, ""),
    ({}, ""),
])
def test_the_plugin_ip_is_the_first_address(cfg, ip):
    assert F.plugin_ip(cfg) == ip


def test_the_portal_replaces_ip_and_keeps_the_doc_url():
    ui = json.dumps({"adminportal": "http://%%IP%%:8384/", "docurl": "https://docs.example.org/"})
    assert F.portal(ui, "192.0.2.5") == F.Portal("http://192.0.2.5:8384/", "https://docs.example.org/")
    assert F.portal(json.dumps({"adminportal": "http://%%IP%%/,https://%%IP%%/"}), "").admin == "http://DHCP/,https://DHCP/"


@pytest.mark.parametrize("ui", [None, "{", "[]", json.dumps({"adminportal": 5}),
                                json.dumps({"adminportal": "http://x/\x1b[2J"}), json.dumps({"docurl": "a\nb"})])
def test_a_missing_or_hostile_ui_json_shows_nothing(ui):
    assert F.portal(ui, "192.0.2.5") == F.Portal(None, None)


@pytest.mark.parametrize("site, secure", [("https://pkg.example.org/${ABI}/latest", True),
                                          ("pkg+https://pkg.example.org/${ABI}", True),
                                          ("HTTPS://pkg.example.org/x", True),
                                          ("http://pkg.FreeBSD.org/${ABI}/latest", False),
                                          ("pkg+http://pkg.example.org/x", False), ("file:///srv/pkg", False)])
def test_ca_root_nss_for_a_packagesite_fetched_over_tls(site, secure):
    m = M.validate_manifest({**BASE, "packagesite": site}, "web.json", local=True)
    assert F.needs_ca_root(m) is secure
    assert F.CA_ROOT_PACKAGE == "ca_root_nss"


def test_devfs_rules_are_shown_in_devfs_words():
    rules = M.DevfsRules((("dri/*", None), ("bpf*", "0660"), ("cuaU*", "unhide"), ("led/*", "hide")),
                         ("$devfsrules_jail_vnet",))
    assert F.describe_devfs(rules) == ("dri/* unhide, bpf* mode 0660 unhide, cuaU* unhide, led/* hide, "
                                       "include $devfsrules_jail_vnet")
    assert F.describe_devfs(M.DevfsRules(())) == "none"
