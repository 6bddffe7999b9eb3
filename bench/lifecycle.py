"""start+stop of one jail vs the bare namespace commands it wraps, measured in the same run.
Not a timed test: it prints times and ratios (iocjail's own overhead).

    sudo .venv/bin/python bench/lifecycle.py [--runs 10]

The jail is the tiny busybox release (tests/support/mirror.py) on a file-backed pool, with the
default config (no vnet: a private network namespace, default hooks /usr/bin/true).

  bare            unshare --mount --uts --ipc --pid --net --fork --root ROOT --mount-proc sleep
                  (a pid 1 that stays), nsenter -a … /bin/sh /etc/rc, nsenter -a … /bin/sh
                  /etc/rc.shutdown, kill: the namespace work alone, no journal, /dev, lock or hooks
  iocjail service services.lifecycle.start + stop in this process: plan, lock, journal, devfs,
                  hooks, holder with pivot_root, undo
  iocjail CLI     `iocjail start` + `iocjail stop` as a user runs them (Python start-up and the
                  pool/config lookups included)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iocjail.services import activate, lifecycle  # noqa: E402
from iocjail.site.host import Host  # noqa: E402
from tests.support.jails import thin_config  # noqa: E402
from tests.support.mirror import build_root  # noqa: E402
from tests.support.pools import create_pool, destroy_pool  # noqa: E402

IOCJAIL = str(Path(sys.executable).parent / "iocjail")


def bare(root: Path) -> float:
    start = time.perf_counter()
    holder = subprocess.Popen(["unshare", "--mount", "--uts", "--ipc", "--pid", "--net", "--fork", f"--root={root}",
                               "--mount-proc", "/bin/sleep", "1000"], start_new_session=True,
                              stderr=subprocess.DEVNULL)  # unshare reports the SIGKILL of its child
    child = None
    while child is None:  # unshare's child is the namespace's pid 1
        try:
            found = Path(f"/proc/{holder.pid}/task/{holder.pid}/children").read_text().split()
        except OSError:
            found = []
        child = found[0] if found else None
    enter = ["nsenter", "--target", child, "--mount", "--uts", "--ipc", "--net", "--pid", "--root", "--wd"]
    subprocess.run([*enter, "/bin/sh", "/etc/rc"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*enter, "/bin/sh", "/etc/rc.shutdown"], check=True, stdout=subprocess.DEVNULL)
    os.kill(int(child), signal.SIGKILL)
    holder.wait()
    return time.perf_counter() - start


def service(host: Host, profile: bool = False) -> float:
    start = time.perf_counter()
    lifecycle.start(host, "b1")
    lifecycle.stop(host, "b1")
    return time.perf_counter() - start


def cli(env: dict[str, str]) -> float:
    start = time.perf_counter()
    for verb in ("start", "stop"):
        subprocess.run([IOCJAIL, verb, "b1"], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description="iocjail start+stop vs bare unshare/nsenter")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("zpool") is None or shutil.which("unshare") is None:
        print("bench/lifecycle.py needs root, ZFS and util-linux (run scripts/host-setup.sh first)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="iocjail-bench-"))
    pool = create_pool(work, size="512M", prefix="iocjb")
    os.environ["IOCJAIL_RUNDIR"] = str(work / "run")
    os.environ["IOCJAIL_POOL"] = pool.name
    try:
        host = Host(pool_override=pool.name)
        activate.activate(host, pool.name)
        host.zfs.create(host.dataset("jails", "b1"))
        host.zfs.create(host.dataset("jails", "b1", "root"))
        path = host.path("jails", "b1")
        (path / "config.json").write_text(json.dumps(thin_config("b1"), indent=4, sort_keys=True) + "\n")
        (path / "fstab").write_text("")
        root = build_root(path / "root")
        bare(root)
        service(host)  # warm both paths once
        bare_t = min(bare(root) for _ in range(args.runs))
        service_t = min(service(host) for _ in range(args.runs))
        cli_t = min(cli(dict(os.environ)) for _ in range(max(1, args.runs // 2)))
    finally:
        destroy_pool(pool)
        shutil.rmtree(work, ignore_errors=True)
    print(f"start+stop of one jail, best of {args.runs}")
    print(f"  bare unshare + nsenter   {bare_t * 1000:8.1f} ms")
    print(f"  iocjail (service)        {service_t * 1000:8.1f} ms")
    print(f"  iocjail (CLI, 2 calls)   {cli_t * 1000:8.1f} ms")
    print(f"ratio iocjail service / bare: {service_t / bare_t:.1f}x  (iocjail's own overhead)")
    print(f"ratio iocjail CLI / bare:     {cli_t / bare_t:.1f}x  (with Python start-up and ZFS lookups)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
