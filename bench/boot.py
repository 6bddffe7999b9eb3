"""`start --rc` wall time against the serial sum and the critical path of the same boot graph,
measured in the same run. Not a timed test: it prints ratios.

    sudo .venv/bin/python bench/boot.py [--jails 20 100] [--sleep 1.0] [--jobs N] [--serial]

On a throw-away file-backed pool holding the tiny busybox release (laid out by hand), N real
Linux jails are cloned; each one's exec_start sleeps SLEEP seconds. The graph is fixed by a
seed: four priorities (10, 20, 30, 40), each jail past the first priority depending on one or
two jails of the previous one, and one jail in ten a boot=off dependency. Then:

  one jail         the start of a single jail alone, median of 3 (its cost c: SLEEP + overhead)
  critical path    model.boot.critical_path of the schedule, every jail costing c: the best any
                   scheduler can do with unlimited jobs and no contention
  serial sum       N x c, what iocage's one-by-one --rc takes (measured with --serial)
  start --rc       services.boot.start_rc with --jobs (default: the graph's width), wall time

The 1.3 target is for "start --rc / critical path" with --jobs >= the graph's width: it is what
the scheduler and the contention of parallel starts on this machine add. `stop --rc` is timed
for reference.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iocjail.model.boot import critical_path, start_schedule  # noqa: E402
from iocjail.platform.zfs import Zfs  # noqa: E402
from iocjail.site import jails
from iocjail.services import activate, boot, lifecycle  # noqa: E402
from iocjail.site.host import Host  # noqa: E402
from tests.support import mirror as test_mirror  # noqa: E402
from tests.support.jails import thin_config  # noqa: E402
from tests.support.pools import create_pool, destroy_pool  # noqa: E402

REL = "13.2-RELEASE"
PRIORITIES = (10, 20, 30, 40)


def graph(n: int, seed: int = 8) -> dict[str, dict[str, str]]:
    """name -> boot/priority/depends for N jails (see the module doc)."""
    rng = random.Random(seed)
    per = [n // len(PRIORITIES) + (1 if i < n % len(PRIORITIES) else 0) for i in range(len(PRIORITIES))]
    groups: list[list[str]] = []
    props: dict[str, dict[str, str]] = {}
    for g, (prio, count) in enumerate(zip(PRIORITIES, per)):
        names = [f"j{prio}_{i:03d}" for i in range(count)]
        for name in names:
            deps = rng.sample(groups[-1], k=min(len(groups[-1]), rng.choice((1, 2)))) if g and groups[-1] else []
            props[name] = {"boot": "1", "priority": str(prio), "depends": " ".join(sorted(deps)) or "none"}
        groups.append(names)
    for name in rng.sample(sorted(props), k=n // 10):  # boot=off: started only because needed
        props[name]["boot"] = "0"
    needed = {d for p in props.values() for d in p["depends"].split() if d != "none"}
    for name, p in props.items():
        if p["boot"] == "0" and name not in needed:
            p["boot"] = "1"  # a boot=off jail nothing needs would not start at all: keep N jails
    return props


def setup(pool: str, props: dict[str, dict[str, str]], sleep: float) -> Host:
    host = Host(pool_override=pool)
    activate.activate(host, pool)
    zfs = Zfs()
    release = f"{pool}/iocage/releases/{REL}/root"
    zfs.create(release, parents=True)
    test_mirror.build_root(Path(zfs.get(release, "mountpoint") or "/nonexistent"), "13.2-RELEASE-p4")
    for name, p in props.items():
        zfs.snapshot(f"{release}@{name}")
        zfs.create(f"{pool}/iocage/jails/{name}")
        zfs.clone(f"{release}@{name}", f"{pool}/iocage/jails/{name}/root")
        path = host.path("jails", name)
        cfg = thin_config(name, exec_start=f"sleep {sleep}", exec_stop="/bin/true", **p)
        (path / "config.json").write_text(json.dumps(cfg, indent=4, sort_keys=True) + "\n")
        (path / "fstab").write_text("")
    return host


def one_jail(host: Host, name: str) -> float:
    ref = jails.resolve(host, name)
    times = []
    for _ in range(3):
        began = time.perf_counter()
        lifecycle.start_one(host, ref)
        times.append(time.perf_counter() - began)
        lifecycle.stop_one(host, name)
    return statistics.median(times)


def measure(host: Host, props: dict[str, dict[str, str]], jobs: int | None, serial: bool) -> dict[str, float]:
    found = boot.gather(host)
    schedule = start_schedule(found.jails.values())
    assert len(schedule.tasks) == len(props), "every jail of the bench boots"
    cost = one_jail(host, next(iter(props)))
    jobs = jobs or schedule.width
    out = {"n": len(props), "width": schedule.width, "jobs": jobs, "cost": cost,
           "critical": critical_path(schedule, lambda _: cost), "serial_est": cost * len(props)}
    began = time.perf_counter()
    outcomes = boot.start_rc(host, jobs)
    out["rc"] = time.perf_counter() - began
    assert all(o.ok for o in outcomes), [o.line() for o in outcomes if not o.ok]
    began = time.perf_counter()
    boot.stop_rc(host, jobs)
    out["stop"] = time.perf_counter() - began
    if serial:
        began = time.perf_counter()
        boot.start_rc(host, 1)
        out["serial"] = time.perf_counter() - began
        boot.stop_rc(host, jobs)
    return out


def report(r: dict[str, float], sleep: float) -> None:
    serial = r.get("serial", r["serial_est"])
    kind = "measured" if "serial" in r else "N x one jail"
    print(f"{int(r['n'])} jails, exec_start sleeps {sleep}s, graph width {int(r['width'])}, --jobs {int(r['jobs'])}")
    print(f"  one jail alone     {r['cost']:7.2f} s")
    print(f"  critical path      {r['critical']:7.2f} s")
    print(f"  serial sum         {serial:7.2f} s  ({kind})")
    print(f"  start --rc         {r['rc']:7.2f} s")
    print(f"  stop --rc          {r['stop']:7.2f} s")
    ratio = r["rc"] / r["critical"]
    met = "met" if ratio <= 1.3 else "NOT met"
    print(f"  start --rc / serial sum     {r['rc'] / serial:5.2f}")
    print(f"  start --rc / critical path  {ratio:5.2f}  (target <= 1.3 with --jobs >= width: {met})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jails", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--sleep", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=None, help="default: the graph's width")
    parser.add_argument("--serial", action="store_true", help="also time a --jobs 1 boot (slow)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/boot.py needs root (a zfs pool and Linux namespaces)", file=sys.stderr)
        return 2
    for n in args.jails:
        with tempfile.TemporaryDirectory(prefix="iocjail-bench-") as work:
            os.environ["IOCJAIL_RUNDIR"] = str(Path(work) / "run")
            pool = create_pool(Path(work), size="1G", prefix="iocjb")
            try:
                props = graph(n)
                host = setup(pool.name, props, args.sleep)
                result = measure(host, props, args.jobs, args.serial)
            finally:
                try:
                    lifecycle.stop(Host(pool_override=pool.name), ["ALL"], force=True)
                finally:
                    destroy_pool(pool)
        report(result, args.sleep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
