"""Plugin manifests: the iocage schema, hostile URLs, host-acting properties."""

from __future__ import annotations

import json

import pytest

from iocjail.errors import UsageError
from iocjail.model import plugin_manifest as M

FP = "b0170035af3acc5f3f3ae1859dc717101b4e6c1d0a794ad554928ca0cbb2f438"
SYNCTHING = {  # freenas/iocage-ix-plugins syncthing.json, as published
    "name": "syncthing", "release": "12.3-RELEASE", "artifact": "https://github.com/freenas/iocage-plugin-syncthing.git",
    "official": False, "properties": {"nat": 1, "nat_forwards": "tcp(80:8384)"},
    "pkgs": ["syncthing", "ca_root_nss", "nginx"], "packagesite": "http://pkg.FreeBSD.org/${ABI}/latest",
    "fingerprints": {"iocage-plugins": [{"function": "sha256", "fingerprint": FP}]}, "revision": "0"}


def parse(data, *, local=False):
    return M.parse_manifest(json.dumps(data), "test.json", local=local)


def with_(**changes):
    data = json.loads(json.dumps(SYNCTHING))
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    return data


def test_a_published_manifest_parses_with_canonical_properties():
    m = parse(SYNCTHING)
    assert (m.name, m.release, m.pkgs, m.official, m.revision) == (
        "syncthing", "12.3-RELEASE", ("syncthing", "ca_root_nss", "nginx"), False, "0")
    assert m.properties == (("nat", "1"), ("nat_forwards", "tcp(80:8384)"))
    assert m.fingerprints == (("iocage-plugins", (M.Fingerprint("sha256", FP),)),)
    assert m.repos == ("iocage-plugins",)


@pytest.mark.parametrize("key", M.REQUIRED)
def test_each_missing_required_key_is_refused(key):
    with pytest.raises(M.InvalidManifest, match=f"missing required key\\(s\\): {key}$"):
        parse(with_(**{key: None}))


@pytest.mark.parametrize("key, value, why", [
    ("name", 5, "name: must be a string"),
    ("name", "../etc", "name: must be a string"),
    ("release", ["13.2-RELEASE"], "release: must be a release name"),
    ("pkgs", "nginx", "pkgs: must be a list of strings"),
    ("pkgs", ["nginx", 3, "-rf"], "pkgs: invalid entries 3, '-rf'"),
    ("packagesite", 7, "packagesite: must be a URL"),
    ("packagesite", 'http://x/"; url: "evil', "packagesite: holds characters"),
    ("packagesite", "http://x/$ABI", "packagesite: holds characters"),
    ("packagesite", "ftp://x/${ABI}", "packagesite: must start with"),
    ("fingerprints", [], "fingerprints: must be an object"),
    ("fingerprints", {"../../etc": [{"function": "sha256", "fingerprint": FP}]}, "repository name '../../etc'"),
    ("fingerprints", {"r": [{"function": "sha1", "fingerprint": FP}]}, "function 'sha1': pkg knows sha256 only"),
    ("fingerprints", {"r": [{"function": "sha256", "fingerprint": "abc"}]}, "64 hexadecimal digits"),
    ("fingerprints", {"r": "sha256"}, "fingerprints.r: must be a non-empty list"),
    ("artifact", 1, "artifact: must be a string"),
    ("properties", ["nat=1"], "properties: must be an object"),
    ("properties", {"nat": 1.5}, "properties.nat: must be a string, a number or true/false"),
    ("properties", {"priority": "5x"}, "properties.priority: invalid value"),
    ("properties", {"natt": "1"}, "properties.natt: unknown property"),
    ("official", "yes", "official: must be true or false"),
    ("revision", [1], "revision: must be a string or a number"),
    ("kmods", ["ok", "../x"], "kmods: invalid entries '../x' (plain kernel module names"),
    ("kmods", ["fusefs.ko", "/boot/kernel/x", "-v", "a b"], "kmods: invalid entries 'fusefs.ko', '/boot/kernel/x', "
                                                           "'-v', 'a b'"),
    ("kmods", "fusefs", "kmods: must be a list of strings"),
    ("devfs_ruleset", {"includes": []}, "devfs_ruleset: must be"),
    ("devfs_ruleset", {"paths": {"../../dev/mem": None}}, "invalid device pattern"),
    ("devfs_ruleset", {"paths": {"bpf*": "0666 unhide"}}, "bpf*: a mode is null, 'unhide', 'hide' or octal digits"),
    ("devfs_ruleset", {"paths": {"bpf*": "group"}}, "bpf*: a mode is null"),
    ("devfs_ruleset", {"paths": {"bpf*": 666}}, "bpf*: a mode is null"),
    ("devfs_ruleset", {"paths": {"mem": None}}, "mem would unhide the host's /dev/mem in the jail"),
    ("devfs_ruleset", {"paths": {"ada*": "0666"}}, "ada* would unhide the host's /dev/ada0"),
    ("devfs_ruleset", {"paths": {"*": "unhide"}}, "* would unhide the host's /dev/mem"),
    ("devfs_ruleset", {"paths": {}, "includes": ["$my_rules"]}, "devfs_ruleset.includes: '$my_rules': a ruleset"),
    ("devfs_ruleset", {"paths": {}, "includes": ["5; rm"]}, "devfs_ruleset.includes: invalid entries '5; rm'"),
])
def test_bad_types_and_values_are_refused_naming_the_field(key, value, why):
    with pytest.raises(M.InvalidManifest) as err:
        parse(with_(**{key: value}))
    assert why in str(err.value) and str(err.value).startswith("plugin manifest test.json: ")


