"""HTTP downloads that verify as they go: streamed, hashed while written, resumed with Range.

A file is downloaded to `NAME.part` and renamed to `NAME` only once its sha256 matches the
MANIFEST, so a complete-looking file in the cache has always been verified. A dropped
connection leaves the `.part` for the next attempt, which resumes from its end (HTTP Range)
after re-hashing what is there; a mismatch deletes it and starts over once.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlsplit

import requests
import urllib3

from iocjail import __version__
from iocjail.errors import IocjailError, NotFound

CHUNK = 1 << 20
TIMEOUT = (15, 60)  # connect, read (seconds without a byte)
MAX_TEXT = 4 << 20  # MANIFEST and index pages are small; refuse anything huge
_ERRNO_RE = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


class DownloadFailed(IocjailError):
    template = "{}: {}"


class RemoteNotFound(DownloadFailed, NotFound):
    template = "{} not found on the mirror (HTTP 404): {}"
    exit_code = 3


class ConnectionLost(DownloadFailed):
    template = "{}: connection lost after {} of {} bytes (run the command again to resume)"


class ChecksumMismatch(IocjailError):
    template = "{}: sha256 {} does not match the MANIFEST ({}): refusing to use it"


class NoSpace(IocjailError):
    template = "{}: {}: free some space (or raise the quota) and run the command again"


class Progress(Protocol):
    def begin(self, name: str, total: int | None, done: int) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def end(self) -> None: ...


class NoProgress:
    def begin(self, name: str, total: int | None, done: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def end(self) -> None:
        pass


@dataclass(frozen=True)
class Fetched:
    path: Path
    size: int
    transferred: int  # bytes that came over the network (or were copied) this time
    resumed_from: int = 0
    cached: bool = False


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = f"iocjail/{__version__}"
    return session


def _reason(err: Exception) -> str:
    found = _ERRNO_RE.findall(str(err))
    return found[-1].strip().lower() if found else type(err).__name__


def _get(session: requests.Session, url: str, headers: dict[str, str] | None = None) -> requests.Response:
    try:
        resp = session.get(url, headers=headers or {}, stream=True, timeout=TIMEOUT)
    except requests.exceptions.ConnectionError as err:
        raise DownloadFailed(url, f"cannot connect to {urlsplit(url).netloc}: {_reason(err)}") from err
    except requests.exceptions.RequestException as err:
        raise DownloadFailed(url, _reason(err)) from err
    if resp.status_code == 404:
        resp.close()
        raise RemoteNotFound(urlsplit(url).path.rsplit("/", 1)[-1] or url, url)
    if resp.status_code >= 400 and resp.status_code != 416:
        resp.close()
        raise DownloadFailed(url, f"HTTP {resp.status_code} {resp.reason}")
    return resp


def get_text(session: requests.Session, url: str) -> str:
    """A small text document (MANIFEST, index page), fully read and size-limited."""
    with _get(session, url) as resp:
        data = bytearray()
        try:
            for chunk in resp.iter_content(65536):
                data += chunk
                if len(data) > MAX_TEXT:
                    raise DownloadFailed(url, f"larger than {MAX_TEXT} bytes: not a MANIFEST or index page")
        except requests.exceptions.RequestException as err:
            raise DownloadFailed(url, f"connection lost: {_reason(err)}") from err
    return data.decode("utf-8", errors="replace")


def sha256_file(path: Path, digest: "hashlib._Hash | None" = None) -> str:
    """The hex sha256 of a file (fed into `digest` when given, to continue hashing after it)."""
    digest = digest or hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _finish(part: Path, dest: Path, digest: str, sha256: str) -> None:
    if digest != sha256:
        part.unlink(missing_ok=True)
        raise ChecksumMismatch(dest.name, digest, sha256)
    os.replace(part, dest)


def download(session: requests.Session, url: str, dest: Path, sha256: str,
             progress: Progress | None = None, *, attempts: int = 3) -> Fetched:
    """`url` into `dest`, verified against `sha256`; a verified `dest` already there is kept.

    A lost connection is resumed up to `attempts` times; a checksum mismatch is downloaded
    again from scratch once, then reported.
    """
    progress = progress or NoProgress()
    if dest.exists():
        if sha256_file(dest) == sha256:
            return Fetched(dest, dest.stat().st_size, 0, cached=True)
        dest.unlink()  # stale or tampered cache: fetch it again
    mismatches = 0
    for attempt in range(1, attempts + 1):
        try:
            return _attempt(session, url, dest, sha256, progress)
        except ConnectionLost:
            if attempt == attempts:
                raise
        except ChecksumMismatch:
            mismatches += 1
            if mismatches > 1 or attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _attempt(session: requests.Session, url: str, dest: Path, sha256: str, progress: Progress) -> Fetched:
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with _get(session, url, headers) as resp:
        if resp.status_code == 416 or (offset and not _resumes_at(resp, offset)):
            part.unlink(missing_ok=True)  # the server cannot continue this .part: start over
            if resp.status_code == 416:
                return _attempt(session, url, dest, sha256, progress)
            offset = 0
        digest = hashlib.sha256()
        if offset:
            sha256_file(part, digest=digest)
        length = resp.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        progress.begin(dest.name, total, offset)
        try:
            with _disk_errors(dest), open(part, "ab" if offset else "wb") as handle:
                got = offset + _receive(resp, handle, digest, progress, url, offset, total)
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            progress.end()
        identity = resp.headers.get("Content-Encoding", "identity") == "identity"
    if total is not None and got != total and identity:
        raise ConnectionLost(url, got, total)
    _finish(part, dest, digest.hexdigest(), sha256)
    return Fetched(dest, got, got - offset, resumed_from=offset)


def _receive(resp: requests.Response, handle: IO[bytes], digest: "hashlib._Hash", progress: Progress,
             url: str, offset: int, total: int | None) -> int:
    """Append the body to `handle` as it arrives; a dropped connection is ConnectionLost."""
    got = 0
    chunks = _chunks(resp)
    while True:
        try:
            chunk = next(chunks, b"")
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, ConnectionError,
                TimeoutError) as err:
            raise ConnectionLost(url, offset + got, total if total is not None else "?") from err
        if not chunk:
            return got
        handle.write(chunk)
        digest.update(chunk)
        got += len(chunk)
        progress.advance(len(chunk))


@contextmanager
def _disk_errors(where: Path) -> Iterator[None]:
    """A full disk or quota, whenever the kernel reports it (write, flush, fsync, close)."""
    try:
        yield
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise NoSpace(where, (err.strerror or str(err)).lower()) from err
        raise


def _chunks(resp: requests.Response) -> Iterator[bytes]:
    """The body as it arrives: `read1` hands over every byte received before a connection drops
    (so the .part keeps them for a resume), where iter_content would lose its last partial chunk."""
    read1 = getattr(resp.raw, "read1", None)
    if read1 is None:  # urllib3 1.x
        yield from resp.iter_content(CHUNK)
        return
    while chunk := read1(CHUNK, decode_content=True):
        yield chunk


def _resumes_at(resp: requests.Response, offset: int) -> bool:
    """True if a 206 answer continues exactly at `offset` (a 200 means the server ignored Range)."""
    if resp.status_code != 206:
        return False
    match = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
    return match is not None and int(match.group(1)) == offset


def copy(source: Path, dest: Path, sha256: str | None, progress: Progress | None = None) -> Fetched:
    """Local fetch: copy `source` into the cache, hashing while copying; `sha256=None` skips
    the check (the user's explicit --no-verify)."""
    progress = progress or NoProgress()
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    size = 0
    progress.begin(dest.name, source.stat().st_size, 0)
    try:
        with _disk_errors(dest), open(source, "rb") as src, open(part, "wb") as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                progress.advance(len(chunk))
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        progress.end()
    _finish(part, dest, digest.hexdigest(), sha256 if sha256 is not None else digest.hexdigest())
    return Fetched(dest, size, size)
