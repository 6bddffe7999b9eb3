"""The zfs adapter against a real pool (zfs-fuse on Linux)."""

from __future__ import annotations

import itertools
import os
import subprocess
from pathlib import Path

import pytest

from iocjail.errors import DatasetBusy, DatasetExists, DatasetNotFound, ZfsError
from iocjail.platform.zfs import ACTIVE_PROP, Zfs

_counter = itertools.count()


@pytest.fixture
def zfs() -> Zfs:
    return Zfs()


@pytest.fixture
def scratch(zpool, zfs):  # type: ignore[no-untyped-def]
    """A fresh dataset per test under the session pool."""
    name = f"{zpool.name}/t{next(_counter)}"
    zfs.create(name)
    return name


def mountpoint(zfs: Zfs, name: str) -> Path:
    value = zfs.get(name, "mountpoint")
    assert value and value.startswith("/")
    return Path(value)


def test_create_with_parents_and_options(zfs, scratch):
    zfs.create(f"{scratch}/a/b/c", parents=True, props={"org.freebsd.ioc:x": "hello", "compression": "on"})
    ds = zfs.dataset(f"{scratch}/a/b/c", ["org.freebsd.ioc:x", "compression"])
    assert ds.type == "filesystem"
    assert ds.get("org.freebsd.ioc:x") == "hello"
    assert ds.is_local("org.freebsd.ioc:x")
    assert ds.get("compression") == "on"
    assert zfs.exists(f"{scratch}/a/b")


def test_create_existing_and_missing_parent_are_typed(zfs, scratch):
    with pytest.raises(DatasetExists, match="already exists"):
        zfs.create(scratch)
    with pytest.raises(ZfsError):
        zfs.create(f"{scratch}/no/parent")


def test_list_recursive_depth_and_types_in_one_call(zfs, scratch):
    zfs.create(f"{scratch}/a/b", parents=True)
    zfs.snapshot(f"{scratch}/a@s1")
    everything = zfs.list_datasets(scratch, ["used", "mountpoint"], recursive=True,
                                   types=("filesystem", "snapshot"))
    names = [d.name for d in everything]
    assert names[0] == scratch  # parents first
    assert set(names) == {scratch, f"{scratch}/a", f"{scratch}/a@s1", f"{scratch}/a/b"}
    assert all(d.get("used", "").isdigit() for d in everything)  # -p: exact bytes
    depth1 = [d.name for d in zfs.list_datasets(scratch, depth=1)]
    assert depth1 == [scratch, f"{scratch}/a"]
    snaps = [d.name for d in zfs.list_datasets(scratch, recursive=True, types=("snapshot",))]
    assert snaps == [f"{scratch}/a@s1"]


def test_list_of_missing_dataset_raises_not_found(zfs, scratch):
    with pytest.raises(DatasetNotFound):
        zfs.list_datasets(f"{scratch}/nope")
    assert not zfs.exists(f"{scratch}/nope")


def test_user_properties_get_set_inherit(zfs, scratch):
    zfs.create(f"{scratch}/child")
    assert zfs.get(scratch, ACTIVE_PROP) is None
    zfs.set(scratch, {ACTIVE_PROP: "yes", "org.freebsd.ioc:note": "a b|c"})
    assert zfs.get(scratch, ACTIVE_PROP) == "yes"
    assert zfs.get(scratch, "org.freebsd.ioc:note") == "a b|c"
    child = zfs.dataset(f"{scratch}/child", [ACTIVE_PROP])
    assert child.get(ACTIVE_PROP) == "yes" and not child.is_local(ACTIVE_PROP)  # inherited
    zfs.inherit(scratch, ACTIVE_PROP)
    assert zfs.get(scratch, ACTIVE_PROP) is None