def test_kmods_and_devfs_rules_of_a_manifest():
    m = parse(with_(kmods=["fusefs", "if_bridge", "nvidia-modeset"],
                    devfs_ruleset={"paths": {"bpf*": None, "dri/*": "0666", "mem": "hide"},
                                   "includes": ["$devfsrules_jail_vnet", "10"]}))
    assert m.kmods == ("fusefs", "if_bridge", "nvidia-modeset")
    assert m.devfs_ruleset == M.DevfsRules((("bpf*", None), ("dri/*", "0666"), ("mem", "hide")),
                                           ("$devfsrules_jail_vnet", "10"))  # hiding a host node is fine
    assert parse(SYNCTHING).kmods == () and parse(SYNCTHING).devfs_ruleset is None


def test_the_devfs_rules_of_a_kept_manifest_alone():
    kept = json.dumps(with_(devfs_ruleset={"paths": {"dri/*": None}}, artifact="ext::sh"))  # devfs only is read
    assert M.devfs_of(kept, "plex.json") == M.DevfsRules((("dri/*", None),))
    assert M.devfs_of(json.dumps(SYNCTHING), "s.json") is None
    with pytest.raises(M.InvalidManifest, match="^plugin manifest plex.json: devfs_ruleset.paths: kmem would"):
        M.devfs_of(json.dumps({"devfs_ruleset": {"paths": {"kmem": None}}}), "plex.json")
    with pytest.raises(M.InvalidManifest, match="not valid JSON"):
        M.devfs_of("{", "plex.json")


def test_every_problem_is_reported_at_once():
    with pytest.raises(M.InvalidManifest) as err:
        parse(with_(name=1, pkgs="x", artifact="ext::sh"))
    assert [p.split(":")[0] for p in str(err.value).split(": ", 1)[1].split("; ")] == ["name", "pkgs", "artifact"]


def test_not_json_or_not_an_object():
    with pytest.raises(M.InvalidManifest, match="not valid JSON"):
        M.parse_manifest("{", "x.json", local=True)
    with pytest.raises(M.InvalidManifest, match="must be a JSON object"):
        M.parse_manifest("[]", "x.json", local=True)


