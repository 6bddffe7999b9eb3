"""export and import throughput, as ratios of the raw `zfs send` / `zfs receive` of the same data
measured in the same run (target >= 0.7 with store). Not a timed test: it prints ratios.

    sudo .venv/bin/python bench/export.py [--size-mib 256] [--runs 6]

A jail (`create -e`) whose root holds SIZE MiB of incompressible files is exported and imported on
a throw-away file-backed pool. Best of RUNS. zfs-fuse writes behind (a big write is flushed during
whatever runs next), so every step starts once the daemon is idle and the host has synced the
pool's file (settle()): no step pays for the one before it.

  send > /dev/null       `zfs send` of the jail's two datasets, output thrown away (the issue's
                         reference: it measures ZFS reading alone)
  send > images/         the same streams written to files in POOL/iocage/images, where the
                         archive goes: the raw cost of producing the export's bytes on that disk
  iocjail export         services.export.export(compression=store): snapshot, streams into the
                         zip, sha256 while writing, fsync, rename, .sha256, snapshots destroyed
  export (deflate)       the same with -c deflate, for scale
  receive < images/      `zfs receive` of those stream files into new datasets
  receive < pipe         `cat FILE | zfs receive`: zfs-fuse reads a pipe faster than a file on
                         its own mount, so this is the stricter reference for import
  iocjail import         services.imports.import_archive(): sha256 check of the archive first,
                         member checks, a receive per member (splice(2) into the pipe),
                         property/dataset checks, snapshots dropped, mount
  import --no-verify     the same without the sha256 pass

Ratios are raw time / iocjail time (1.0 = as fast as the raw operation). On zfs-fuse, `zfs send
> /dev/null` skips writing entirely, so "export / send > /dev/null" mostly measures the pool's
write speed; "export / send > images" compares the same bytes written to the same disk.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iocjail.platform.zfs import Zfs  # noqa: E402
from iocjail.services import activate, create, export, imports  # noqa: E402
from iocjail.site.host import Host  # noqa: E402
from tests.support.pools import create_pool, destroy_pool  # noqa: E402

TARGET = 0.7


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def setup(pool: str, size_mib: int) -> Host:
    host = Host(pool_override=pool)
    activate.activate(host, pool)
    create.create(Host(pool_override=pool), create.CreateRequest(name="src", empty=True))
    root = host.path("jails", "src", "root")
    for i in range(size_mib // 4):
        (root / f"blob{i:03d}").write_bytes(os.urandom(4 << 20))
    return host


def raw_send(pool: str, target: Path | None, tag: str) -> Callable[[], None]:
    datasets = [f"{pool}/iocage/jails/src", f"{pool}/iocage/jails/src/root"]

    def run() -> None:
        for i, ds in enumerate(datasets):
            with (target / f"{tag}{i}.stream").open("wb") if target else open(os.devnull, "wb") as out:
                subprocess.run(["zfs", "send", f"{ds}@raw"], stdout=out, check=True)
                if target:
                    out.flush()
                    os.fsync(out.fileno())
    return run


def raw_receive(pool: str, images: Path, tag: str, *, piped: bool = False) -> Callable[[], None]:
    """`zfs receive < file`, or (`piped`) `cat file | zfs receive` as a shell pipeline runs it."""
    def run() -> None:
        for i, rel in enumerate(("", "/root")):
            target = f"{pool}/iocage/jails/raw{rel}"
            if piped:
                cat = subprocess.Popen(["cat", str(images / f"{tag}{i}.stream")], stdout=subprocess.PIPE)
                subprocess.run(["zfs", "receive", "-u", target], stdin=cat.stdout, check=True)
                assert cat.stdout is not None
                cat.stdout.close()
                if cat.wait() != 0:
                    raise RuntimeError("cat failed")
                continue
            with (images / f"{tag}{i}.stream").open("rb") as stream:
                subprocess.run(["zfs", "receive", "-u", target], stdin=stream, check=True)
    return run


def daemon_ticks() -> int | None:
    """CPU ticks used so far by the ZFS daemon (zfs-fuse), None where there is none (kernel ZFS)."""
    found = subprocess.run(["pgrep", "-x", "zfs-fuse"], capture_output=True, text=True).stdout.split()
    if not found:
        return None
    fields = Path(f"/proc/{found[0]}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def dirty_kib() -> int:
    """Host page cache not yet on disk (Dirty + Writeback): the pool's file is written from there."""
    fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return int(fields["Dirty"].split()[0]) + int(fields["Writeback"].split()[0])


