"""A tiny release and a loopback mirror in the FreeBSD layout, with faults on demand.

The release is a busybox-static userland (`/bin/busybox` plus applet symlinks such as sh, ls,
cat, echo, sleep), `/etc/rc`, `/etc/rc.shutdown` and `/bin/freebsd-version` printing its
USERLAND_VERSION, packed as `base.txz` (tar + xz) with a FreeBSD-style MANIFEST. The server is
a ThreadingHTTPServer on 127.0.0.1 serving `ftp/releases/amd64/amd64/REL/…` and index pages,
with HTTP Range support, and per-path faults: truncate, corrupt, 404, 500, or another body.

Used by the tests (fixtures in tests/conftest.py), bench/ and scripts/demo.sh:

    python -m tests.support.mirror build DIR [--release 13.2-RELEASE] [--userland 13.2-RELEASE-p4]
    python -m tests.support.mirror serve DIR [--port 0] [--eol 12.4-RELEASE]
"""

from __future__ import annotations

import argparse
import hashlib
import html
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

RELEASES_PATH = "ftp/releases/amd64/amd64"
RELEASE = "13.2-RELEASE"
USERLAND = "13.2-RELEASE-p4"
APPLETS = ("sh", "ash", "ls", "cat", "echo", "sleep", "mkdir", "rmdir", "rm", "cp", "mv", "ln", "ps", "kill",
           "env", "true", "false", "test", "[", "grep", "sed", "awk", "id", "uname", "hostname", "mount", "umount",
           "touch", "chmod", "chown", "head", "tail", "wc", "date", "printf", "sync", "pwd", "readlink", "stat",
           "tr", "cut", "sort", "find", "xargs", "tee", "basename", "dirname", "df", "du", "ip", "ifconfig",
           "ping", "nc", "wget", "vi", "less", "more", "tar", "gzip", "xz", "sha256sum", "seq", "yes", "whoami")

RC = """#!/bin/sh
# iocjail test userland: /etc/rc in miniature. Runs /etc/rc.local if present, records the boot.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
mkdir -p /var/run /var/log
[ -x /etc/rc.local ] && /etc/rc.local
date > /var/run/rc.started
echo "rc: $(hostname) started"
exit 0
"""

RC_SHUTDOWN = """#!/bin/sh
# iocjail test userland: /etc/rc.shutdown in miniature.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
[ -x /etc/rc.shutdown.local ] && /etc/rc.shutdown.local
rm -f /var/run/rc.started
echo "rc.shutdown: $(hostname) stopped"
exit 0
"""

FREEBSD_VERSION = """#!/bin/sh
# freebsd-version(1) of the iocjail test userland
USERLAND_VERSION="{userland}"
case "${{1:--u}}" in
    -u) echo "$USERLAND_VERSION" ;;
    -k|-r) uname -r ;;
    *) echo "usage: freebsd-version [-kru]" >&2; exit 1 ;;
esac
"""


def find_busybox() -> str:
    for candidate in ("/bin/busybox", "/usr/bin/busybox", shutil.which("busybox") or ""):
        if candidate and os.path.isfile(candidate):
            return candidate
    raise RuntimeError("busybox not found: install busybox-static")


