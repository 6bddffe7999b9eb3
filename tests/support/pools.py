"""File-backed test pools with unique names, always destroyed with their files."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from iocjail.errors import ZfsError
from iocjail.platform.zfs import Zfs


@dataclass(frozen=True)
class TestPool:
    name: str
    image: Path
    mountpoint: Path

    __test__ = False  # not a test class, despite the name


def unique_name(prefix: str = "iocjt") -> str:
    return f"{prefix}{os.getpid()}{secrets.token_hex(3)}"


def create_pool(workdir: Path, size: str = "1G", prefix: str = "iocjt") -> TestPool:
    name = unique_name(prefix)
    image = workdir / f"{name}.img"
    mountpoint = workdir / f"{name}.mnt"
    subprocess.run(["truncate", "-s", size, str(image)], check=True)
    try:
        subprocess.run(["zpool", "create", "-o", "cachefile=none", "-m", str(mountpoint), name, str(image)],
                       check=True, capture_output=True, text=True, timeout=120)
    except subprocess.CalledProcessError as err:
        image.unlink(missing_ok=True)
        raise RuntimeError(f"zpool create {name} failed: {err.stderr.strip()}") from err
    return TestPool(name, image, mountpoint)


def destroy_pool(pool: TestPool) -> None:
    """Best effort and thorough: a failed test must not leave a pool or a file behind."""
    for _ in range(5):
        try:
            done = subprocess.run(["zpool", "destroy", "-f", pool.name], capture_output=True, timeout=120)
            gone = subprocess.run(["zpool", "list", "-H", pool.name], capture_output=True, timeout=60).returncode != 0
        except subprocess.TimeoutExpired:
            break  # a wedged zfs-fuse: remove the file below and let the run report what hung
        if done.returncode == 0 or gone:
            break
        subprocess.run(["sleep", "0.5"])
    pool.image.unlink(missing_ok=True)
    try:
        pool.mountpoint.rmdir()
    except OSError:
        pass


# -- teardown: bounded and honest ---------------------------------------------------------------

TEARDOWN_SECONDS = 30.0


def holders(mountpoint: str) -> list[str]:
    """What keeps datasets under `mountpoint` busy: processes whose root, cwd or open files lie
    there or on a filesystem unmounted lazily (its path no longer names it: zfs unmount -f detaches
    a busy mount, and its holders stay), and mounts on top of it that ZFS did not make."""
    prefix = mountpoint.rstrip("/") + "/"
    found: list[str] = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        lines = []
    mounted = {os.makedev(*map(int, line.split()[2].split(":"))) for line in lines}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = [proc / "root", proc / "cwd", *(proc / "fd").iterdir()]
            comm = (proc / "comm").read_text().strip()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        inside = sorted({place for link in links if (place := _held_place(link, prefix, mounted)) is not None})
        if inside:
            found.append(f"pid {proc.name} ({comm}): {', '.join(inside[:3])}")
    for line in lines:
        fields = line.split()
        target, fstype = fields[4], fields[fields.index("-") + 1]
        if (target == mountpoint or target.startswith(prefix)) and fstype not in ("fuse.zfs", "zfs"):
            found.append(f"{fstype} mount on {target}")
    return found


def _held_place(link: Path, prefix: str, mounted: set[int]) -> str | None:
    try:
        place = os.readlink(link)
        if not place.startswith("/"):
            return None  # a pipe, a socket, an anonymous inode
        if place.startswith(prefix) or place + "/" == prefix:
            return place
        device = os.stat(link).st_dev
    except OSError:
        return None
    return f"{place} on a detached filesystem" if device not in mounted else None


def destroy_children(name: str, *, seconds: float = TEARDOWN_SECONDS) -> None:
    """Destroy every child (dependent clones included) and snapshot of `name`, keeping it.

    A busy dataset (zfs-fuse reports "busy" while a process or a mount still holds one) is retried
    with backoff for `seconds`, then reported with what holds it: never an endless wait, never a
    silent leftover that fails the next test instead.
    """
    zfs = Zfs()
    deadline = time.monotonic() + seconds
    delay = 0.2
    while True:
        try:
            for child in zfs.list_datasets(name, depth=1):
                if child.name != name:
                    zfs.destroy(child.name, recursive=True, dependents=True)
            for snap in zfs.snapshots(name):
                zfs.destroy(snap.name)
            return
        except ZfsError as err:
            if time.monotonic() + delay > deadline:
                mountpoint = zfs.get(name, "mountpoint") or ""
                held = holders(mountpoint) if mountpoint.startswith("/") else []
                raise RuntimeError(f"teardown of {name} gave up after {seconds:.0f}s: {err}; held by: "
                                   f"{'; '.join(held) or 'nothing found under ' + mountpoint}") from err
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
