"""Plugins end to end on real Linux jails: a local manifest and a local git artifact installed with
`fetch -P`, the overlay and post_install.sh checked inside the jail; invalid manifests refused
with nothing made; a failure at any step destroys the half-made jail and leaves the host as it was."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from iocjail.errors import CommandFailed
from iocjail.services import plugins
from iocjail.site.host import Host
from tests.e2e.conftest import REL, assert_same_host, host_state
from tests.support import plugins as P
from tests.support.capabilities import require
from tests.support.cli import iocjail, names

BRIDGE = f"ijp{os.getpid() % 100000}"
IP = "10.241.0.2"
NET = (f"interfaces=vnet0:{BRIDGE}", f"ip4_addr=vnet0|{IP}/24", "defaultrouter=none",
       f"pkg_command={P.PKG_COMMAND}")


@pytest.fixture
def plugin(jails, tmp_path):
    """The release with a package manager in miniature, an artifact repository and its manifest."""
    require(shutil.which("git") is not None, "needs git (scripts/host-setup.sh installs it)")
    P.install_fake_pkg(jails.iocroot / "releases" / REL / "root")
    repo = P.artifact(tmp_path / "artifact")
    # https and devfs rules: on Linux no ca_root_nss is installed and the devfs rules are only noted
    data = P.manifest(f"file://{repo}", packagesite="https://pkg.example.org/${ABI}/latest",
                      devfs_ruleset={"paths": {"bpf*": None}})
    return jails, repo, P.write_manifest(tmp_path / "hello.json", data)


def pool_state(zpool) -> tuple[set[str], list[str]]:
    """Every dataset and snapshot of the pool, and the jails directory."""
    jails_dir = Path(zpool.mountpoint) / "iocage" / "jails"
    return names(zpool.name), sorted(os.listdir(jails_dir)) if jails_dir.is_dir() else []


def in_jail(name: str, command: str) -> str:
    result = iocjail("exec", name, command)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_plugin_installs_end_to_end_from_a_local_manifest_and_git_artifact(plugin, zpool):
    jails, repo, manifest = plugin
    before = host_state(zpool.name, zpool.mountpoint)
    result = iocjail("fetch", "-P", str(manifest), *NET)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:8] == ["Plugin: hello", "  Official Plugin: False", f"  Using RELEASE: {REL}",
                         f"  Post-install Artifact: file://{repo}",
                         f"  Artifact commit: {P.git(repo, 'rev-parse', 'HEAD').strip()}",
                         "  These pkgs will be installed:", "    - www/hello", "    - hello-data"]
    assert lines[-5:] == ["hello: the manifest's devfs_ruleset does not apply on Linux: a jail's /dev there is a "
                          "fixed minimal tmpfs (null, zero, full, random, urandom, tty, its own devpts)",
                          "hello successfully installed!", "Admin Portal:", f"http://{IP}:8080/",
                          "Documentation: https://example.org/hello"]

    # config: the plugin's type and origin, the manifest's property under the user's
    assert iocjail("get", "type", "hello").output == "pluginv2\n"
    assert iocjail("get", "plugin_name", "hello").output == "hello\n"
    assert iocjail("get", "priority", "hello").output == "7\n"
    assert iocjail("get", "boot", "hello").output == "1\n"
    assert iocjail("get", "state", "hello").output == "up\n"  # left running, as iocage leaves it

    # inside the jail: packages, overlay (file, executable, link), pkg repositories, post_install
    assert in_jail("hello", "ls /var/db/fake-pkg").split() == ["hello-data", "www_hello"]  # no ca_root_nss
    assert in_jail("hello", "cat /usr/local/etc/hello.conf") == "greeting=hello\n"
    assert in_jail("hello", "/usr/local/bin/hello") == "hello from the overlay\n"
    assert in_jail("hello", "readlink /usr/local/share/hello/conf; cat /usr/local/share/hello/conf") == \
        "../../etc/hello.conf\ngreeting=hello\n"
    assert in_jail("hello", "cat /usr/local/etc/pkg/repos/FreeBSD.conf") == "FreeBSD: { enabled: no }\n"
    assert 'url: "https://pkg.example.org/${ABI}/latest"' in in_jail(
        "hello", "cat /usr/local/etc/pkg/repos/iocage-plugins.conf")
    assert P.FINGERPRINT in in_jail("hello", "cat /usr/local/etc/pkg/fingerprints/iocage-plugins/trusted/iocage-plugins")
    assert in_jail("hello", "cat /root/post_install.done").splitlines() == [
        f"ip={IP}", "hostname=hello", "conf=greeting=hello", "pkgs=hello-data www_hello "]

    # beside the root: the artifact clone and the manifest, as iocage keeps them
    path = jails.jail_path("hello")
    assert json.loads((path / "plugin" / "ui.json").read_text())["adminportal"] == "http://%%IP%%:8080/"
    assert json.loads((path / "hello.json").read_text()) == json.loads(manifest.read_text())

    listed = iocjail("list", "-P", "-H")
    assert listed.exit_code == 0, listed.output
    fields = listed.output.rstrip("\n").split("\t")
    assert fields[1:] == ["hello", "on", "up", "pluginv2", "13.2-RELEASE-p4", f"vnet0|{IP}/24", "-", "-",
                          f"http://{IP}:8080/", "https://example.org/hello"]

    assert iocjail("destroy", "-f", "hello").exit_code == 0
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), bridges=(BRIDGE,))


def test_an_index_directory_and_a_git_index_are_listed_and_installed_from(plugin, zpool, tmp_path):
    jails, repo, manifest = plugin
    data = json.loads(manifest.read_text())
    index = P.index_dir(tmp_path / "index", {"hello": data, "other": {**data, "name": "other"}}, commit=True)
    for source in (str(index), f"file://{index}"):
        listed = iocjail("list", "-PR", "-H", "-g", source)
        assert listed.exit_code == 0, listed.output
        assert listed.output.splitlines() == ["Hello\tThe hello plugin\thello", "Other\tThe other plugin\tother"]
    assert (jails.iocroot / ".plugin_index" / "INDEX").is_file()  # the git index is cached, as iocage does
    result = iocjail("fetch", "-P", "hello", "-g", f"file://{index}", "-n", "web", *NET)
    assert result.exit_code == 0, result.output
    assert iocjail("get", "plugin_repository", "web").output == f"file://{index}\n"
    assert in_jail("web", "cat /root/post_install.done").splitlines()[1] == "hostname=web"
    missing = iocjail("fetch", "-P", "nosuch", "-g", str(index), *NET)
    assert missing.exit_code == 3 and "'nosuch' is not in the INDEX" in missing.output


# -- refused before anything is made --------------------------------------------------------------

def _hostile(tmp_path: Path, repo: Path) -> dict[str, tuple[dict, str]]:
    marker = tmp_path / "pwned"
    return {
        "missing keys": (P.manifest(f"file://{repo}", fingerprints=None, pkgs=None),
                         "missing required key(s): pkgs, fingerprints"),
        "bad types": (P.manifest(f"file://{repo}", pkgs="www/hello", official="yes", properties=[1]),
                      "pkgs: must be a list of strings; properties: must be an object"),
        "ext transport": (P.manifest(f"ext::sh -c touch% {marker}"), "refusing artifact"),
        "ext without spaces": (P.manifest("ext::/bin/true"), "transport::address"),
        "upload-pack injection": (P.manifest(f"--upload-pack=touch {marker}"), "refusing artifact"),
        "option as url": (P.manifest("--upload-pack=/tmp/x"), "command-line option"),
        "ssh proxy command": (P.manifest(f"ssh://-oProxyCommand=touch%20{marker}/x"), "only https://"),
        "host hook": (P.manifest(f"file://{repo}", properties={"exec_prestart": f"/usr/bin/touch {marker}"}),
                      "properties.exec_prestart: acts on the host"),
        "host file": (P.manifest(f"file://{repo}", properties={"resolver": "/etc/shadow"}),
                      "properties.resolver: acts on the host"),
    }


@pytest.mark.parametrize("case", ["missing keys", "bad types", "ext transport", "ext without spaces",
                                  "upload-pack injection", "option as url", "ssh proxy command", "host hook",
                                  "host file"])
def test_invalid_manifests_are_refused_with_nothing_made(plugin, zpool, tmp_path, case):
    jails, repo, _ = plugin
    data, why = _hostile(tmp_path, repo)[case]
    path = P.write_manifest(tmp_path / "bad.json", data)
    before = pool_state(zpool)
    result = iocjail("fetch", "-P", str(path), *NET)
    assert result.exit_code == 2, result.output
    assert why in result.output and result.output.startswith("iocjail: ")
    assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output
    assert pool_state(zpool) == before
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("links, why", [
    ({"overlay/etc/passwd-link": "../../../../../../etc/passwd"}, "etc/passwd-link -> ../../../../../../etc/passwd"),
    ({"overlay/etc/shadow": "/etc/shadow"}, "etc/shadow -> /etc/shadow"),
    ({"overlay/usr/escape": "../.."}, "usr/escape -> ../.."),
])
def test_an_overlay_leaving_the_root_is_refused_with_nothing_made(plugin, zpool, tmp_path, links, why):
    jails, _, _ = plugin
    repo = P.artifact(tmp_path / "evil", links=links)
    path = P.write_manifest(tmp_path / "evil.json", P.manifest(f"file://{repo}"))
    before = pool_state(zpool)
    result = iocjail("fetch", "-P", str(path), *NET)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("iocjail: plugin overlay refused: ") and why in result.output
    assert pool_state(zpool) == before


def test_a_file_artifact_from_a_remote_index_is_refused(plugin, zpool, tmp_path):
    """An index fetched over git from elsewhere must not make the host clone its own repositories
    into a jail: its manifests get no file:// (a file:// index is local, so http stands for remote here)."""
    from iocjail.model import plugin_manifest as M

    with pytest.raises(M.InvalidManifest, match="only accepted from a manifest read from this host"):
        M.parse_manifest(json.dumps(P.manifest(f"file://{plugin[1]}")), "hello (remote INDEX)", local=False)


