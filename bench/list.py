"""`iocjail list -H` against a bare `zfs list -H -r POOL/iocage/jails` of the same datasets, measured
in the same run for N jails (target: ratio <= 2 at N = 1000, roughly constant in N). Not a timed
test: it prints ratios.

    sudo .venv/bin/python bench/list.py [--sizes 10,100,1000] [--runs 5] [--budget 900]

Each jail is what an empty jail is on disk: `jails/NAME` and `jails/NAME/root` datasets (the root
left unmounted: zfs-fuse serves about 1020 mounts at most, and list never reads it), a
config.json and an empty fstab, made with plain zfs (creation time per jail is printed too: it
bounds which N the machine can afford; a size whose estimated creation time exceeds --budget
seconds is skipped and said so). Both commands run as a user runs them, as processes:

  zfs list            zfs list -H -r POOL/iocage/jails            (names, used, avail, refer, mountpoint)
  iocjail list -H     the installed entry point, Python start-up included
  iocjail list -l -H  the long form (one deeper zfs query, for the TEMPLATE column), for reference
  iocjail --version   Python start-up and imports alone, for reference

Each figure is the best of --runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iocjail.services import activate  # noqa: E402
from iocjail.site.host import Host  # noqa: E402
from tests.support.pools import create_pool, destroy_pool  # noqa: E402

IOCJAIL = str(Path(sys.executable).parent / "iocjail")


def config(name: str, i: int) -> str:
    cfg = {"CONFIG_VERSION": "34", "host_hostname": name, "host_hostuuid": name, "release": "13.2-RELEASE-p4",
           "cloned_release": "13.2-RELEASE", "jail_zfs_dataset": f"iocage/jails/{name}/data",
           "ip4_addr": f"em0|10.{i // 65536}.{i // 256 % 256}.{i % 256}/24"}
    return json.dumps(cfg, indent=4, sort_keys=True) + "\n"


def make_jails(parent: str, mountpoint: Path, first: int, stop: int) -> float:
    """Jails j{first}..j{stop-1}; returns the seconds it took."""
    start = time.perf_counter()
    for i in range(first, stop):
        name = f"j{i:05d}"
        subprocess.run(["zfs", "create", f"{parent}/{name}"], check=True, capture_output=True)
        # root unmounted: list never reads it, and zfs-fuse serves about 1020 mounts at most
        subprocess.run(["zfs", "create", "-o", "canmount=noauto", f"{parent}/{name}/root"], check=True,
                       capture_output=True)
        (mountpoint / name / "config.json").write_text(config(name, i))
        (mountpoint / name / "fstab").write_text("")
    return time.perf_counter() - start


def best(argv: list[str], runs: int, env: dict[str, str], expect_lines: int | None = None) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - start)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {out.stderr.strip()}")
        if expect_lines is not None and len(out.stdout.splitlines()) != expect_lines:
            raise RuntimeError(f"{' '.join(argv)}: {len(out.stdout.splitlines())} lines, expected {expect_lines}")
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description="iocjail list vs a bare zfs list of the same jails")
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budget", type=float, default=900.0,
                        help="skip a size whose estimated creation time exceeds this many seconds")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if os.geteuid() != 0 or shutil.which("zpool") is None:
        print("bench/list.py needs root and ZFS (run scripts/host-setup.sh first)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="iocjail-bench-"))
    pool = create_pool(work, size="4G", prefix="iocjb")
    env = {**os.environ, "IOCJAIL_POOL": pool.name, "IOCJAIL_RUNDIR": str(work / "run")}
    results = []
    try:
        host = Host(pool_override=pool.name)
        activate.activate(host, pool.name)
        parent = host.dataset("jails")
        mountpoint = host.path("jails")
        made, per_jail = 0, 0.0
        for n in sizes:
            if per_jail and (n - made) * per_jail > args.budget:
                print(f"N={n}: skipped, creating {n - made} more jails would take about "
                      f"{(n - made) * per_jail:.0f} s (> --budget {args.budget:.0f} s)")
                continue
            seconds = make_jails(parent, mountpoint, made, n)
            per_jail = seconds / (n - made)
            made = n
            zfs = best(["zfs", "list", "-H", "-r", parent], args.runs, env, expect_lines=2 * n + 1)
            short = best([IOCJAIL, "list", "-H"], args.runs, env, expect_lines=n)
            long = best([IOCJAIL, "list", "-l", "-H"], args.runs, env, expect_lines=n)
            startup = best([IOCJAIL, "--version"], args.runs, env)
            results.append((n, per_jail, zfs, short, long, startup))
            print(f"N={n}: created in {seconds:.1f} s ({per_jail * 1000:.0f} ms/jail); "
                  f"zfs list {zfs:.3f} s, iocjail list -H {short:.3f} s (ratio {short / zfs:.2f})", flush=True)
    finally:
        destroy_pool(pool)
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"{'N':>6} {'ms/jail':>8} {'zfs list':>9} {'list -H':>9} {'ratio':>6} {'list -l':>9} {'ratio':>6} "
          f"{'startup':>8}")
    for n, per_jail, zfs, short, long, startup in results:
        print(f"{n:>6} {per_jail * 1000:>8.0f} {zfs:>9.3f} {short:>9.3f} {short / zfs:>6.2f} {long:>9.3f} "
              f"{long / zfs:>6.2f} {startup:>8.3f}")
    if results:
        n, _, zfs, short, _, _ = results[-1]
        if n < 1000:
            verdict = f"not measured: the largest N run was {n}"
        else:
            verdict = "met" if short / zfs <= 2 else "NOT met"
        print(f"ratio iocjail list -H / zfs list -H -r at N={n}: {short / zfs:.2f} (target <= 2 at N=1000: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
