"""download.py against the loopback mirror: real HTTP, Range resumes, faults on demand."""

from __future__ import annotations

import hashlib
import socket

import pytest

from iocjail.fetch import download as dl
from tests.support.mirror import MirrorServer

REL = "13.2-RELEASE"


@pytest.fixture
def base(mirror: MirrorServer, mirror_tree):
    """(url, path on the mirror, bytes, sha256) of the tiny release's base.txz."""
    data = (mirror_tree / "ftp/releases/amd64/amd64" / REL / "base.txz").read_bytes()
    path = mirror.path_of(REL, "base.txz")
    return mirror.url + path, path, data, hashlib.sha256(data).hexdigest()


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def begin(self, name, total, done):
        self.events.append(("begin", name, total, done))

    def advance(self, nbytes):
        self.events.append(("advance", nbytes))

    def end(self):
        self.events.append(("end",))

    def advanced(self) -> int:
        return sum(e[1] for e in self.events if e[0] == "advance")


def test_download_verifies_and_reports_progress(tmp_path, base):
    url, _, data, digest = base
    rec = Recorder()
    got = dl.download(dl.new_session(), url, tmp_path / "base.txz", digest, rec)
    assert (tmp_path / "base.txz").read_bytes() == data
    assert got == dl.Fetched(tmp_path / "base.txz", len(data), len(data))
    assert rec.events[0] == ("begin", "base.txz", len(data), 0) and rec.events[-1] == ("end",)
    assert rec.advanced() == len(data)
    assert not (tmp_path / "base.txz.part").exists()


def test_a_verified_cache_is_not_downloaded_again_but_a_tampered_one_is(tmp_path, base, mirror):
    url, path, data, digest = base
    dl.download(dl.new_session(), url, tmp_path / "base.txz", digest)
    mirror.clear()
    again = dl.download(dl.new_session(), url, tmp_path / "base.txz", digest)
    assert again.cached and again.transferred == 0 and mirror.ranges(path) == []
    (tmp_path / "base.txz").write_bytes(b"tampered")
    fixed = dl.download(dl.new_session(), url, tmp_path / "base.txz", digest)
    assert not fixed.cached and (tmp_path / "base.txz").read_bytes() == data
    assert mirror.ranges(path) == [None]


def test_a_truncated_download_resumes_with_range_and_completes_later(tmp_path, base, mirror):
    url, path, data, digest = base
    mirror.fault(path, "truncate", at=4096)
    with pytest.raises(dl.ConnectionLost) as err:
        dl.download(dl.new_session(), url, tmp_path / "base.txz", digest)
    assert str(err.value) == (f"{url}: connection lost after {3 * 4096} of {len(data)} bytes "
                              "(run the command again to resume)")
    assert mirror.ranges(path) == [None, "bytes=4096-", "bytes=8192-"]  # each attempt resumed
    assert (tmp_path / "base.txz.part").stat().st_size == 3 * 4096
    assert not (tmp_path / "base.txz").exists()
    mirror.clear()
    got = dl.download(dl.new_session(), url, tmp_path / "base.txz", digest)
    assert mirror.ranges(path) == [f"bytes={3 * 4096}-"]
    assert got.resumed_from == 3 * 4096 and got.transferred == len(data) - 3 * 4096
    assert (tmp_path / "base.txz").read_bytes() == data


def test_a_corrupt_download_is_retried_once_then_refused(tmp_path, base, mirror):
    url, path, data, digest = base
    mirror.fault(path, "corrupt")
    with pytest.raises(dl.ChecksumMismatch) as err:
        dl.download(dl.new_session(), url, tmp_path / "base.txz", digest)
    assert str(err.value).startswith("base.txz: sha256 ") and f"does not match the MANIFEST ({digest})" in str(err.value)
    assert mirror.ranges(path) == [None, None]
    assert list(tmp_path.iterdir()) == []


def test_a_bad_partial_file_is_downloaded_again_from_scratch(tmp_path, base, mirror):
    url, path, data, digest = base
    (tmp_path / "base.txz.part").write_bytes(b"\0" * 1000)
    dl.download(dl.new_session(), url, tmp_path / "base.txz", digest)
    assert mirror.ranges(path) == ["bytes=1000-", None]
    assert (tmp_path / "base.txz").read_bytes() == data


def test_a_server_ignoring_range_restarts_the_file(tmp_path, base, mirror):
    url, path, data, digest = base
    (tmp_path / "base.txz.part").write_bytes(data[:1000])
    mirror.fault(path, "body", data=data)  # answers 200 with the whole file, whatever the Range
    got = dl.download(dl.new_session(), url, tmp_path / "base.txz", digest)
    assert got.resumed_from == 0 and (tmp_path / "base.txz").read_bytes() == data


def test_a_partial_file_longer_than_the_remote_one_starts_over(tmp_path, base, mirror):
    url, path, data, digest = base
    (tmp_path / "base.txz.part").write_bytes(data + b"extra")
    got = dl.download(dl.new_session(), url, tmp_path / "base.txz", digest)
    assert mirror.ranges(path) == [f"bytes={len(data) + 5}-", None]  # 416, then a fresh GET
    assert got.resumed_from == 0 and (tmp_path / "base.txz").read_bytes() == data


@pytest.mark.parametrize("kind,error,message", [
    ("404", dl.RemoteNotFound, "base.txz not found on the mirror (HTTP 404): {url}"),
    ("500", dl.DownloadFailed, "{url}: HTTP 500 Internal Server Error"),
])
def test_http_errors(tmp_path, base, mirror, kind, error, message):
    url, path, _, digest = base
    mirror.fault(path, kind)
    with pytest.raises(error) as err:
        dl.download(dl.new_session(), url, tmp_path / "base.txz", digest)
    assert str(err.value) == message.format(url=url)
    assert list(tmp_path.iterdir()) == []


def test_server_down(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/base.txz"
    with pytest.raises(dl.DownloadFailed) as err:
        dl.download(dl.new_session(), url, tmp_path / "base.txz", "0" * 64)
    assert str(err.value) == f"{url}: cannot connect to 127.0.0.1:{port}: connection refused"


def test_get_text_reads_a_manifest(mirror):
    text = dl.get_text(dl.new_session(), mirror.url + mirror.path_of(REL, "MANIFEST"))
    assert text.startswith("base.txz\t")


def test_copy_verifies_unless_told_not_to(tmp_path):
    src = tmp_path / "src"
    src.write_bytes(b"payload")
    good = hashlib.sha256(b"payload").hexdigest()
    assert dl.copy(src, tmp_path / "a", good).size == 7 and (tmp_path / "a").read_bytes() == b"payload"
    with pytest.raises(dl.ChecksumMismatch):
        dl.copy(src, tmp_path / "b", "0" * 64)
    assert not (tmp_path / "b").exists() and not (tmp_path / "b.part").exists()
    assert dl.copy(src, tmp_path / "c", None).size == 7