def build_root(root: Path, userland: str = USERLAND, busybox: str | None = None) -> Path:
    """The userland tree of the tiny release, in `root`."""
    for d in ("bin", "sbin", "etc", "dev", "root", "proc", "usr/bin", "usr/sbin", "usr/local", "var/run",
              "var/log", "var/db", "tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    shutil.copy2(busybox or find_busybox(), root / "bin" / "busybox")
    os.chmod(root / "bin" / "busybox", 0o755)
    for applet in APPLETS:
        link = root / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    files = {"etc/rc": RC, "etc/rc.shutdown": RC_SHUTDOWN, "bin/freebsd-version": FREEBSD_VERSION.format(userland=userland)}
    for rel, text in files.items():
        (root / rel).write_text(text)
        os.chmod(root / rel, 0o755)
    (root / "etc" / "hosts").write_text("::1\t\tlocalhost\n127.0.0.1\t\tlocalhost\n")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    (root / "etc" / "group").write_text("wheel:x:0:root\nnobody:x:65534:\n")
    return root


def pack(root: Path, archive: Path) -> None:
    """`base.txz` (compression from the suffix): members `./bin/…` owned by root, as FreeBSD's are."""
    subprocess.run(["tar", "-C", str(root), "--numeric-owner", "--owner=0", "--group=0", "-caf", str(archive), "."],
                   check=True, env={**os.environ, "XZ_OPT": "-T0"})


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_text(files: dict[str, str]) -> str:
    """FreeBSD MANIFEST lines: file, sha256, count, set, description, default."""
    return "".join(f"{name}\t{digest}\t1\t{name.split('.', 1)[0]}\t\"{name}\"\ton\n" for name, digest in files.items())


def write_manifest(reldir: Path, names: tuple[str, ...] | None = None) -> None:
    chosen = names or tuple(sorted(p.name for p in reldir.iterdir() if p.is_file() and p.name != "MANIFEST"))
    (reldir / "MANIFEST").write_text(manifest_text({n: sha256(reldir / n) for n in chosen}))


def build_release(mirror_dir: Path, release: str = RELEASE, userland: str = USERLAND, busybox: str | None = None,
                  prefix: str = RELEASES_PATH) -> Path:
    """`MIRROR/ftp/releases/amd64/amd64/REL/{base.txz,MANIFEST}`; returns the release directory."""
    reldir = mirror_dir / prefix / release
    reldir.mkdir(parents=True, exist_ok=True)
    work = reldir / ".root"
    try:
        build_root(work, userland, busybox)
        pack(work, reldir / "base.txz")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_manifest(reldir)
    return reldir


def tar_xz(entries: list[tuple[str, bytes | None, str]]) -> bytes:
    """An xz tarball built member by member (name, data or None for a directory, symlink target),
    so tests can write names a real tar refuses to create (`../escape`, `/abs`)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:xz") as tar:
        for name, data, target in entries:
            info = tarfile.TarInfo(name)
            if target:
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
            elif data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


# -- the server -----------------------------------------------------------------------------

@dataclass
class Fault:
    kind: str  # truncate, corrupt, 404, 500, body
    at: int = 0  # truncate: body bytes sent before the connection drops
    data: bytes = b""  # body: what to serve instead


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client hanging up mid-body (a test's full disk) is not the mirror's problem


@dataclass
class MirrorServer:
    """Serves `root` on 127.0.0.1; `faults[path]` changes what one path answers."""

    root: Path
    port: int = 0
    eol: set[str] = field(default_factory=set)
    faults: dict[str, Fault] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    _httpd: _QuietServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> "MirrorServer":
        handler = type("Handler", (_Handler,), {"mirror": self})
        self._httpd = _QuietServer(("127.0.0.1", self.port), handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="mirror", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def path_of(self, release: str = RELEASE, name: str = "") -> str:
        return f"/{RELEASES_PATH}/{release}/{name}"

    def release_url(self, release: str = RELEASE) -> str:
        return self.url + self.path_of(release)

    def fault(self, path: str, kind: str, *, at: int = 0, data: bytes = b"") -> None:
        self.faults[path] = Fault(kind, at, data)

    def clear(self) -> None:
        self.faults.clear()
        self.requests.clear()

    def ranges(self, path: str) -> list[str | None]:
        """The Range headers of the requests for `path`, in order (None: a plain GET)."""
        return [rng for p, rng in self.requests if p == path]


class _Handler(BaseHTTPRequestHandler):
    mirror: MirrorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet: tests read .requests instead
        pass

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        self.mirror.requests.append((path, self.headers.get("Range")))
        fault = self.mirror.faults.get(path)
        if fault and fault.kind in ("404", "500"):
            return self._status(int(fault.kind))
        target = (self.mirror.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.mirror.root.resolve()):
            return self._status(404)
        if fault and fault.kind == "body":
            return self._send(fault.data)
        if target.is_dir():
            return self._send(self._index(path, target), "text/html; charset=utf-8")
        if not target.is_file():
            return self._status(404)
        return self._send_file(target, fault)

    def _status(self, code: int) -> None:
        body = f"{code}\n".encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _index(self, path: str, directory: Path) -> bytes:
        lines = [f"<html><head><title>Index of {html.escape(path)}</title></head><body><pre>"]
        for entry in sorted(directory.iterdir()):
            if entry.name.startswith("."):
                continue
            slash = "/" if entry.is_dir() else ""
            mark = "  EOL" if entry.name in self.mirror.eol else ""
            lines.append(f'<a href="{html.escape(entry.name)}{slash}">{html.escape(entry.name)}{slash}</a>{mark}')
        lines.append("</pre></body></html>\n")
        return "\n".join(lines).encode()

    def _range(self, size: int) -> tuple[int, int] | None | str:
        header = self.headers.get("Range")
        if not header or not header.startswith("bytes="):
            return None
        first, _, last = header[6:].partition("-")
        start = int(first) if first else 0
        end = int(last) if last else size - 1
        if start >= size:
            return "unsatisfiable"
        return start, min(end, size - 1)

    def _send(self, body: bytes, ctype: str = "application/octet-stream") -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_file(self, target: Path, fault: Fault | None) -> None:
        size = target.stat().st_size
        rng = self._range(size)
        if rng == "unsatisfiable":
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = rng if isinstance(rng, tuple) else (0, size - 1)
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        with open(target, "rb") as handle:
            if fault and fault.kind == "truncate":
                handle.seek(start)
                self.wfile.write(handle.read(min(fault.at, end - start + 1)))
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif fault and fault.kind == "corrupt":
                handle.seek(start)
                data = bytearray(handle.read(end - start + 1))
                if data:
                    data[len(data) // 2] ^= 0xFF
                self.wfile.write(bytes(data))
            else:
                self.wfile.flush()
                self.connection.sendfile(handle, start, end - start + 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.mirror", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    build = sub.add_parser("build", help="build the tiny release into DIR (FreeBSD mirror layout)")
    build.add_argument("dir", type=Path)
    build.add_argument("--release", default=RELEASE)
    build.add_argument("--userland", default=None)
    serve = sub.add_parser("serve", help="serve DIR on 127.0.0.1 until interrupted; prints the URL")
    serve.add_argument("dir", type=Path)
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--eol", action="append", default=[], help="mark a release EOL in the index")
    args = parser.parse_args(argv)
    if args.cmd == "build":
        userland = args.userland or (f"{args.release}-p4" if args.release.endswith("-RELEASE") else args.release)
        print(build_release(args.dir, args.release, userland))
        return 0
    server = MirrorServer(args.dir.resolve(), args.port, set(args.eol)).start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