def test_snapshot_recursive_and_listing(zfs, scratch):
    zfs.create(f"{scratch}/a/b", parents=True)
    zfs.snapshot(f"{scratch}@snap", recursive=True)
    own = [d.name for d in zfs.snapshots(scratch)]
    assert own == [f"{scratch}@snap"]
    every = {d.name for d in zfs.snapshots(scratch, recursive=True)}
    assert every == {f"{scratch}@snap", f"{scratch}/a@snap", f"{scratch}/a/b@snap"}
    with pytest.raises(DatasetExists):
        zfs.snapshot(f"{scratch}@snap")


def test_clone_and_promote(zfs, scratch):
    src = f"{scratch}/src"
    zfs.create(src)
    (mountpoint(zfs, src) / "file").write_text("original")
    zfs.snapshot(f"{src}@base")
    zfs.clone(f"{src}@base", f"{scratch}/deep/clone", parents=True)
    clone = f"{scratch}/deep/clone"
    assert zfs.get(clone, "origin") == f"{src}@base"
    assert (mountpoint(zfs, clone) / "file").read_text() == "original"
    zfs.promote(clone)
    assert zfs.get(clone, "origin") is None
    assert zfs.get(src, "origin") == f"{clone}@base"


def test_destroy_never_takes_dependent_clones_unless_asked(zfs, scratch):
    src = f"{scratch}/src"
    zfs.create(src)
    zfs.snapshot(f"{src}@s")
    zfs.clone(f"{src}@s", f"{scratch}/clone")
    with pytest.raises(ZfsError):
        zfs.destroy(src, recursive=True)
    assert zfs.exists(f"{scratch}/clone") and zfs.exists(src)
    zfs.destroy(src, recursive=True, dependents=True)
    assert not zfs.exists(src) and not zfs.exists(f"{scratch}/clone")


def test_destroy_mounted_dataset_with_children_and_open_directory(zfs, scratch):
    target = f"{scratch}/busy"
    zfs.create(f"{target}/inner", parents=True)
    (mountpoint(zfs, f"{target}/inner") / "data").write_text("x")
    assert zfs.get(target, "mounted") == "yes"
    zfs.destroy(target, recursive=True)
    assert not zfs.exists(target)
    with pytest.raises(DatasetNotFound):
        zfs.destroy(target)


def test_rename_mounted_dataset_remounts_it(zfs, scratch):
    zfs.create(f"{scratch}/old/kid", parents=True)
    (mountpoint(zfs, f"{scratch}/old/kid") / "f").write_text("kept")
    zfs.rename(f"{scratch}/old", f"{scratch}/x/new", parents=True)
    assert not zfs.exists(f"{scratch}/old")
    assert zfs.get(f"{scratch}/x/new", "mounted") == "yes"
    assert (mountpoint(zfs, f"{scratch}/x/new/kid") / "f").read_text() == "kept"


def test_rename_snapshot_recursive(zfs, scratch):
    zfs.create(f"{scratch}/a")
    zfs.snapshot(f"{scratch}@one", recursive=True)
    zfs.rename(f"{scratch}@one", f"{scratch}@two", recursive=True)
    assert {d.name for d in zfs.snapshots(scratch, recursive=True)} == {f"{scratch}@two", f"{scratch}/a@two"}


def test_rollback_with_and_without_destroying_newer(zfs, scratch):
    path = mountpoint(zfs, scratch)
    (path / "f").write_text("v1")
    zfs.snapshot(f"{scratch}@s1")
    (path / "f").write_text("v2")
    zfs.snapshot(f"{scratch}@s2")
    (path / "f").write_text("v3")
    with pytest.raises(ZfsError):
        zfs.rollback(f"{scratch}@s1")  # newer snapshot exists
    zfs.rollback(f"{scratch}@s2")
    assert (path / "f").read_text() == "v2"
    zfs.rollback(f"{scratch}@s1", destroy_newer=True)
    assert (path / "f").read_text() == "v1"
    assert [d.name for d in zfs.snapshots(scratch)] == [f"{scratch}@s1"]