def test_no_address_or_no_package_manager_is_refused_with_nothing_made(plugin, zpool):
    _, _, manifest = plugin
    before = pool_state(zpool)
    result = iocjail("fetch", "-P", str(manifest), f"pkg_command={P.PKG_COMMAND}")
    assert result.exit_code == 2 and "needs an address" in result.output
    result = iocjail("fetch", "-P", str(manifest), *NET[:3])
    assert result.exit_code == 2 and "a Linux jail has no pkg(8): give pkg_command=COMMAND" in result.output
    assert pool_state(zpool) == before


# -- a failure at any step destroys the half-made jail ------------------------------------------

class FailAt:
    """A reporter that makes the install fail when it reaches `step`."""

    def __init__(self, step: str) -> None:
        self.step_name, self.seen = step, []

    def step(self, name: str, text: str) -> None:
        self.seen.append(name)
        if name == self.step_name:
            raise CommandFailed(["injected"], 1, f"injected failure at {name}")


@pytest.mark.parametrize("step", [s for s in plugins.STEPS if s not in ("create", *plugins.FREEBSD_ONLY)])
def test_a_failure_at_any_step_destroys_the_half_made_jail(plugin, zpool, step):
    _, _, manifest = plugin
    before, before_pool = host_state(zpool.name, zpool.mountpoint), pool_state(zpool)
    reporter = FailAt(step)
    host = Host.from_env()
    with plugins.prepare(host, str(manifest), props=NET) as ready, \
            pytest.raises(plugins.PluginFailed) as err:
        plugins.install(host, ready, reporter)
    assert reporter.seen[-1] == step and "create" in reporter.seen
    assert str(err.value) == (f"plugin hello: {step} failed: injected: injected failure at {step}; "
                              "the half-made jail hello was destroyed")
    assert pool_state(zpool) == before_pool
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), bridges=(BRIDGE,))
    assert not os.path.exists(f"/sys/class/net/{BRIDGE}")


