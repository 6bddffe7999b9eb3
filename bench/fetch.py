"""Fetch throughput from the loopback mirror, as a ratio of a plain `requests` download of the
same bytes measured in the same run (target >= 0.8). Not a timed test: it prints ratios.

    sudo .venv/bin/python bench/fetch.py [--size-mib 64] [--runs 3]

A release whose base.txz holds SIZE MiB of incompressible data is served by the test mirror
(tests/support/mirror.py). For each run, best of RUNS:

  plain → /dev/null   requests.get(stream=True), 1 MiB chunks, bytes thrown away
  plain → dataset     the same, written to a file in POOL/iocage/download (the cache's disk)
  iocjail download    `fetch`'s download phase: MANIFEST, Range-capable download, sha256 while
                      writing, fsync, rename, into POOL/iocage/download/REL
  iocjail fetch       the whole command (download + member check + tar extraction), for scale

The 0.8 target is for "iocjail download / plain → dataset": both write the same bytes to the
same (zfs-fuse on Linux) disk, so the ratio measures what iocjail adds. Against /dev/null the
ratio mostly measures the disk, and is printed for reference.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iocjail.services import activate, fetch  # noqa: E402
from iocjail.site.host import Host  # noqa: E402
from tests.support import mirror as test_mirror  # noqa: E402
from tests.support.pools import create_pool, destroy_pool  # noqa: E402

REL = "13.2-RELEASE"
CHUNK = 1 << 20


class Timing:
    """A fetch Reporter that notes when the download phase starts and ends."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.last = 0.0

    def begin(self, name: str, total: int | None, done: int) -> None:
        self.first = self.first or time.perf_counter()

    def advance(self, nbytes: int) -> None:
        pass

    def end(self) -> None:
        self.last = time.perf_counter()

    def step(self, text: str) -> None:
        pass


def build_mirror(root: Path, size_mib: int) -> Path:
    reldir = root / test_mirror.RELEASES_PATH / REL
    reldir.mkdir(parents=True)
    tree = root / "tree"
    test_mirror.build_root(tree)
    with open(tree / "payload.bin", "wb") as out:
        for _ in range(size_mib):
            out.write(os.urandom(CHUNK))
    subprocess.run(["tar", "-C", str(tree), "-cf", str(reldir / "base.txz"), "-I", "xz -0 -T0", "."], check=True)
    shutil.rmtree(tree)
    test_mirror.write_manifest(reldir)
    return reldir / "base.txz"


def plain(url: str, sink: Path | None) -> float:
    start = time.perf_counter()
    with requests.get(url, stream=True, timeout=60) as resp, open(sink or os.devnull, "wb") as out:
        resp.raise_for_status()
        for chunk in resp.iter_content(CHUNK):
            out.write(chunk)
        if sink is not None:
            out.flush()
            os.fsync(out.fileno())
    elapsed = time.perf_counter() - start
    if sink is not None:
        sink.unlink()
    return elapsed


def iocjail_run(host: Host, server: str) -> tuple[float, float]:
    for ds in (host.dataset("download", REL), host.dataset("releases", REL)):
        if host.zfs.exists(ds):
            host.zfs.destroy(ds, recursive=True)
    timing = Timing()
    start = time.perf_counter()
    fetch.fetch(host, REL, fetch.remote_source(REL, server=server), noupdate=True, reporter=timing)
    total = time.perf_counter() - start
    assert timing.first is not None
    return timing.last - timing.first, total


def main() -> int:
    parser = argparse.ArgumentParser(description="iocjail fetch throughput vs a plain requests download")
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("zpool") is None:
        print("bench/fetch.py needs root and ZFS (run scripts/host-setup.sh first)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="iocjail-bench-"))
    pool = create_pool(work, size="2G", prefix="iocjb")
    server = None
    try:
        archive = build_mirror(work / "mirror", args.size_mib)
        size = archive.stat().st_size
        server = test_mirror.MirrorServer(work / "mirror").start()
        host = Host(pool_override=pool.name)
        activate.activate(host, pool.name)
        url = server.url + server.path_of(REL, "base.txz")
        sink = host.path("download") / "plain.bin"
        to_null = min(plain(url, None) for _ in range(args.runs))
        to_disk = min(plain(url, sink) for _ in range(args.runs))
        runs = [iocjail_run(host, server.url) for _ in range(args.runs)]
        download = min(r[0] for r in runs)
        whole = min(r[1] for r in runs)
    finally:
        if server is not None:
            server.stop()
        destroy_pool(pool)
        shutil.rmtree(work, ignore_errors=True)

    def rate(seconds: float) -> str:
        return f"{size / seconds / 2**20:8.1f} MiB/s"

    print(f"base.txz: {size / 2**20:.1f} MiB from {server.url}, best of {args.runs}")
    print(f"  plain requests -> /dev/null   {rate(to_null)}")
    print(f"  plain requests -> dataset     {rate(to_disk)}")
    print(f"  iocjail download (verified)   {rate(download)}")
    print(f"  iocjail fetch (+ extraction)  {rate(whole)}")
    ratio = to_disk / download
    print(f"ratio iocjail download / plain -> dataset:   {ratio:.2f}  (target >= 0.8: "
          f"{'met' if ratio >= 0.8 else 'NOT met'})")
    print(f"ratio iocjail download / plain -> /dev/null: {to_null / download:.2f}  (the disk's share)")
    print(f"ratio whole fetch / plain -> dataset:        {to_disk / whole:.2f}  (extraction included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
