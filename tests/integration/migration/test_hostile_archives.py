"""Archives built to hurt: each is refused with one clear line, and the pool is left as it was.

The streams are real `zfs send` output of scratch datasets; only the zip around them is crafted.
"""

from __future__ import annotations

import io
import struct
import tarfile
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest

from tests.integration.migration.conftest import jail_datasets, refused, stream_of, write_archive
from tests.support.cli import names, ok

D = "2024-05-01"
CONFIG = b'{\n    "CONFIG_VERSION": "34",\n    "host_hostname": "web",\n    "host_hostuuid": "web",\n' \
         b'    "release": "13.2-RELEASE-p4"\n}\n'


@pytest.fixture
def streams(fetched):
    parent = stream_of(fetched, "parent", {"config.json": CONFIG, "fstab": b""})
    root = stream_of(fetched, "root", {"etc/motd": b"hi\n", "bin/sh": b"\x7fELF" + bytes(5000)})
    return parent, root


def root_stream(pool: str) -> bytes:
    return stream_of(pool, "root", {"etc/motd": b"hi\n"})


def prefix(iocroot: Path) -> str:
    return f"{str(iocroot).lstrip('/')}/images/web_{D}"


def import_refused(pool: str, archive: Path, *extra: str, code: int = 1) -> str:
    before = names(pool)
    out = refused("import", *extra, str(archive), code=code)
    lines = out.splitlines()  # progress lines, then the one error line
    assert lines[-1].startswith("iocjail: ") and all(x.startswith("Importing dataset: ") for x in lines[:-1]), out
    assert jail_datasets(pool) == set()
    assert names(pool) == before
    return lines[-1]


@pytest.mark.parametrize("compression, verify", [
    (zipfile.ZIP_DEFLATED, True), (zipfile.ZIP_STORED, True), (zipfile.ZIP_STORED, False)])
