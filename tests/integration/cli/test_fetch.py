"""`fetch`, `list -r` through the CLI: the loopback mirror, a real pool, the system tar."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iocjail.site import releases
from iocjail.site.host import Host
from tests.conftest import LINUX_USERLAND
from tests.support.cli import iocjail, mountpoint, names, prop, zfs
from tests.support.mirror import RELEASES_PATH

REL = "13.2-RELEASE"
COMPLETE = "org.freebsd.iocjail:complete"


@pytest.fixture
def pool(zpool):
    assert iocjail("activate", zpool.name).exit_code == 0
    return zpool.name


def listed(*extra: str) -> list[str]:
    result = iocjail("list", "-r", "-H", *extra)
    assert result.exit_code == 0, result.output
    return result.output.split()


def test_fetch_downloads_verifies_extracts_and_marks_complete(pool, mirror):
    result = iocjail("fetch", "-r", REL, "-s", mirror.url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Fetching: {REL} from {mirror.release_url(REL)}"
    assert lines[1] == f"{REL}: updates skipped: freebsd-update runs only on FreeBSD hosts (this is Linux)"
    assert lines[2].startswith(f"{REL} fetched: base.txz (downloaded, ") and lines[2].endswith(
        "KiB); userland 13.2-RELEASE-p4")
    assert len(lines) == 3  # piped: no progress bar, no transient steps
    r = f"{pool}/iocage"
    assert {f"{r}/download/{REL}", f"{r}/releases/{REL}", f"{r}/releases/{REL}/root"} <= names(pool)
    assert prop(f"{r}/releases/{REL}", COMPLETE) == "yes"
    root = mountpoint(f"{r}/releases/{REL}/root")
    assert os.readlink(root / "bin" / "sh") == "busybox"
    version = subprocess.run([str(root / "bin" / "busybox"), "sh", str(root / "bin" / "freebsd-version")],
                             capture_output=True, text=True)
    assert version.stdout == "13.2-RELEASE-p4\n"
    assert (mountpoint(f"{r}/download/{REL}") / "base.txz").is_file()
    assert mirror.ranges(mirror.path_of(REL, "MANIFEST")) == [None]
    assert listed() == [REL]


def test_list_r_formats(pool, mirror):
    assert iocjail("fetch", "-r", REL, "-s", mirror.url).exit_code == 0
    assert iocjail("fetch", "-r", "14.1-RELEASE", "-s", mirror.url).exit_code == 0
    table = iocjail("list", "-r").output.splitlines()
    assert table[1] == "| Bases fetched |" and table[3] == "| 13.2-RELEASE  |" and table[5] == "| 14.1-RELEASE  |"
    assert listed() == [REL, "14.1-RELEASE"]
    assert json.loads(iocjail("list", "-r", "--json").output) == [{"release": REL}, {"release": "14.1-RELEASE"}]
    assert iocjail("list", "--base", "-H").output.split() == [REL, "14.1-RELEASE"]
    both = iocjail("list", "-r", "-t")
    assert both.exit_code == 2 and "cannot be combined" in both.output


def test_a_second_fetch_uses_the_verified_cache_and_re_extracts(pool, mirror):
    assert iocjail("fetch", "-r", REL, "-s", mirror.url).exit_code == 0
    root = mountpoint(f"{pool}/iocage/releases/{REL}/root")
    (root / "bin" / "sh").unlink()  # "cleans up your mess"
    mirror.clear()
    result = iocjail("fetch", "-r", REL, "-s", mirror.url)
    assert result.exit_code == 0, result.output
    assert "base.txz (cached, verified)" in result.output
    assert mirror.ranges(mirror.path_of(REL, "base.txz")) == []
    assert os.readlink(root / "bin" / "sh") == "busybox"
    assert prop(f"{pool}/iocage/releases/{REL}", COMPLETE) == "yes"


def test_refetch_keeps_jails_cloned_from_the_release(pool, mirror):
    assert iocjail("fetch", "-r", REL, "-s", mirror.url).exit_code == 0
    r = f"{pool}/iocage"
    zfs("snapshot", f"{r}/releases/{REL}/root@www1")
    zfs("create", f"{r}/jails/www1")
    zfs("clone", f"{r}/releases/{REL}/root@www1", f"{r}/jails/www1/root")
    assert iocjail("fetch", "-r", REL, "-s", mirror.url).exit_code == 0
    assert f"{r}/jails/www1/root" in names(pool) and listed() == [REL]


def test_url_override_fetches_a_linux_userland(pool, mirror):
    url = f"{mirror.url}/linux/{LINUX_USERLAND}/"
    result = iocjail("fetch", "-r", LINUX_USERLAND, "--url", url, "-F", "rootfs.tar.gz")
    assert result.exit_code == 0, result.output
    assert f"{LINUX_USERLAND}: updates skipped" in result.output
    assert "rootfs.tar.gz (downloaded" in result.output and "userland busybox-linux-1" in result.output
    root = mountpoint(f"{pool}/iocage/releases/{LINUX_USERLAND}/root")
    assert (root / "bin" / "busybox").is_file()
    assert listed() == [LINUX_USERLAND]


def test_root_dir_override(pool, mirror):
    result = iocjail("fetch", "-r", REL, "-s", mirror.url, "-d", RELEASES_PATH, "-NU")
    assert result.exit_code == 0, result.output
    assert f"{REL}: updates skipped (--noupdate)" in result.output


def test_files_must_be_listed_in_the_manifest(pool, mirror):
    result = iocjail("fetch", "-r", REL, "-s", mirror.url, "-F", "src.txz")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (f"iocjail: MANIFEST of {REL} does not list src.txz: "
                                              "refusing to fetch a file that cannot be verified")
    assert names(pool) >= {f"{pool}/iocage/releases"} and f"{pool}/iocage/download/{REL}" not in names(pool)


@pytest.fixture
def local_dir(mirror_tree, tmp_path) -> Path:
    """A copy of the mirror's release directories, to tamper with."""
    shutil.copytree(mirror_tree / RELEASES_PATH, tmp_path / "releases")
    return tmp_path / "releases"