def test_send_receive_round_trip_through_a_pipe(zfs, scratch):
    src = f"{scratch}/src"
    zfs.create(src, props={"org.freebsd.ioc:tag": "t1"})
    (mountpoint(zfs, src) / "payload").write_bytes(bytes(range(256)) * 1000)
    zfs.snapshot(f"{src}@x")
    with zfs.send(f"{src}@x") as stream:
        zfs.receive(f"{scratch}/copy", stream)
    assert (mountpoint(zfs, f"{scratch}/copy") / "payload").read_bytes() == bytes(range(256)) * 1000
    assert zfs.exists(f"{scratch}/copy@x")


def test_send_replicate_keeps_user_properties_and_children(zfs, scratch):
    src = f"{scratch}/rsrc"
    zfs.create(f"{src}/root", parents=True)
    zfs.set(src, {"org.freebsd.ioc:tag": "kept"})
    zfs.snapshot(f"{src}@r", recursive=True)
    with zfs.send(f"{src}@r", replicate=True) as stream:
        zfs.receive(f"{scratch}/rcopy", stream, no_mount=True)
    copy = zfs.dataset(f"{scratch}/rcopy", ["org.freebsd.ioc:tag"])
    assert copy.get("org.freebsd.ioc:tag") == "kept"
    assert zfs.exists(f"{scratch}/rcopy/root@r")


def test_send_of_missing_snapshot_raises_and_receive_creates_nothing(zfs, scratch):
    with pytest.raises(ZfsError):
        with zfs.send(f"{scratch}@missing") as stream:
            zfs.receive(f"{scratch}/never", stream)
    assert not zfs.exists(f"{scratch}/never")


def test_receive_of_garbage_fails_cleanly(zfs, scratch, tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a zfs stream" * 100)
    with junk.open("rb") as stream, pytest.raises(ZfsError):
        zfs.receive(f"{scratch}/junk", stream)
    assert not zfs.exists(f"{scratch}/junk")


def test_pools_lists_the_test_pool(zfs, zpool):
    pools = {p.name: p for p in zfs.pools()}
    assert zpool.name in pools
    assert pools[zpool.name].health == "ONLINE"


def test_busy_errors_are_typed(zfs, scratch):
    """A dataset kept busy by a process's cwd: destroy retries, then reports DatasetBusy or succeeds."""
    target = f"{scratch}/held"
    zfs.create(target)
    holder = subprocess.Popen(["sleep", "30"], cwd=mountpoint(zfs, target))
    try:
        try:
            Zfs(busy_retries=1, busy_delay=0.01).destroy(target)
        except DatasetBusy as err:
            assert "busy" in str(err)
            assert zfs.exists(target)
        else:
            assert not zfs.exists(target)  # the platform let it go; either outcome is typed
    finally:
        holder.kill()
        holder.wait()


def test_unmount_and_mount(zfs, scratch):
    path = mountpoint(zfs, scratch)
    (path / "f").write_text("here")
    zfs.unmount(scratch)
    assert zfs.get(scratch, "mounted") == "no"
    assert not (path / "f").exists()
    zfs.mount(scratch)
    assert zfs.get(scratch, "mounted") == "yes" and (path / "f").read_text() == "here"


def test_pool_create_and_destroy(zfs, zpool, tmp_path):
    image = tmp_path / "extra.img"
    image.write_bytes(b"")
    os.truncate(image, 128 * 1024 * 1024)
    name = f"{zpool.name}x"
    zfs.pool_create(name, [str(image)], mountpoint=str(tmp_path / "mnt"))
    try:
        assert name in {p.name for p in zfs.pools()}
        assert zfs.get(name, "mountpoint") == str(tmp_path / "mnt")
        with pytest.raises(ZfsError):
            zfs.pool_create(name, [str(image)])
    finally:
        zfs.pool_destroy(name, force=True)
    assert name not in {p.name for p in zfs.pools()}