def test_the_honest_archive_imports(fetched, iocroot, streams, compression, verify):
    """The baseline every hostile case below departs from: stored members of a verified archive
    go to zfs by splice(2), the others through zipfile; the streams' snapshots are dropped."""
    p = prefix(iocroot)
    archive = write_archive(iocroot / "images" / f"web_{D}.zip", [(p, streams[0]), (f"{p}_root", streams[1])],
                            compression=compression)
    out = subprocess.run([".venv/bin/iocjail", "import", *([] if verify else ["--no-verify"]), str(archive)],
                         capture_output=True, text=True,
                         env={"IOCJAIL_POOL": fetched, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert out.returncode == 0, out.stderr
    assert (iocroot / "jails" / "web" / "root" / "etc" / "motd").read_text() == "hi\n"
    assert (iocroot / "jails" / "web" / "root" / "bin" / "sh").read_bytes() == b"\x7fELF" + bytes(5000)
    assert jail_datasets(fetched) == {f"{fetched}/iocage/jails/web", f"{fetched}/iocage/jails/web/root"}


def test_streams_whose_snapshots_differ_in_name_import_without_them(fetched, iocroot):
    p = prefix(iocroot)
    parent = stream_of(fetched, "parent", {"config.json": CONFIG, "fstab": b""}, snapshot="first")
    root = stream_of(fetched, "root", {"etc/motd": b"hi\n"}, snapshot="second")
    ok("import", str(write_archive(iocroot / "images" / f"web_{D}.zip", [(p, parent), (f"{p}_root", root)],
                                    compression=zipfile.ZIP_STORED)))
    assert (iocroot / "jails" / "web" / "root" / "etc" / "motd").read_text() == "hi\n"
    assert jail_datasets(fetched) == {f"{fetched}/iocage/jails/web", f"{fetched}/iocage/jails/web/root"}


def test_a_stored_stream_with_bytes_after_its_end_is_refused(fetched, iocroot, streams):
    """zfs stops reading at the stream's end record; what follows in the member is not ignored."""
    p = prefix(iocroot)
    archive = write_archive(iocroot / "images" / f"web_{D}.zip",
                            [(p, streams[0]), (f"{p}_root", streams[1] + bytes(3 << 20))],
                            compression=zipfile.ZIP_STORED)
    assert "the stream of web/root was refused by zfs" in import_refused(fetched, archive)


@pytest.mark.parametrize("case, why", [
    ("dotdot", "'..' in its name"),
    ("absolute", "absolute name"),
    ("unexpected", "unexpected member"),
    ("duplicate", "duplicate dataset"),
    ("orphan", "is not in the archive"),
])
def test_bad_member_names_are_refused_before_the_pool_is_touched(fetched, iocroot, streams, case, why):
    p = prefix(iocroot)
    parent, root = streams
    members = {
        "dotdot": [(p, parent), (f"{p.rsplit('/', 1)[0]}/../../../../etc/web_{D}_root", root)],
        "absolute": [("/" + p, parent), (f"/{p}_root", root)],
        "unexpected": [(p, parent), (f"{p}_root", root), (f"{p.rsplit('/', 1)[0]}/evil.sh", b"#!/bin/sh\n")],
        "duplicate": [(p, parent), (f"{p}_root", root), (f"{p}_root", parent)],
        "orphan": [(p, parent), (f"{p}_data_db", root)],
    }[case]
    with pytest.warns(UserWarning) if case == "duplicate" else _nothing():
        archive = write_archive(iocroot / "images" / f"web_{D}.zip", members)
    assert why in import_refused(fetched, archive)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_a_truncated_stream_leaves_nothing_behind(fetched, iocroot, streams):
    """The parent is received whole, then the root's stream ends halfway: the parent goes too."""
    p = prefix(iocroot)
    parent, root = streams
    archive = write_archive(iocroot / "images" / f"web_{D}.zip", [(p, parent), (f"{p}_root", root[: len(root) // 2])])
    out = import_refused(fetched, archive)
    assert "the stream of web/root was refused by zfs (cannot receive new filesystem stream" in out


def test_a_truncated_archive_is_refused(fetched, iocroot, streams):
    p = prefix(iocroot)
    archive = write_archive(iocroot / "images" / f"web_{D}.zip", [(p, streams[0]), (f"{p}_root", streams[1])],
                            checksum=False)
    archive.write_bytes(archive.read_bytes()[:-200])
    assert "not a readable zip" in import_refused(fetched, archive, "--no-verify")
    archive.write_bytes(b"this is not a zip at all")
    assert "not a readable zip" in import_refused(fetched, archive, "--no-verify")


def test_a_zip_bomb_is_refused_before_anything_is_received(fetched, iocroot, streams):
    """200 MB of zeros deflate to ~200 KB; the jails dataset may hold 64 MB."""
    r = f"{fetched}/iocage"
    subprocess.run(["zfs", "set", "quota=64M", f"{r}/jails"], check=True)
    p = prefix(iocroot)
    archive = iocroot / "images" / f"web_{D}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(p, streams[0])
        with zf.open(f"{p}_root", "w", force_zip64=True) as bomb:
            zero = bytes(1 << 20)
            for _ in range(200):
                bomb.write(zero)
    assert archive.stat().st_size < 2 << 20
    out = import_refused(fetched, archive, "--no-verify")
    assert "zip bomb" in out and "more than the" in out


def test_overlapping_members_are_refused(fetched, iocroot, streams):
    """The non-recursive zip bomb: several directory entries sharing one member's data."""
    p = prefix(iocroot).encode()
    data = streams[0]
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, zlib.crc32(data), len(data), len(data),
                        len(p), 0) + p + data
    cd = b"".join(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, zlib.crc32(data), len(data),
                              len(data), len(p), 0, 0, 0, 0, 0, 0) + p for _ in range(3))
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 3, 3, len(cd), len(local), 0)
    archive = iocroot / "images" / f"web_{D}.zip"
    archive.write_bytes(local + cd + end)
    assert "overlap" in import_refused(fetched, archive, "--no-verify")


def test_a_stream_carrying_a_mountpoint_is_refused_and_never_mounted(fetched, iocroot, tmp_path):
    evil = tmp_path / "evil"
    parent = stream_of(fetched, "propped", {"config.json": CONFIG}, props={"mountpoint": str(evil)})
    p = prefix(iocroot)
    archive = write_archive(iocroot / "images" / f"web_{D}.zip", [(p, parent), (f"{p}_root", root_stream(fetched))])
    out = import_refused(fetched, archive)
    assert f"mountpoint={evil}" in out
    assert str(evil) not in Path("/proc/mounts").read_text()


def test_a_replication_stream_bringing_extra_datasets_is_refused(fetched, iocroot):
    parent = stream_of(fetched, "repl", {"config.json": CONFIG}, child=True)
    p = prefix(iocroot)
    archive = write_archive(iocroot / "images" / f"web_{D}.zip", [(p, parent), (f"{p}_root", root_stream(fetched))])
    assert "datasets no member names" in import_refused(fetched, archive)


def test_a_config_json_that_is_a_symlink_is_not_followed(fetched, iocroot, tmp_path):
    target = tmp_path / "host-file"
    target.write_text("host data\n")
    parent = stream_of(fetched, "linked", {"config.json": str(target), "fstab": str(target)})
    p = prefix(iocroot)
    archive = write_archive(iocroot / "images" / f"web_{D}.zip", [(p, parent), (f"{p}_root", root_stream(fetched))])
    assert "no config.json" in import_refused(fetched, archive)
    assert target.read_text() == "host data\n"


def test_an_fstab_that_is_a_symlink_is_refused(fetched, iocroot, tmp_path):
    """Every start and every fstab command reads it: it must be the jail's own plain file."""
    target = tmp_path / "host-fstab"
    target.write_text("/ /mnt nullfs rw 0 0\n")
    parent = stream_of(fetched, "linked", {"config.json": CONFIG, "fstab": str(target)})
    root = stream_of(fetched, "root", {"etc/motd": b"hi\n"})
    p = prefix(iocroot)
    archive = write_archive(iocroot / "images" / f"web_{D}.zip", [(p, parent), (f"{p}_root", root)])
    assert "the archive's fstab is not a plain file" in import_refused(fetched, archive)
    assert target.read_text() == "/ /mnt nullfs rw 0 0\n"


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:xz") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tar.addfile(info, io.BytesIO(member[1]))
    return path


def test_tar_xz_members_that_are_not_plain_files_are_refused(fetched, iocroot, streams):
    p = prefix(iocroot)
    link = tarfile.TarInfo(f"{p}_root")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    archive = _tar(iocroot / "images" / f"web_{D}.tar.xz", [(p, streams[0]), link])
    assert "is not a plain file" in import_refused(fetched, archive, "--no-verify")
    archive = _tar(archive, [(p, streams[0]), (f"{p.rsplit('/', 1)[0]}/../web_{D}_root", streams[1])])
    assert "'..' in its name" in import_refused(fetched, archive, "--no-verify")


def test_a_damaged_tar_xz_leaves_nothing_behind(fetched, iocroot, streams):
    p = prefix(iocroot)
    archive = _tar(iocroot / "images" / f"web_{D}.tar.xz", [(p, streams[0]), (f"{p}_root", streams[1])])
    data = bytearray(archive.read_bytes())
    data[len(data) * 3 // 4] ^= 0x55
    archive.write_bytes(bytes(data))
    out = import_refused(fetched, archive, "--no-verify")
    assert "tar.xz" in out or "damaged" in out


def test_a_config_with_invalid_values_is_refused_and_nothing_stays(fetched, iocroot):
    bad = (b'{\n    "CONFIG_VERSION": "34",\n    "host_hostname": "web",\n    "host_hostuuid": "web",\n'
           b'    "ip4_addr": "em0|300.1.1.1",\n    "priority": "5x",\n    "release": "13.2-RELEASE-p4",\n'
           b'    "some_future_key": "kept"\n}\n')
    parent = stream_of(fetched, "badparent", {"config.json": bad, "fstab": b""})
    root = stream_of(fetched, "badroot", {"etc/motd": b"hi\n"})
    p = prefix(iocroot)
    archive = write_archive(iocroot / "images" / f"web_{D}.zip", [(p, parent), (f"{p}_root", root)])
    line = import_refused(fetched, archive)
    assert line.startswith("iocjail: config.json of web in the archive is not valid: ")
    assert "priority" in line and "300.1.1.1" in line and "some_future_key" not in line
    assert line.endswith("; nothing imported")