def test_local_fetch_verifies_against_the_manifest(pool, local_dir):
    result = iocjail("fetch", "-f", "-d", str(local_dir), "-r", REL)
    assert result.exit_code == 0, result.output
    assert "base.txz (copied, " in result.output and listed() == [REL]


def test_local_fetch_refuses_a_mismatch_unless_told_not_to_verify(pool, local_dir):
    with open(local_dir / REL / "base.txz", "r+b") as handle:
        handle.seek(1000)
        handle.write(b"tampered")
    result = iocjail("fetch", "-f", "-d", str(local_dir), "-r", REL)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("iocjail: base.txz: sha256 ")
    assert "does not match the MANIFEST" in result.output and listed() == []
    assert f"{pool}/iocage/releases/{REL}" not in names(pool)
    (local_dir / REL / "base.txz").write_bytes((local_dir / "14.1-RELEASE" / "base.txz").read_bytes())
    forced = iocjail("fetch", "-f", "-d", str(local_dir), "-r", REL, "--no-verify")
    assert forced.exit_code == 0, forced.output
    assert listed() == [REL]


def test_local_fetch_without_manifest_needs_no_verify(pool, local_dir):
    (local_dir / REL / "MANIFEST").unlink()
    result = iocjail("fetch", "-f", "-d", str(local_dir), "-r", REL)
    assert result.exit_code == 3 and "MANIFEST" in result.output and "--no-verify" in result.output
    assert iocjail("fetch", "-f", "-d", str(local_dir), "-r", REL, "--no-verify").exit_code == 0
    assert listed() == [REL]


