"""Every bad input a fetch can meet, against the loopback mirror and a real pool: a clear one-line
error, a non-zero exit, no usable half-release, and the same command completing once the fault
is gone."""

from __future__ import annotations

import hashlib
import socket

import pytest

from tests.support.cli import iocjail, mountpoint, names, prop, zfs
from tests.support.mirror import MirrorServer, manifest_text, tar_xz

REL = "13.2-RELEASE"
COMPLETE = "org.freebsd.iocjail:complete"


@pytest.fixture
def pool(zpool):
    assert iocjail("activate", zpool.name).exit_code == 0
    return zpool.name


def fetch(server_url: str, *extra: str):
    return iocjail("fetch", "-r", REL, "-s", server_url, *extra)


def release_listed() -> list[str]:
    result = iocjail("list", "-r", "-H")
    assert result.exit_code == 0
    return result.output.split()


def assert_failed_cleanly(result, code: int, message: str) -> None:
    assert result.exit_code == code, result.output
    last = result.output.splitlines()[-1]
    assert last.startswith("iocjail: ") and message in last, result.output
    assert "Traceback" not in result.output
    assert release_listed() == []


def assert_retry_completes(server_url: str) -> None:
    result = fetch(server_url)
    assert result.exit_code == 0, result.output
    assert release_listed() == [REL]


def test_unknown_release_is_a_404_and_creates_nothing(pool, mirror):
    before = names(pool)
    result = iocjail("fetch", "-r", "99.0-RELEASE", "-s", mirror.url)
    url = mirror.release_url("99.0-RELEASE") + "MANIFEST"
    assert_failed_cleanly(result, 3, f"MANIFEST not found on the mirror (HTTP 404): {url}")
    assert names(pool) == before


def test_a_manifest_404_then_the_retry(pool, mirror):
    mirror.fault(mirror.path_of(REL, "MANIFEST"), "404")
    before = names(pool)
    assert_failed_cleanly(fetch(mirror.url), 3, "MANIFEST not found on the mirror (HTTP 404)")
    assert names(pool) == before
    mirror.clear()
    assert_retry_completes(mirror.url)


def test_server_down_then_up_on_the_same_address(pool, mirror_tree):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    before = names(pool)
    assert_failed_cleanly(fetch(url), 1, f"cannot connect to 127.0.0.1:{port}: connection refused")
    assert names(pool) == before
    server = MirrorServer(mirror_tree, port=port).start()
    try:
        assert_retry_completes(url)
    finally:
        server.stop()


def test_truncated_download_resumes_on_retry(pool, mirror):
    path = mirror.path_of(REL, "base.txz")
    mirror.fault(path, "truncate", at=65536)
    assert_failed_cleanly(fetch(mirror.url), 1, "connection lost after 196608 of ")
    assert "(run the command again to resume)" in fetch(mirror.url).output
    part = mountpoint(f"{pool}/iocage/download/{REL}") / "base.txz.part"
    assert part.stat().st_size == 6 * 65536
    assert f"{pool}/iocage/releases/{REL}" not in names(pool)
    mirror.clear()
    result = fetch(mirror.url)
    assert result.exit_code == 0, result.output
    assert "base.txz (resumed, " in result.output
    assert mirror.ranges(path) == [f"bytes={6 * 65536}-"]
    assert release_listed() == [REL] and not part.exists()


def test_checksum_mismatch(pool, mirror):
    mirror.fault(mirror.path_of(REL, "base.txz"), "corrupt")
    assert_failed_cleanly(fetch(mirror.url), 1, "does not match the MANIFEST")
    cache = mountpoint(f"{pool}/iocage/download/{REL}")
    assert list(cache.iterdir()) == []  # nothing unverified is kept
    mirror.clear()
    assert_retry_completes(mirror.url)


def test_http_500(pool, mirror):
    mirror.fault(mirror.path_of(REL, "base.txz"), "500")
    assert_failed_cleanly(fetch(mirror.url), 1, "base.txz: HTTP 500 Internal Server Error")
    mirror.clear()
    assert_retry_completes(mirror.url)


def test_manifest_without_the_file(pool, mirror):
    mirror.fault(mirror.path_of(REL, "MANIFEST"), "body", data=manifest_text({"lib32.txz": "a" * 64}).encode())
    assert_failed_cleanly(fetch(mirror.url), 1, f"MANIFEST of {REL} does not list base.txz")
    mirror.clear()
    assert_retry_completes(mirror.url)


def test_garbage_manifest(pool, mirror):
    mirror.fault(mirror.path_of(REL, "MANIFEST"), "body", data=b"<html>mirror maintenance</html>\n")
    assert_failed_cleanly(fetch(mirror.url), 1, f"MANIFEST of {REL}: line 1: expected tab-separated")
    mirror.clear()
    assert_retry_completes(mirror.url)


@pytest.mark.parametrize("member,target,why", [
    ("../escape", "", "'..' component"),
    ("/abs-escape", "", "absolute path"),
    ("./etc/passwd", "./etc", "stored below symlink 'etc'"),
])
def test_tarball_with_unsafe_members(pool, mirror, tmp_path, member, target, why):
    entries = [("./bin", None, ""), ("./bin/ok", b"ok", "")]
    entries += [("./etc", None, "/etc")] if target else []
    entries += [(member, b"escaped", "")]
    evil = tar_xz(entries)
    mirror.fault(mirror.path_of(REL, "base.txz"), "body", data=evil)
    mirror.fault(mirror.path_of(REL, "MANIFEST"), "body",
                 data=manifest_text({"base.txz": hashlib.sha256(evil).hexdigest()}).encode())
    assert_failed_cleanly(fetch(mirror.url), 1, f"base.txz: unsafe member {member!r} ({why}): refusing to extract")
    assert f"{pool}/iocage/releases/{REL}" not in names(pool)  # nothing was extracted anywhere
    releases_dir = mountpoint(f"{pool}/iocage/releases")
    assert not (releases_dir / "escape").exists() and not (releases_dir.parent / "escape").exists()
    mirror.clear()
    assert_retry_completes(mirror.url)  # the new MANIFEST no longer matches the cached file


def test_full_download_dataset(pool, mirror):
    zfs("set", "quota=256K", f"{pool}/iocage/download")
    result = fetch(mirror.url)
    assert_failed_cleanly(result, 1, "base.txz: disk quota exceeded: free some space (or raise the quota)")
    assert f"{pool}/iocage/releases/{REL}" not in names(pool)
    zfs("set", "quota=none", f"{pool}/iocage/download")
    assert_retry_completes(mirror.url)


def test_full_releases_dataset_leaves_an_incomplete_release_that_a_retry_replaces(pool, mirror):
    zfs("set", "quota=512K", f"{pool}/iocage/releases")
    result = fetch(mirror.url)
    assert_failed_cleanly(result, 1, "extracting base.txz failed: ")
    assert "quota exceeded" in result.output.lower()
    assert prop(f"{pool}/iocage/releases/{REL}", COMPLETE) == "no"
    zfs("set", "quota=none", f"{pool}/iocage/releases")
    assert_retry_completes(mirror.url)
    assert prop(f"{pool}/iocage/releases/{REL}", COMPLETE) == "yes"
    root = mountpoint(f"{pool}/iocage/releases/{REL}/root")
    assert (root / "bin" / "busybox").stat().st_size > 500_000
