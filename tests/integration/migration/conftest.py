"""A pool with a fetched release (provision's fixtures), and archives built by hand from real streams."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from iocjail.archive import members as M
from tests.integration.provision.conftest import fetched, iocroot, mark_running  # noqa: F401
from tests.support.cli import iocjail, names, ok, zfs

REL = "13.2-RELEASE"


def today() -> str:
    return M.date_of(datetime.now(timezone.utc))


def refused(*args: str, code: int = 1) -> str:
    result = iocjail(*args)
    assert result.exit_code == code, result.output
    assert result.output.count("\n") >= 1 and "Traceback" not in result.output
    return result.output


def tree(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path under root: kind, mode, owner, and content hash or link target."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", st.st_mode, st.st_uid, st.st_gid, hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                out[rel] = ("other", st.st_mode, st.st_uid, st.st_gid)
    return out


def stream_of(pool: str, name: str, files: dict[str, bytes | str], *, props: dict[str, str] | None = None,
              child: bool = False, snapshot: str = "ioc-export-x") -> bytes:
    """A real full `zfs send` of a scratch dataset holding `files` (str values: symlinks);
    `props` are sent along (-p), `child` makes it a replication stream with a child (-R)."""
    ds = f"{pool}/scratch/{name}"
    subprocess.run(["zfs", "create", "-p", ds], check=True)
    try:
        mnt = Path(zfs("get", "-H", "-o", "value", "mountpoint", ds).strip())
        for rel, content in files.items():
            (mnt / rel).parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                (mnt / rel).symlink_to(content)
            else:
                (mnt / rel).write_bytes(content)
        if child:
            subprocess.run(["zfs", "create", f"{ds}/extra"], check=True)
        for key, value in (props or {}).items():
            subprocess.run(["zfs", "set", f"{key}={value}", ds], check=True)
        subprocess.run(["zfs", "snapshot", "-r", f"{ds}@{snapshot}"], check=True)
        flags = ["-R"] if child else ["-p"] if props else []
        return subprocess.run(["zfs", "send", *flags, f"{ds}@{snapshot}"], check=True, capture_output=True).stdout
    finally:
        subprocess.run(["zfs", "destroy", "-r", ds], capture_output=True)


def write_archive(path: Path, members: list[tuple[str, bytes]], *, compression: int = zipfile.ZIP_DEFLATED,
                  checksum: bool = True) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression, allowZip64=True) as zf:
        for name, data in members:
            zf.writestr(name, data)
    if checksum:
        path.with_name(path.name[: -len(".zip")] + ".sha256").write_text(hashlib.sha256(path.read_bytes()).hexdigest())
    return path


def jail_datasets(pool: str) -> set[str]:
    return {n for n in names(f"{pool}/iocage/jails") | names(f"{pool}/iocage/templates")
            if n not in (f"{pool}/iocage/jails", f"{pool}/iocage/templates")}


@pytest.fixture
def scratch(fetched):  # noqa: F811
    return fetched
