"""The parts of a plugin install that exist on FreeBSD only — the manifest's kmods, ca_root_nss for
an https packagesite, its devfs rules — run by the real services on a real pool with the FreeBSD
runtime selected against a simulated host (tests/support/freebsd_host.py), the FreeBSD plans
(kldload, pkg) through an executor that records them; and on Linux, refused or left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iocjail.services import lifecycle, plugins
from iocjail.lifecycle.freebsd.runtime import FreeBSDRuntime
from iocjail.site.host import Host
from tests.support.cli import iocjail, mountpoint, names
from tests.support.freebsd_host import FreeBSDHost

REL = "13.2-RELEASE"
FP = "b0170035af3acc5f3f3ae1859dc717101b4e6c1d0a794ad554928ca0cbb2f438"
PROPS = ("ip4_addr=vnet0|10.0.0.8/24", "defaultrouter=none")
KLDLOAD = [("kldload", "-n", "fusefs"), ("kldload", "-n", "if_bridge")]
BOOTSTRAP = ("pkg-static", "-j", "ioc-plex", "install", "-q", "-y", "pkg")


def pkg(name: str) -> tuple[str, ...]:
    return ("pkg", "-j", "ioc-plex", "install", "-q", "-y", name)


@pytest.fixture(autouse=True)
def _own_rundir(tmp_path, monkeypatch):
    monkeypatch.setenv("IOCJAIL_RUNDIR", str(tmp_path / "rundir"))  # this test's journals and JIDs only


@pytest.fixture
def fetched(zpool, mirror):
    assert iocjail("activate", zpool.name).exit_code == 0
    result = iocjail("fetch", "-r", REL, "-s", mirror.url)
    assert result.exit_code == 0, result.output
    return zpool.name


def write_manifest(tmp_path: Path, **changes: object) -> Path:
    data: dict[str, object] = {
        "name": "plex", "release": REL, "artifact": "", "pkgs": ["multimedia/plexmediaserver"],
        "packagesite": "https://pkg.example.org/${ABI}/latest", "kmods": ["fusefs", "if_bridge"],
        "devfs_ruleset": {"paths": {"dri/*": None, "bpf*": "0660"}, "includes": ["$devfsrules_jail_vnet"]},
        "fingerprints": {"iocage-plugins": [{"function": "sha256", "fingerprint": FP}]}}
    data.update(changes)
    path = tmp_path / "plex.json"
    path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))
    return path


def freebsd_host(fb: FreeBSDHost, tmp_path: Path) -> Host:
    etc = tmp_path / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "resolv.conf").write_text("nameserver 192.0.2.53\n")
    runtime = FreeBSDRuntime(run=fb.run, logged=fb.logged, interactive=fb.interactive, etc=etc,
                             conf_dir=str(tmp_path / "run"))
    return Host(pool_override=Host.from_env().pool_override, runtime=runtime)


class PlanExecutor:
    """Runs the plugin's FreeBSD plans as the simulated host would, noting for each command
    whether the jail existed, ran, and had the plugin's pkg repositories yet. A bootstrap puts pkg
    into the jail's root; a command whose last word is in `fail` fails every time."""

    def __init__(self, fb: FreeBSDHost, jaildir: Path, fail: tuple[str, ...] = ()) -> None:
        self.fb, self.jaildir, self.fail = fb, jaildir, fail
        self.ran: list[tuple[str, ...]] = []
        self.seen: dict[tuple[str, ...], tuple[bool, bool, bool]] = {}

    def run(self, command) -> int:
        argv = tuple(command.argv)
        self.ran.append(argv)
        repos = self.jaildir / "root" / "usr" / "local" / "etc" / "pkg" / "repos" / "FreeBSD.conf"
        self.seen.setdefault(argv, (self.jaildir.exists(), "ioc-plex" in self.fb.jails, repos.exists()))
        if argv[-1] in self.fail:
            return 1
        if argv == BOOTSTRAP:
            (self.jaildir / "root" / "usr" / "local" / "sbin").mkdir(parents=True, exist_ok=True)
            (self.jaildir / "root" / "usr" / "local" / "sbin" / "pkg").write_text("")
        return 0

    def exists(self, path: str) -> bool:
        return False


