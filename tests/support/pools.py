"""File-backed test pools with unique names, always destroyed with their files."""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path


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
