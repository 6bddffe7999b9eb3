"""Updating a plugin jail for real: the index's new manifest and a new artifact commit applied behind
a snapshot; a failure at any step rolls the jail back; an upgrade is refused on Linux with nothing
changed."""

from __future__ import annotations

import json
import shutil

import pytest

from iocjail.errors import CommandFailed, IocjailError
from iocjail.services import plugin_update, upgrades
from iocjail.site.host import Host
from tests.e2e.test_plugins import NET, in_jail
from tests.support import plugins as P
from tests.support.capabilities import require
from tests.support.cli import iocjail, zfs

POST_UPGRADE = "#!/bin/sh\necho \"upgraded $IOCAGE_PLUGIN_IP $(cat /usr/local/etc/hello.conf)\" > /root/post_upgrade.done\n"


@pytest.fixture
def installed(jails, tmp_path):
    """Plugin `hello` installed from an INDEX directory, the jail stopped."""
    from tests.e2e.conftest import REL

    require(shutil.which("git") is not None, "needs git (scripts/host-setup.sh installs it)")
    P.install_fake_pkg(jails.iocroot / "releases" / REL / "root")
    repo = P.artifact(tmp_path / "artifact")
    index = P.index_dir(tmp_path / "index", {"hello": P.manifest(f"file://{repo}")})
    result = iocjail("fetch", "-P", "hello", "-g", str(index), *NET)
    assert result.exit_code == 0, result.output
    assert iocjail("stop", "hello").exit_code == 0
    return jails, repo, index


def new_version(repo, index, *, conf: str, post_upgrade: str = POST_UPGRADE, pkgs=("www/hello", "hello-extra")):
    (repo / "overlay/usr/local/etc/hello.conf").write_text(conf)
    (repo / "post_upgrade.sh").write_text(post_upgrade)
    P.git(repo, "add", "-A")
    P.git(repo, "commit", "-q", "-m", "next")
    data = json.loads((index / "hello.json").read_text())
    data["pkgs"] = list(pkgs)
    (index / "hello.json").write_text(json.dumps(data))
    return P.git(repo, "rev-parse", "HEAD").strip()


def snapshots(pool: str) -> list[str]:
    return sorted(n for n in zfs("list", "-H", "-o", "name", "-t", "snapshot", "-r", pool).split() if "/jails/" in n)


def test_update_applies_the_new_manifest_and_artifact_and_removes_its_snapshot(installed, zpool):
    jails, repo, index = installed
    commit = new_version(repo, index, conf="greeting=hello again\n")
    before = snapshots(zpool.name)
    done = plugin_update.update(Host.from_env(), "hello")
    assert (done.plugin, done.commit) == ("hello", commit)
    assert snapshots(zpool.name) == before  # taken, then removed after success
    assert iocjail("get", "state", "hello").output == "down\n"  # stopped again, as it was
    assert iocjail("start", "hello").exit_code == 0
    assert in_jail("hello", "cat /usr/local/etc/hello.conf") == "greeting=hello again\n"
    assert in_jail("hello", "ls /var/db/fake-pkg").split() == ["hello-data", "hello-extra", "www_hello"]
    assert in_jail("hello", "cat /root/post_upgrade.done") == "upgraded 10.241.0.2 greeting=hello again\n"
    assert P.git(jails.jail_path("hello") / "plugin", "rev-parse", "HEAD").strip() == commit
    assert json.loads((jails.jail_path("hello") / "hello.json").read_text())["pkgs"] == ["www/hello", "hello-extra"]


class FailAt:
    def __init__(self, step: str) -> None:
        self.step_name = step

    def step(self, name: str, text: str) -> None:
        if name == self.step_name:
            raise CommandFailed(["injected"], 1, f"injected failure at {name}")


def jail_files(jails) -> dict[str, bytes]:
    root = jails.jail_path("hello")
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and "/dev/" not in str(p)}


