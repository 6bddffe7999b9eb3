"""Archives whose jail root would be something other than the jail's own dataset (issue 15, item 1),
and fstabs that reach into the host (item 4): refused with nothing left, or named to the admin.

The streams are real `zfs send` output of scratch datasets; only the zip around them is crafted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import ok
from tests.integration.migration.conftest import REL, jail_datasets, stream_of, write_archive
from tests.integration.migration.test_hostile_archives import CONFIG, D, import_refused, prefix

MOUNTINFO = Path("/proc/self/mountinfo")


def targets() -> set[str]:
    return {line.split()[4] for line in MOUNTINFO.read_text().splitlines()}


@pytest.fixture
def host_dir(tmp_path):
    path = tmp_path / "host-etc"
    path.mkdir()
    (path / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    return path


def link_targets(host_dir: Path) -> dict[str, str]:
    (host_dir.parent / "host-empty").mkdir(exist_ok=True)
    return {"release": f"../../releases/{REL}/root", "other jail": "../other/root", "host root": "/",
            "host dir": str(host_dir), "empty host dir": str(host_dir.parent / "host-empty")}


@pytest.mark.parametrize("case", ["release", "other jail", "host root", "host dir"])
def test_an_archive_without_the_roots_stream_is_refused_before_the_pool_is_touched(fetched, iocroot, host_dir, case):
    """The issue's archive: only the jail's stream, its `root` a link. Before, it imported with
    exit 0 and `start` ran the jail's init wherever the link led."""
    parent = stream_of(fetched, "linkroot", {"config.json": CONFIG, "fstab": b"", "root": link_targets(host_dir)[case]})
    archive = write_archive(iocroot / "images" / f"web_{D}.zip", [(prefix(iocroot), parent)])
    before = targets()
    line = import_refused(fetched, archive)
    assert line.endswith("no stream of the jail's root (web_2024-05-01_root): every export holds one: "
                         "refusing to import it")
    assert targets() == before
    assert (host_dir / "passwd").read_text() == "root:x:0:0::/root:/bin/sh\n"


@pytest.mark.parametrize("case", ["release", "host root", "host dir", "empty host dir"])
def test_a_root_link_in_the_jails_stream_is_never_mounted_through(fetched, iocroot, host_dir, case):
    """With the root's stream too: mount(2) follows a link at its target, so mounting web/root
    on the `root` the jail's stream holds would cover the release, the host's / or a host directory
    (zfs-fuse refuses a directory that is not empty; an empty one it covered, and OpenZFS on Linux
    mounts over a full one too)."""
    parent = stream_of(fetched, "linkroot", {"config.json": CONFIG, "fstab": b"", "root": link_targets(host_dir)[case]})
    root = stream_of(fetched, "realroot", {"etc/motd": b"hi\n"})
    p = prefix(iocroot)
    archive = write_archive(iocroot / "images" / f"web_{D}.zip", [(p, parent), (f"{p}_root", root)])
    before = targets()
    line = import_refused(fetched, archive)
    assert f"web/root would be mounted on {iocroot}/jails/web/root, which its streams made no plain directory " \
           "(it exists and is not a directory)" in line
    assert targets() == before  # nothing mounted anywhere, nothing left mounted
    assert sorted(p.name for p in host_dir.iterdir()) == ["passwd"]
    assert list((host_dir.parent / "host-empty").iterdir()) == []
    assert (iocroot / "releases" / REL / "root" / "bin").is_dir()  # the release is still the release


def test_a_link_deeper_in_the_root_is_never_mounted_through(fetched, iocroot, host_dir):
    """A child dataset (web/root/usr) whose mountpoint the root's stream made a link to the host."""
    parent = stream_of(fetched, "parent", {"config.json": CONFIG, "fstab": b""})
    root = stream_of(fetched, "linkusr", {"etc/motd": b"hi\n", "usr": str(host_dir)})
    usr = stream_of(fetched, "usr", {"bin/evil": b"x"})
    p = prefix(iocroot)
    archive = write_archive(iocroot / "images" / f"web_{D}.zip",
                            [(p, parent), (f"{p}_root", root), (f"{p}_root_usr", usr)])
    before = targets()
    assert "web/root/usr would be mounted on" in import_refused(fetched, archive)
    assert targets() == before
    assert sorted(p.name for p in host_dir.iterdir()) == ["passwd"]


def _fstab_archive(fetched: str, iocroot: Path, fstab: str) -> Path:
    parent = stream_of(fetched, "parent", {"config.json": CONFIG, "fstab": fstab.encode()})
    root = stream_of(fetched, "root", {"etc/motd": b"hi\n", "mnt/.keep": b""})
    p = prefix(iocroot)
    return write_archive(iocroot / "images" / f"web_{D}.zip", [(p, parent), (f"{p}_root", root)])


@pytest.mark.parametrize("source", ["/", "//", "/usr/.."])
def test_an_fstab_mounting_the_hosts_root_is_refused(fetched, iocroot, source):
    archive = _fstab_archive(fetched, iocroot, f"{source}\t{iocroot}/jails/web/root/mnt\tnullfs\trw\t0\t0\n")
    line = import_refused(fetched, archive)
    assert line == f"iocjail: {fetched}/iocage/jails/web: the archive's fstab mounts the host's / ({source}) " \
                   "into the jail; nothing imported"


def test_every_fstab_source_outside_the_jail_is_named(fetched, iocroot):
    """As the host-side hooks are: the admin reads what the jail will see (rw: change) of the host."""
    j = f"{iocroot}/jails/web"
    fstab = (f"/srv/data\t{j}/root/mnt\tnullfs\trw\t0\t0\n"
             f"/etc\t{j}/root/media\tnullfs\tro\t0\t0\n"
             f"{j}\t{j}/root/var\tnullfs\trw\t0\t0\n"  # its own config.json: hooks run as root here
             f"{j}/root/srv\t{j}/root/opt\tnullfs\trw\t0\t0\n"  # inside the jail: not the host's
             f"{iocroot}/releases/{REL}/root/bin\t{j}/root/bin\tnullfs\tro\t0\t0\n"  # a basejail's
             f"tmpfs\t{j}/root/tmp\ttmpfs\trw\t0\t0\n")
    out = ok("import", str(_fstab_archive(fetched, iocroot, fstab)))
    assert out.splitlines()[-1] == (
        f"Note: web mounts paths of this host into the jail when it starts: /srv/data (rw), /etc (ro), {j} (rw) "
        "(from the archive's fstab: check them, iocjail fstab -l web lists them)")
    assert jail_datasets(fetched) == {f"{fetched}/iocage/jails/web", f"{fetched}/iocage/jails/web/root"}
    assert (iocroot / "jails" / "web" / "fstab").read_text() == fstab


def test_an_fstab_within_the_jail_names_nothing(fetched, iocroot):
    j = f"{iocroot}/jails/web"
    out = ok("import", str(_fstab_archive(fetched, iocroot, f"{j}/root/srv\t{j}/root/mnt\tnullfs\trw\t0\t0\n")))
    assert "Note:" not in out and out.splitlines()[-1] == "Imported: web"