@pytest.mark.parametrize("url, why", [
    ("ext::sh -c touch% /tmp/pwned", "whitespace"),
    ("ext::sh", "transport::address"),
    ("fd::3", "transport::address"),
    ("--upload-pack=touch /tmp/x", "whitespace"),
    ("--upload-pack=/tmp/x", "command-line option"),
    ("-oProxyCommand=x", "command-line option"),
    ("ssh://-oProxyCommand=x/repo", "only https://"),
    ("ssh://git@github.com/x/y.git", "only https://"),
    ("git@github.com:x/y.git", "only https://"),
    ("/srv/repo", "only https://"),
    ("https://-oProxyCommand=x/repo", "not a valid host name"),
    ("https://user:pw@example.org/x.git", "credentials"),
    ("https://example.org:99999/x.git", "not a valid port"),
    ("https://exa mple.org/x.git", "whitespace"),
    ("https://example.org/x\n.git", "whitespace"),
    ("file:///srv/repo", "only accepted from a manifest read from this host"),
    ("", "empty URL"),
])
def test_hostile_artifact_urls_are_refused(url, why):
    with pytest.raises(M.UnsafeUrl, match=why):
        M.check_git_url(url, local_ok=False)
    with pytest.raises(M.InvalidManifest, match="artifact: refusing artifact"):
        parse(with_(artifact=url or "x"))


@pytest.mark.parametrize("url", ["https://github.com/freenas/iocage-plugin-syncthing.git", "http://192.0.2.1:8080/p",
                                 "git://example.org/plugin.git", "https://[2001:db8::1]/p.git"])
def test_ordinary_urls_are_accepted(url):
    assert M.check_git_url(url, local_ok=False) == url


def test_file_urls_only_for_local_manifests_and_only_absolute():
    assert M.check_git_url("file:///srv/plugin", local_ok=True) == "file:///srv/plugin"
    assert parse(with_(artifact="file:///srv/plugin"), local=True).artifact == "file:///srv/plugin"
    with pytest.raises(M.UnsafeUrl, match="absolute path"):
        M.check_git_url("file://otherhost/srv/plugin", local_ok=True)


def test_an_empty_artifact_means_none():
    assert parse(with_(artifact="")).artifact == ""


@pytest.mark.parametrize("key, value", [
    ("exec_prestart", "/bin/sh -c 'rm -rf /'"), ("exec_poststop", "/usr/bin/true"), ("jail_zfs", "1"),
    ("jail_zfs_dataset", "tank/secret"), ("resolver", "/etc/master.passwd"), ("vnet_interfaces", "em0"),
    ("devfs_ruleset", "0"), ("enforce_statfs", "0"), ("allow_mount", "1"), ("allow_mount_nullfs", "1"),
    ("jail_param_allow.read_msgbuf", "1"), ("type", "jail"), ("template", "1"), ("release", "14.0-RELEASE"),
])
def test_properties_that_act_on_the_host_are_refused(key, value):
    with pytest.raises(M.InvalidManifest, match=f"properties.{key}: acts on the host"):
        parse(with_(properties={key: value}))


def test_json_booleans_and_numbers_become_config_strings():
    m = parse(with_(properties={"boot": True, "vnet": False, "priority": 5, "allow_raw_sockets": "on"}))
    assert m.properties == (("boot", "1"), ("vnet", "0"), ("priority", "5"), ("allow_raw_sockets", "1"))


def test_jail_properties_are_defaults_then_manifest_then_user():
    m = parse(with_(properties={"vnet": 0, "priority": 20}))
    assert M.jail_props(m, [("priority", "30"), ("ip4_addr", "vnet0|192.0.2.5/24")]) == [
        ("vnet", "0"), ("boot", "1"), ("priority", "30"), ("ip4_addr", "vnet0|192.0.2.5/24")]


@pytest.mark.parametrize("cfg, needs", [
    ({}, True), ({"ip4_addr": "none", "ip6_addr": "none", "dhcp": "0", "nat": "0"}, True),
    ({"ip4_addr": "vnet0|192.0.2.5/24"}, False), ({"ip6_addr": "vnet0|2001:db8::5/64"}, False),
    ({"dhcp": "1"}, False), ({"nat": "on"}, False)])
def test_a_plugin_needs_an_address(cfg, needs):
    assert M.needs_address(cfg) is needs
