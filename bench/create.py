"""Thin `create` against the raw ZFS work it stands for, measured in the same run (target <= 1.5).
Not a timed test: it prints medians and ratios.

    sudo .venv/bin/python bench/create.py [--runs 15]

On a throw-away file-backed pool holding a small release (the busybox userland of the test
mirror, laid out by hand as an adopted release), each round times, interleaved:

  by hand          `zfs snapshot releases/REL/root@N` + `zfs clone -p …@N jails/N/root`
  iocjail create   services.create.create(): one batched query, the same snapshot and clone,
                   locks, config.json, fstab, /etc/hosts, rc.conf (a fresh Host each time, as a
                   CLI run has)
  iocjail CLI      the `iocjail create -r REL -n N` process, Python start-up included, for scale

The 1.5 target is for "iocjail create / by hand": both pay the same zfs-fuse commands, so the ratio
is what iocjail adds (its extra query and its files).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iocjail.platform.zfs import Zfs  # noqa: E402
from iocjail.services import activate, create  # noqa: E402
from iocjail.site.host import Host  # noqa: E402
from tests.support import mirror as test_mirror  # noqa: E402
from tests.support.pools import create_pool, destroy_pool  # noqa: E402

REL = "13.2-RELEASE"
CLI = str(Path(sys.executable).parent / "iocjail")


def timed(action) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def setup(pool: str) -> Host:
    host = Host(pool_override=pool)
    activate.activate(host, pool)
    zfs = Zfs()
    root_ds = f"{pool}/iocage/releases/{REL}/root"
    zfs.create(root_ds, parents=True)
    test_mirror.build_root(Path(zfs.get(root_ds, "mountpoint") or "/nonexistent"), "13.2-RELEASE-p4")
    return host


def rounds(pool: str, runs: int) -> dict[str, list[float]]:
    iocage = f"{pool}/iocage"
    times: dict[str, list[float]] = {"by hand": [], "iocjail create": [], "iocjail CLI": []}
    env = {**os.environ, "IOCJAIL_POOL": pool}
    for i in range(runs):
        snap = f"{iocage}/releases/{REL}/root@h{i}"
        request = create.CreateRequest(release=REL, name=f"s{i}")
        steps = {
            "by hand": lambda: (subprocess.run(["zfs", "snapshot", snap], check=True),
                                subprocess.run(["zfs", "clone", "-p", snap, f"{iocage}/jails/h{i}/root"], check=True)),
            "iocjail create": lambda: create.create(Host(pool_override=pool), request),
            "iocjail CLI": lambda: subprocess.run([CLI, "create", "-r", REL, "-n", f"c{i}"], check=True, env=env,
                                                  capture_output=True),
        }
        order = list(steps)
        for label in order[i % 3:] + order[:i % 3]:  # rotate: no variant always follows another
            times[label].append(timed(steps[label]))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/create.py needs root (it makes a zfs pool)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="iocjail-bench-") as work:
        os.environ["IOCJAIL_RUNDIR"] = str(Path(work) / "run")
        pool = create_pool(Path(work), size="512M", prefix="iocjb")
        try:
            setup(pool.name)
            times = rounds(pool.name, args.runs)
        finally:
            destroy_pool(pool)
    base = statistics.median(times["by hand"])
    print(f"thin create, {args.runs} rounds, medians (zfs-fuse pool on a file):")
    for label, values in times.items():
        ratio = statistics.median(values) / base
        print(f"  {label:15} {statistics.median(values) * 1000:8.1f} ms   ratio {ratio:4.2f}")
    ratio = statistics.median(times["iocjail create"]) / base
    print(f"iocjail create / by hand = {ratio:.2f} (target <= 1.5): {'met' if ratio <= 1.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
