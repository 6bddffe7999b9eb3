"""Where a release lives on a mirror, and which releases a mirror offers. Pure.

The layout is FreeBSD's: `SERVER/ftp/releases/MACHINE/MACHINE_ARCH/REL/{MANIFEST,base.txz,…}`,
and the directory `SERVER/ftp/releases/MACHINE/MACHINE_ARCH/` is an HTML index whose links
name the releases. iocage defaults to plain HTTP; iocjail defaults to HTTPS (a server given
without a scheme gets `https://`), and verifies every file against the MANIFEST regardless.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from iocjail.errors import UsageError

DEFAULT_SERVER = "download.freebsd.org"

_ANCHOR_RE = re.compile(r"<a\s[^>]*?href\s*=\s*[\"']([^\"']+)[\"'][^>]*>(.*?)</a>([^<\n]*)", re.I | re.S)
_LISTED_RE = re.compile(r"^\d+\.\d+-RELEASE$")
_EOL_RE = re.compile(r"\bEOL\b")


@dataclass(frozen=True)
class MirrorRelease:
    name: str
    eol: bool = False

    def __str__(self) -> str:
        return f"{self.name} (EOL)" if self.eol else self.name


def server_url(server: str) -> str:
    """`download.freebsd.org` -> `https://download.freebsd.org`; a URL is kept as given."""
    server = server.strip()
    url = server if "://" in server else f"https://{server}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--server {server!r}: expected a host name or an http(s):// URL")
    return url.rstrip("/")


def root_dir(machine: str, arch: str) -> str:
    return f"ftp/releases/{machine}/{arch}"


def index_url(server: str, root: str) -> str:
    """The page listing the releases: `https://SERVER/ROOT/`."""
    return f"{server_url(server)}/{root.strip('/')}/"


def release_url(server: str, root: str, release: str) -> str:
    """The release directory, always ending in `/` so file names can be appended."""
    return f"{index_url(server, root)}{release}/"


def checked_url(url: str) -> str:
    """A full `--url` override for the release directory."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url {url!r}: expected an http(s):// URL of the release directory")
    return url if url.endswith("/") else url + "/"


def file_url(base: str, name: str) -> str:
    return base + name


def parse_index(page: str) -> list[MirrorRelease]:
    """The `N.M-RELEASE/` links of an index page, each marked EOL when the mirror says so
    (the word `EOL` in the link text or on the rest of its line), sorted oldest first."""
    found: dict[str, bool] = {}
    for match in _ANCHOR_RE.finditer(page):
        href, text, tail = match.groups()
        path = unquote(html.unescape(href)).split("?", 1)[0].split("#", 1)[0].rstrip("/")
        name = path.rsplit("/", 1)[-1]
        if not _LISTED_RE.match(name):
            continue
        eol = bool(_EOL_RE.search(re.sub(r"<[^>]+>", "", text)) or _EOL_RE.search(tail))
        found[name] = found.get(name, False) or eol
    return sorted((MirrorRelease(n, e) for n, e in found.items()), key=_version)


def _version(release: MirrorRelease) -> tuple[int, int]:
    major, minor = release.name.split("-", 1)[0].split(".")
    return int(major), int(minor)