@pytest.mark.parametrize("args,message", [
    (["--no-verify", "-r", REL], "--no-verify applies to a local fetch (-f) only"),
    (["-f", "-r", REL], "-f needs -d DIR"),
    (["-f", "-d", "/nonexistent", "-r", REL], "/nonexistent/13.2-RELEASE does not exist"),
    (["-r", "../13.2"], "invalid release name '../13.2'"),
    (["-r", REL, "--url", "http://x/y", "-s", "z"], "do not combine it with -s or -d"),
    (["-r", REL, "-F", "../x"], "invalid distribution file name '../x'"),
])
def test_bad_arguments(pool, args, message):
    result = iocjail("fetch", *args)
    assert result.exit_code in (2, 3) and message in result.output and "Traceback" not in result.output
    assert f"{pool}/iocage/download/{REL}" not in names(pool)


def test_fetch_needs_an_active_pool(zpool, mirror, monkeypatch):
    monkeypatch.delenv("IOCJAIL_POOL", raising=False)  # find the pool by its mark, as users run it
    result = iocjail("fetch", "-r", REL, "-s", mirror.url)
    assert result.exit_code == 3 and result.output == "iocjail: no active pool: run iocjail activate POOL\n"
    assert mirror.requests == []


def test_without_r_and_no_terminal_it_names_the_mirrors_releases(pool, mirror):
    result = iocjail("fetch", "-s", mirror.url)
    assert result.exit_code == 2
    assert result.output == (f"iocjail: no release given: use -r RELEASE ({mirror.url}/{RELEASES_PATH}/ offers "
                             "12.4-RELEASE (EOL), 13.2-RELEASE, 14.1-RELEASE)\n")


def test_incomplete_releases_are_not_offered(pool, mirror):
    assert iocjail("fetch", "-r", REL, "-s", mirror.url).exit_code == 0
    zfs("set", f"{COMPLETE}=no", f"{pool}/iocage/releases/{REL}")
    zfs("create", "-p", f"{pool}/iocage/releases/r343907/root")  # made by hand, as iocage allows
    assert listed() == ["r343907"]
    host = Host.from_env()
    with pytest.raises(releases.ReleaseIncomplete) as err:
        releases.require_complete(host, REL)
    assert str(err.value) == f"release {REL!r} is incomplete (a fetch did not finish): run iocjail fetch -r {REL} again"
    with pytest.raises(releases.ReleaseNotFound):
        releases.require_complete(host, "14.1-RELEASE")
    assert releases.require_complete(host, "r343907").complete


IOCJAIL_BIN = str(Path(sys.executable).parent / "iocjail")


def _run_in_terminal(argv: list[str], answer: bytes, timeout: float = 120) -> tuple[int | None, str]:
    """Run argv with a pseudo-terminal as stdin/stdout/stderr; type `answer` at the prompt.
    Returns (exit status, or None if it had to be killed, and everything it wrote)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, close_fds=True, start_new_session=True,
                            env={**os.environ, "TERM": "xterm", "COLUMNS": "100"})
    os.close(slave)
    out, sent, deadline = b"", False, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""  # EIO: the child closed the terminal
                if not data:
                    break
                out += data
            if not sent and b"Type EXIT to quit" in out:
                os.write(master, answer)
                sent = True
            if proc.poll() is not None and not ready:
                break
        try:
            code: int | None = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            code = None
        return code, out.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the session it leads: iocjail and its tar/zfs
            proc.wait()


def test_on_a_terminal_it_offers_the_releases_and_shows_progress(pool, mirror):
    code, out = _run_in_terminal([IOCJAIL_BIN, "fetch", "-s", mirror.url], b"1\n")
    assert code == 0, out
    assert "[0] 12.4-RELEASE (EOL)" in out and "[1] 13.2-RELEASE" in out and "[2] 14.1-RELEASE" in out
    assert "Downloading: base.txz" in out and "100%" in out
    assert "Extracting base.txz" in out and f"{REL} fetched: base.txz (downloaded" in out
    assert listed() == [REL]


def test_on_a_terminal_exit_quits(pool, mirror):
    code, out = _run_in_terminal([IOCJAIL_BIN, "fetch", "-s", mirror.url], b"EXIT\n")
    assert code == 1 and "iocjail: aborted: nothing was changed" in out
    assert listed() == []