def settle(limit: float = 20.0) -> None:
    """Wait until zfs-fuse has flushed what the last operation left it to write (its CPU idle for
    0.6 s) and the host has written the pool's file out (sync): each timed operation then starts
    from the same quiet pool instead of paying for the one before it."""
    deadline = time.monotonic() + limit
    last, quiet = daemon_ticks(), 0
    while last is not None and quiet < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
        now = daemon_ticks()
        quiet = quiet + 1 if now is not None and now - last <= 1 else 0
        last = now
    os.sync()
    while dirty_kib() > 8192 and time.monotonic() < deadline:
        time.sleep(0.1)


def rounds(host: Host, runs: int) -> tuple[dict[str, float], int]:
    pool, zfs, images = host.pool, Zfs(), host.path("images")
    zfs.snapshot(f"{pool}/iocage/jails/src@raw", recursive=True)
    best: dict[str, float] = {}
    size = 0

    def measure(label: str, action: Callable[[], object]) -> None:
        settle()
        seconds = timed(action)
        best[label] = min(best.get(label, seconds), seconds)

    def clear_images() -> None:
        for path in images.iterdir():
            path.unlink()

    for _ in range(runs):
        done: list[export.Exported] = []
        measure("send > /dev/null", raw_send(pool, None, "null"))
        measure("send > images/", raw_send(pool, images, "raw"))
        measure("iocjail export", lambda: done.append(export.export(Host(pool_override=pool), "src")))
        size = done[-1].streamed
        archive = done[-1].archive
        measure("receive < images/", raw_receive(pool, images, "raw"))
        zfs.destroy(f"{pool}/iocage/jails/raw", recursive=True)
        measure("receive < pipe", raw_receive(pool, images, "raw", piped=True))
        zfs.destroy(f"{pool}/iocage/jails/raw", recursive=True)
        measure("iocjail import", lambda: imports.import_archive(Host(pool_override=pool), str(archive),
                                                                 new_name="imp"))
        zfs.destroy(f"{pool}/iocage/jails/imp", recursive=True)
        measure("import --no-verify", lambda: imports.import_archive(
            Host(pool_override=pool), str(archive), new_name="imp", verify_checksum=False))
        zfs.destroy(f"{pool}/iocage/jails/imp", recursive=True)
        clear_images()
        measure("export (deflate)", lambda: export.export(Host(pool_override=pool), "src", compression="deflate"))
        clear_images()
    return best, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/export.py needs root (it makes a zfs pool)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="iocjail-bench-") as work:
        os.environ["IOCJAIL_RUNDIR"] = str(Path(work) / "run")
        pool = create_pool(Path(work), size=f"{max(2048, args.size_mib * 8)}M", prefix="iocjb")
        try:
            host = setup(pool.name, args.size_mib)
            best, size = rounds(host, args.runs)
        finally:
            destroy_pool(pool)
    mib = size / (1 << 20)
    print(f"export/import of a {mib:.0f} MiB jail (streams), best of {args.runs} (zfs-fuse pool on a file):")
    for label, seconds in best.items():
        print(f"  {label:20} {seconds:7.2f} s  {mib / seconds:8.1f} MiB/s")
    ratios = {
        "export / send > /dev/null": best["send > /dev/null"] / best["iocjail export"],
        "export / send > images/": best["send > images/"] / best["iocjail export"],
        "import / receive": best["receive < images/"] / best["iocjail import"],
        "import / receive < pipe": best["receive < pipe"] / best["iocjail import"],
        "import --no-verify / receive": best["receive < images/"] / best["import --no-verify"],
    }
    for label, ratio in ratios.items():
        print(f"{label:30} = {ratio:.2f} (target >= {TARGET}): {'met' if ratio >= TARGET else 'NOT met'}")
    hashing = hash_seconds(size)
    print(f"the export's sha256 alone, on bytes in memory, takes {hashing:.2f} s: no export that hashes can "
          f"reach more than {best['send > /dev/null'] / hashing:.2f} of send > /dev/null on this CPU")
    return 0


def hash_seconds(size: int) -> float:
    """Best of 3: the sha256 of SIZE bytes already in memory (what the .sha256 costs at least)."""
    data = os.urandom(min(size, 64 << 20))
    rounds = max(1, size // len(data))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        digest = hashlib.sha256()
        for _ in range(rounds):
            digest.update(data)
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    sys.exit(main())