@pytest.mark.parametrize("change, why", [
    ({"pkgs": ["www/hello", "broken-pkg"]}, "packages failed: packages not installed: broken-pkg"),
    ({"post_install": "#!/bin/sh\necho 'cannot configure' >&2\nexit 3\n"},
     "post_install failed: post_install.sh exited 3: cannot configure"),
])
def test_real_failures_destroy_the_half_made_jail(plugin, zpool, tmp_path, change, why):
    _, _, _ = plugin
    repo = P.artifact(tmp_path / "art", post_install=change.get("post_install", P.POST_INSTALL))
    data = P.manifest(f"file://{repo}", **({"pkgs": change["pkgs"]} if "pkgs" in change else {}))
    path = P.write_manifest(tmp_path / "m.json", data)
    before, before_pool = host_state(zpool.name, zpool.mountpoint), pool_state(zpool)
    result = iocjail("fetch", "-P", str(path), *NET)
    assert result.exit_code != 0, result.output
    assert why in result.output and "the half-made jail hello was destroyed" in result.output
    assert pool_state(zpool) == before_pool
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), bridges=(BRIDGE,))


def test_a_symlink_planted_in_the_jail_is_never_followed_by_the_overlay(plugin, zpool, tmp_path):
    """The release (the jail's own root, under its root user's control) has /usr/local/bin
    pointing at a host directory: the overlay's usr/local/bin/hello must not land there."""
    jails, _, manifest = plugin
    host_dir = tmp_path / "host-bin"
    host_dir.mkdir()
    (jails.iocroot / "releases" / REL / "root" / "usr" / "local" / "bin").symlink_to(host_dir)
    before, before_pool = host_state(zpool.name, zpool.mountpoint), pool_state(zpool)
    result = iocjail("fetch", "-P", str(manifest), *NET)
    assert result.exit_code != 0
    assert result.output.splitlines()[-1] == (
        f"iocjail: plugin hello: overlay failed: refusing usr/local/bin in the jail root {jails.root('hello')}: "
        "it exists and is not a directory; the half-made jail hello was destroyed")
    assert list(host_dir.iterdir()) == []
    assert pool_state(zpool) == before_pool
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint), bridges=(BRIDGE,))