def test_on_freebsd_kmods_load_first_ca_root_nss_precedes_the_repositories_and_devfs_rules_apply(
        fetched, tmp_path):
    fb = FreeBSDHost(devfs_sets=(1, 2, 3, 4, 5))
    host = freebsd_host(fb, tmp_path)
    jaildir = mountpoint(f"{fetched}/iocage/jails") / "plex"
    executor = PlanExecutor(fb, jaildir)
    seen_steps: list[str] = []

    class Steps:
        def step(self, name: str, text: str) -> None:
            seen_steps.append(name)

    with plugins.prepare(host, str(write_manifest(tmp_path)), props=PROPS) as ready:
        assert ready.freebsd and ready.notes == ()
        done = plugins.install(host, ready, Steps(), executor=executor)

    assert seen_steps == ["kmods", "create", "config", "start", "ca_root_nss", "pkg repos", "packages", "artifact",
                          "portal"]
    assert executor.ran == [*KLDLOAD, BOOTSTRAP, pkg("ca_root_nss"), pkg("multimedia/plexmediaserver")]
    # (jail dataset exists, jail runs, plugin repositories written) when each command ran
    assert executor.seen[KLDLOAD[0]] == executor.seen[KLDLOAD[1]] == (False, False, False)  # before the jail
    assert executor.seen[pkg("ca_root_nss")] == (True, True, False)  # from the release's own repository
    assert executor.seen[pkg("multimedia/plexmediaserver")] == (True, True, True)
    assert done.name == "plex" and "ioc-plex" in fb.jails  # left running, as iocage leaves it

    # the start's generated ruleset holds the manifest's paths and includes, read from the kept manifest
    rules = [c[5:] for c in fb.calls if c[:5] == ("devfs", "rule", "-s", "1000", "add")]
    assert rules[17:] == [("include", "5"), ("path", "dri/*", "unhide"), ("path", "bpf*", "mode", "0660", "unhide")]
    assert json.loads((jaildir / "plex.json").read_text())["devfs_ruleset"]["paths"] == {"dri/*": None,
                                                                                      "bpf*": "0660"}
    fb.calls.clear()
    lifecycle.stop(host, "plex")
    assert ("devfs", "rule", "-s", "1000", "delset") in fb.calls
    fb.calls.clear()
    lifecycle.start(host, "plex")  # every start reads the kept manifest again
    assert ("devfs", "rule", "-s", "1000", "add", "path", "dri/*", "unhide") in fb.calls
    lifecycle.stop(host, "plex")


def test_an_http_packagesite_needs_no_ca_root_nss_and_a_manifest_without_kmods_loads_none(fetched, tmp_path):
    fb = FreeBSDHost()
    host = freebsd_host(fb, tmp_path)
    executor = PlanExecutor(fb, mountpoint(f"{fetched}/iocage/jails") / "plex")
    path = write_manifest(tmp_path, packagesite="http://pkg.FreeBSD.org/${ABI}/latest", kmods=None, devfs_ruleset=None)
    with plugins.prepare(host, str(path), props=PROPS) as ready:
        plugins.install(host, ready, executor=executor)
    assert executor.ran == [BOOTSTRAP, pkg("multimedia/plexmediaserver")]
    lifecycle.stop(host, "plex")


