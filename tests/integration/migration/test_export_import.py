"""export/import on the real pool: round trip, new name, thin -> thick, templates, iocage's own archives,
verification, and export's refusals and clean-up."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from iocjail.platform.zfs import Zfs
from tests.integration.migration.conftest import REL, jail_datasets, refused, today, tree
from tests.support.cli import iocjail, names, ok, prop, zfs
from tests.support.jails import make_jail, thin_config


def make_web(iocroot: Path) -> Path:
    """A thin jail with files of every kind, a custom config, an fstab and snapshots."""
    ok("create", "-r", REL, "-n", "web")
    ok("set", "ip4_addr=lo0|10.9.0.5/24", "boot=on", "priority=20", "host_hostname=shop.example.com", "web")
    root = iocroot / "jails" / "web" / "root"
    ok("snapshot", "web", "-n", "before")
    (root / "srv").mkdir()
    (root / "srv" / "blob").write_bytes(os.urandom(3 << 20))
    (root / "srv" / "empty").write_bytes(b"")
    (root / "srv" / "secret").write_text("key\n")
    os.chmod(root / "srv" / "secret", 0o600)
    os.chown(root / "srv" / "secret", 1001, 1002)
    (root / "srv" / "link").symlink_to("/etc/motd")
    os.link(root / "srv" / "blob", root / "srv" / "hard")
    (root / "etc" / "motd").write_text("welcome\n")
    (iocroot / "jails" / "web" / "fstab").write_text(
        f"/tmp {iocroot}/jails/web/root/mnt nullfs ro 0 0\t# Added by iocjail on 2024-05-01\n")
    ok("snapshot", "web", "-n", "after")
    return root


def assert_readonly(path: Path) -> None:
    for probe in (path / "x", path / "root" / "x"):
        try:
            probe.write_text("x")
        except OSError:
            continue
        raise AssertionError(f"{probe.parent} is writable: the template is not readonly")


def test_round_trip_restores_every_file_config_and_fstab_and_comes_back_thick(fetched, iocroot):
    r = f"{fetched}/iocage"
    root = make_web(iocroot)
    files, cfg, fstab = tree(root), (root.parent / "config.json").read_bytes(), (root.parent / "fstab").read_bytes()
    assert prop(f"{r}/jails/web/root", "origin") == f"{r}/releases/{REL}/root@web"  # thin
    out = ok("export", "web")
    stem = f"web_{today()}"
    archive, checksum = iocroot / "images" / f"{stem}.zip", iocroot / "images" / f"{stem}.sha256"
    assert out.splitlines() == [f"Exporting dataset: {r}/jails/web", f"Exporting dataset: {r}/jails/web/root",
                                f"Exported: {archive}"]
    assert checksum.read_text() == hashlib.sha256(archive.read_bytes()).hexdigest()  # iocage's: bare hex
    prefix = f"{str(iocroot).lstrip('/')}/images/{stem}"
    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist() == [prefix, f"{prefix}_root"]
        assert zf.testzip() is None
    assert not [n for n in names(r) if "ioc-export" in n]
    assert sorted(p.name for p in (iocroot / "images").iterdir()) == [f"{stem}.sha256", f"{stem}.zip"]

    ok("destroy", "-f", "web")
    assert f"{r}/jails/web" not in names(r)
    assert ok("import", "web").splitlines() == [
        "Importing dataset: web", "Importing dataset: web/root", "Imported: web",
        "Note: web mounts paths of this host into the jail when it starts: /tmp (ro) (from the archive's fstab: "
        "check them, iocjail fstab -l web lists them)"]
    assert tree(root) == files
    assert (root.parent / "config.json").read_bytes() == cfg
    assert (root.parent / "fstab").read_bytes() == fstab
    assert prop(f"{r}/jails/web/root", "origin") == "-"  # thick now
    assert {n for n in names(f"{r}/jails/web")} == {f"{r}/jails/web", f"{r}/jails/web/root"}  # no snapshots
    assert f"{r}/releases/{REL}/root@web" not in names(r)
    assert "web" in ok("list", "-H")

    # under a new name: identity, hostname (a custom one stays), dataset and fstab paths follow
    assert "Imported: web2" in ok("import", "web", "-n", "web2").splitlines()
    assert tree(iocroot / "jails" / "web2" / "root") == files
    cfg2 = ok("get", "-a", "web2")
    assert "host_hostuuid:web2" in cfg2 and "host_hostname:shop.example.com" in cfg2
    assert "jail_zfs_dataset:iocage/jails/web2/data" in cfg2 and "ip4_addr:lo0|10.9.0.5/24" in cfg2
    assert (iocroot / "jails" / "web2" / "fstab").read_text() == \
        f"/tmp {iocroot}/jails/web2/root/mnt nullfs ro 0 0\t# Added by iocjail on 2024-05-01\n"
    assert (root.parent / "fstab").read_bytes() == fstab  # the first one untouched

    # an existing name is refused and changes nothing
    before = names(r)
    assert "jail 'web' already exists" in refused("import", "web", code=2)
    assert "jail 'web2' already exists" in refused("import", "web", "-n", "web2", code=2)
    assert names(r) == before


def test_import_by_path_and_from_another_directory(fetched, iocroot, tmp_path):
    ok("create", "-r", REL, "-n", "box")
    (iocroot / "jails" / "box" / "root" / "hello").write_text("hi\n")
    ok("export", "-c", "deflate", "box")
    stem = f"box_{today()}"
    for suffix in (".zip", ".sha256"):
        shutil.move(iocroot / "images" / f"{stem}{suffix}", tmp_path / f"{stem}{suffix}")
    with zipfile.ZipFile(tmp_path / f"{stem}.zip") as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}
    ok("destroy", "-f", "box")
    assert "no export of 'box'" in refused("import", "box", code=3)
    ok("import", str(tmp_path / f"{stem}.zip"))
    assert (iocroot / "jails" / "box" / "root" / "hello").read_text() == "hi\n"
    ok("import", "box", "-p", str(tmp_path), "-n", "box2")
    ok("import", "ignored", "-p", str(tmp_path / f"{stem}.zip"), "-n", "box3")
    assert (iocroot / "jails" / "box3" / "root" / "hello").read_text() == "hi\n"
    shutil.copy(tmp_path / f"{stem}.zip", tmp_path / "box_2001-01-01.zip")
    assert "several exports of 'box'" in refused("import", "box", "-p", str(tmp_path), "-n", "box4", code=2)
    assert "invalid jail name 'a/b'" in refused("import", str(tmp_path / f"{stem}.zip"), "-n", "a/b", code=2)
    assert "no such archive" in refused("import", str(tmp_path / "nope.zip"), code=3)


def test_a_template_comes_back_a_jail_unless_asked(fetched, iocroot):
    r = f"{fetched}/iocage"
    ok("create", "-r", REL, "-n", "tpl", "template=yes")
    ok("export", "tpl")
    assert not [n for n in names(r) if "ioc-export" in n]  # iocage leaks a template's snapshots
    ok("destroy", "-f", "tpl")
    ok("import", "tpl")
    cfg = ok("get", "-a", "tpl")
    assert "type:jail" in cfg and "template:0" in cfg
    assert f"{r}/jails/tpl/root" in names(r) and f"{r}/templates/tpl" not in names(r)
    ok("destroy", "-f", "tpl")
    assert ok("import", "-t", "tpl").splitlines()[-1] == "Imported: tpl (template)"
    assert f"{r}/templates/tpl/root" in names(r)
    assert "type:template" in ok("get", "-a", "tpl")
    assert_readonly(iocroot / "templates" / "tpl")
    ok("create", "-t", "tpl", "-n", "fromtpl")  # usable as a template
    assert prop(f"{r}/jails/fromtpl/root", "origin") == f"{r}/templates/tpl/root@fromtpl"


def test_the_hooks_an_imported_jail_runs_on_this_host_are_named(fetched, iocroot):
    ok("create", "-r", REL, "-n", "hk", "exec_prestart=/bin/sh -c 'echo hi'", "exec_poststop=/usr/bin/true",
        "exec_start=/bin/sh /etc/rc.custom")
    ok("export", "hk")
    result = iocjail("import", "hk", "-n", "hk2")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "Imported: hk2"
    assert result.stderr.splitlines() == [  # the default poststop and exec_start (inside the jail) are not named
        "Note: hk2 runs commands on this host, as root, when it starts or stops: exec_prestart=/bin/sh -c 'echo hi' "
        "(from the archive: check them, iocjail set KEY=/usr/bin/true hk2 clears one)"]
    assert "exec_prestart:/bin/sh -c 'echo hi'" in ok("get", "-a", "hk2")  # named, kept as it was


@pytest.mark.parametrize("container", ["zip", "tar.xz"])
def test_an_archive_written_the_way_iocage_writes_it_imports(fetched, iocroot, container):
    """iocage (ioc_image.py): stream files IOCROOT/images/N_DATE[_child], zipped deflated (or, with
    `-c lzma`, put in a tar.xz) by their absolute paths, sha256 hex without a newline; the snapshot
    is @ioc-export-DATE; N has a '_'."""
    r, date, name = f"{fetched}/iocage", "2019-02-08", "old_box"
    path = make_jail(fetched, name, thin_config(name, notes="from iocage"))
    (path / "root" / "etc").mkdir()
    (path / "root" / "etc" / "rc.conf").write_text('sshd_enable="YES"\n')
    subprocess.run(["zfs", "create", f"{r}/jails/{name}/data"], check=True)
    (path / "data" / "db").write_bytes(os.urandom(100_000))
    files = {"root": tree(path / "root"), "data": tree(path / "data")}
    cfg = (path / "config.json").read_bytes()
    subprocess.run(["zfs", "snapshot", "-r", f"{r}/jails/{name}@ioc-export-{date}"], check=True)
    images = iocroot / "images"
    streams = []
    for ds in zfs("list", "-H", "-r", "-o", "name", f"{r}/jails/{name}").split():
        stream = images / (f"{name}_{date}" + ds.partition(f"{r}/jails/{name}")[2].replace("/", "_"))
        with stream.open("wb") as out:
            subprocess.run(["zfs", "send", f"{ds}@ioc-export-{date}"], stdout=out, check=True)
        streams.append(stream)
    archive = images / f"{name}_{date}.{container}"
    if container == "zip":
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as final:
            for stream in streams:
                final.write(stream)
    else:
        with tarfile.open(archive, mode="w:xz") as final:
            for stream in streams:
                final.add(stream)
    (images / f"{name}_{date}.sha256").write_text(hashlib.sha256(archive.read_bytes()).hexdigest())
    for stream in streams:
        stream.unlink()
    Zfs().destroy(f"{r}/jails/{name}", recursive=True)  # unmounts first: zfs-fuse may say "busy"

    assert ok("import", name).splitlines() == [f"Importing dataset: {name}", f"Importing dataset: {name}/data",
                                                f"Importing dataset: {name}/root", f"Imported: {name}"]
    assert {"root": tree(path / "root"), "data": tree(path / "data")} == files
    assert (path / "config.json").read_bytes() == cfg
    assert names(f"{r}/jails/{name}") == {f"{r}/jails/{name}", f"{r}/jails/{name}/root", f"{r}/jails/{name}/data"}


def test_verification(fetched, iocroot):
    r = f"{fetched}/iocage"
    ok("create", "-r", REL, "-n", "v")
    ok("export", "v")
    ok("destroy", "-f", "v")
    stem = f"v_{today()}"
    archive, checksum = iocroot / "images" / f"{stem}.zip", iocroot / "images" / f"{stem}.sha256"
    good = checksum.read_text()
    checksum.write_text("0" * 64)
    out = refused("import", "v")
    assert f"does not match {stem}.sha256" in out and "--no-verify" in out
    checksum.unlink()
    assert f"{checksum} is missing" in refused("import", "v")
    assert jail_datasets(fetched) == set()
    ok("import", "--no-verify", "v")  # the archive itself is fine
    ok("destroy", "-f", "v")
    checksum.write_text(good + "\n")
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside a stream: the sha256 no longer matches, nor the member's CRC
    archive.write_bytes(bytes(data))
    assert "does not match" in refused("import", "v")
    out = refused("import", "--no-verify", "v")
    assert "damaged" in out or "receive" in out, out
    assert jail_datasets(fetched) == set(), out
    assert f"{r}/jails/v" not in names(r)


def test_export_refusals_and_cleanup(fetched, iocroot, mark_running):
    r = f"{fetched}/iocage"
    ok("create", "-r", REL, "-n", "e")
    (iocroot / "jails" / "e" / "root" / "big").write_bytes(os.urandom(4 << 20))
    mark_running("e")
    assert "is running" in refused("export", "e", code=1)
    os.unlink(Path(os.environ["IOCJAIL_RUNDIR"]) / "jails" / fetched / "e.json")
    assert "not found" in refused("export", "nope", code=3)
    # a failure halfway (the images dataset is full) leaves no archive and no snapshot
    subprocess.run(["zfs", "set", "quota=1M", f"{r}/images"], check=True)
    refused("export", "e")
    assert list((iocroot / "images").iterdir()) == []
    assert not [n for n in names(r) if "ioc-export" in n]
    subprocess.run(["zfs", "set", "quota=none", f"{r}/images"], check=True)
    ok("export", "e")
    assert "already exists" in refused("export", "e", code=2)
    # a leftover snapshot of that name (an interrupted iocage export) is named, not reused
    for p in (iocroot / "images").iterdir():
        p.unlink()
    subprocess.run(["zfs", "snapshot", "-r", f"{r}/jails/e@ioc-export-{today()}"], check=True)
    assert "snapremove" in refused("export", "e", code=2)


def test_a_child_dataset_named_with_underscore_is_not_exported(fetched):
    r = f"{fetched}/iocage"
    ok("create", "-r", REL, "-n", "u")
    subprocess.run(["zfs", "create", f"{r}/jails/u/my_data"], check=True)
    assert "'my_data' has a '_'" in refused("export", "u", code=2)
    assert not [n for n in names(r) if "ioc-export" in n]


def test_a_progress_bar_on_a_terminal_only(fetched, iocroot):
    """stderr a terminal: a bar per stream; piped (every test above): iocage's lines alone."""
    import pty
    import select

    ok("create", "-r", REL, "-n", "tty")
    (iocroot / "jails" / "tty" / "root" / "blob").write_bytes(os.urandom(8 << 20))
    master, slave = pty.openpty()
    env = {**os.environ, "IOCJAIL_POOL": fetched, "COLUMNS": "100"}
    cli = str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "iocjail")
    proc = subprocess.Popen([cli, "export", "tty"], stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other end closed
            break
        if not chunk:
            break
        seen += chunk
    stdout = proc.communicate(timeout=120)[0].decode()
    os.close(master)
    assert proc.returncode == 0, seen
    assert b"Exporting: tty/root" in seen and b"100%" in seen
    assert stdout.splitlines()[-1].startswith("Exported: ") and "Exporting: " not in stdout