@pytest.mark.parametrize("step", [s for s in plugin_update.STEPS if s != "snapshot"])
def test_a_failure_at_any_step_rolls_the_jail_back(installed, zpool, step):
    jails, repo, index = installed
    new_version(repo, index, conf="greeting=never seen\n")
    before_files, before_snaps = jail_files(jails), snapshots(zpool.name)
    with pytest.raises(plugin_update.PluginUpdateFailed) as err:
        plugin_update.update(Host.from_env(), "hello", reporter=FailAt(step))
    assert str(err.value).startswith(f"plugin hello: update failed at {step}: injected: injected failure at {step}; "
                                     f"rolled back to {zpool.name}/iocage/jails/hello@ioc_plugin_update_")
    assert iocjail("get", "state", "hello").output == "down\n"
    assert jail_files(jails) == before_files
    kept = sorted(set(snapshots(zpool.name)) - set(before_snaps))
    assert [s.split("@")[1].startswith("ioc_plugin_update_") for s in kept] == [True, True]  # jail and root


def test_a_failing_post_upgrade_rolls_back_a_running_jail_and_starts_it_again(installed, zpool):
    jails, repo, index = installed
    assert iocjail("start", "hello").exit_code == 0
    new_version(repo, index, conf="greeting=never seen\n", post_upgrade="#!/bin/sh\necho broken >&2\nexit 4\n")
    result = iocjail("exec", "hello", "cat /usr/local/etc/hello.conf")
    with pytest.raises(plugin_update.PluginUpdateFailed, match="update failed at post_upgrade: post_upgrade.sh "
                                                               "exited 4: broken; rolled back to"):
        plugin_update.update(Host.from_env(), "hello")
    assert iocjail("get", "state", "hello").output == "up\n"
    assert in_jail("hello", "cat /usr/local/etc/hello.conf") == result.output == "greeting=hello\n"
    assert in_jail("hello", "ls /var/db/fake-pkg").split() == ["hello-data", "www_hello"]


def test_a_new_major_release_needs_upgrade_and_upgrade_is_refused_on_linux(installed, zpool):
    jails, repo, index = installed
    data = json.loads((index / "hello.json").read_text())
    (index / "hello.json").write_text(json.dumps({**data, "release": "14.1-RELEASE"}))
    before = snapshots(zpool.name)
    with pytest.raises(Exception, match="major ABI change .*run iocjail upgrade hello"):
        plugin_update.update(Host.from_env(), "hello")
    with pytest.raises(IocjailError):  # freebsd-update: FreeBSD only, refused before anything changes
        upgrades.upgrade(Host.from_env(), "hello", None)
    assert snapshots(zpool.name) == before
    assert iocjail("get", "release", "hello").output == "13.2-RELEASE-p4\n"


def test_a_jail_that_is_no_plugin_is_refused(jails, zpool):
    jails.make("www1")
    with pytest.raises(plugin_update.NotAPlugin, match="www1: not a plugin jail \\(type jail\\)"):
        plugin_update.update(Host.from_env(), "www1")


def test_the_update_command_updates_a_plugin_jail_and_skips_freebsd_update_on_linux(installed, zpool):
    jails, repo, index = installed
    commit = new_version(repo, index, conf="greeting=via the command\n")
    result = iocjail("update", "hello")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "  Snapshotting hello" and "  Running post_upgrade.sh" in lines
    assert lines[-2].startswith(f"hello: plugin hello updated (artifact {commit[:12]}); snapshot ")
    assert lines[-1] == "hello: freebsd-update skipped (FreeBSD only)"
    assert (jails.root("hello") / "usr/local/etc/hello.conf").read_text() == "greeting=via the command\n"
    refused = iocjail("upgrade", "hello", "-r", "14.1-RELEASE")
    assert refused.exit_code == 2
    assert refused.output == ("iocjail: hello is a plugin jail: its manifest moves it to 13.2-RELEASE, "
                              "not 14.1-RELEASE\n")