@pytest.mark.parametrize("fail, step, why", [
    ("if_bridge", "kmods", "kldload if_bridge failed (exit 1); nothing was made"),
    ("ca_root_nss", "ca_root_nss", "packages not installed: ca_root_nss; the half-made jail plex was destroyed"),
])
def test_a_failing_freebsd_step_leaves_nothing(fetched, tmp_path, fail, step, why):
    fb = FreeBSDHost(devfs_sets=(1, 2, 3, 4, 5))
    host = freebsd_host(fb, tmp_path)
    executor = PlanExecutor(fb, mountpoint(f"{fetched}/iocage/jails") / "plex", fail=(fail,))
    before = names(fetched)
    with plugins.prepare(host, str(write_manifest(tmp_path)), props=PROPS) as ready, \
            pytest.raises((plugins.PluginNotMade, plugins.PluginFailed)) as err:
        plugins.install(host, ready, executor=executor)
    assert str(err.value) == f"plugin plex: {step} failed: {why}"
    assert names(fetched) == before and fb.jails == {}
    assert executor.ran[-1][-1] == fail and "multimedia/plexmediaserver" not in [a[-1] for a in executor.ran]
    started = any(c[:2] == ("jail", "-f") for c in fb.calls)
    assert started is (step != "kmods")  # a module that does not load stops the install before the jail


def test_a_ruleset_the_manifest_includes_that_the_host_lacks_stops_the_start_and_the_install(fetched, tmp_path):
    fb = FreeBSDHost(devfs_sets=(1, 2, 3, 4))  # no devfsrules_jail_vnet (5) on this host
    host = freebsd_host(fb, tmp_path)
    executor = PlanExecutor(fb, mountpoint(f"{fetched}/iocage/jails") / "plex")
    before = names(fetched)
    with plugins.prepare(host, str(write_manifest(tmp_path)), props=PROPS) as ready, \
            pytest.raises(plugins.PluginFailed, match="^plugin plex: start failed: devfs ruleset 5 .*does not exist"):
        plugins.install(host, ready, executor=executor)
    assert names(fetched) == before and executor.ran == KLDLOAD
    assert not any(c[:2] == ("devfs", "rule") and "add" in c for c in fb.calls)  # refused before any rule


def test_a_custom_devfs_ruleset_keeps_the_manifests_rules_out_and_says_so(fetched, tmp_path):
    fb = FreeBSDHost(devfs_sets=(1, 2, 3, 4, 10))
    host = freebsd_host(fb, tmp_path)
    path = write_manifest(tmp_path, kmods=None)
    with plugins.prepare(host, str(path), props=(*PROPS, "devfs_ruleset=10")) as ready:
        assert ready.notes == ("devfs_ruleset=10 is used as it is: the manifest's devfs paths and includes are "
                               "not added (they join a ruleset generated from devfs_ruleset=4 only, as in iocage)",)
        plugins.install(host, ready, executor=PlanExecutor(fb, mountpoint(f"{fetched}/iocage/jails") / "plex"))
    assert not any(c[:2] == ("devfs", "rule") and "add" in c for c in fb.calls)
    lifecycle.stop(host, "plex")


# -- Linux --------------------------------------------------------------------------------------

def test_on_linux_kmods_are_refused_before_anything_is_made(zpool, tmp_path):
    assert iocjail("activate", zpool.name).exit_code == 0
    before = names(zpool.name)
    result = iocjail("fetch", "-P", str(write_manifest(tmp_path)), *PROPS, "pkg_command=/bin/true")
    assert result.exit_code == 2, result.output
    assert result.output == ("iocjail: plugin plex: kmods need a FreeBSD host (the manifest loads fusefs, if_bridge "
                             "into the kernel with kldload)\n")
    assert names(zpool.name) == before


def test_on_linux_the_devfs_rules_are_noted_as_not_applicable(zpool, tmp_path):
    assert iocjail("activate", zpool.name).exit_code == 0
    host = Host.from_env()
    with plugins.prepare(host, str(write_manifest(tmp_path, kmods=None)),
                         props=(*PROPS, "pkg_command=/bin/true")) as ready:
        assert not ready.freebsd
        assert ready.notes == ("the manifest's devfs_ruleset does not apply on Linux: a jail's /dev there is a fixed "
                               "minimal tmpfs (null, zero, full, random, urandom, tty, its own devpts)",)
