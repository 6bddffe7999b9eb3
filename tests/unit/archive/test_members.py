"""Member names of iocage's export archives: written as iocage writes them, read as it reads them,
and everything else refused."""

from __future__ import annotations

import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from iocjail.archive import members as M
from iocjail.archive.members import DEFLATED, STORED, Entry, UnsafeArchive
from iocjail.errors import UsageError

D = "2024-05-01"


def iocage_dataset(member: str, uuid: str, date: str) -> str:
    """iocage's import rule (reference §5, ioc_image.py), to check our names against it."""
    rest = member.split(f"{date}_", 1)[-1]
    rest = rest.split(f"{uuid}_", 1)[-1]
    if rest == date:
        return uuid
    return f"{uuid}/{rest.replace('_', '/')}".rstrip("/")


def entries(*names: str, size: int = 10) -> list[Entry]:
    return [Entry(n, size, size) for n in names]


def test_date_and_names():
    assert M.date_of(datetime(2024, 5, 1, 23, 30, tzinfo=timezone.utc)) == D
    assert M.snapshot_name(D) == "ioc-export-2024-05-01"
    assert M.stem("web", D) == "web_2024-05-01"
    assert M.split_stem("my_jail_2024-05-01") == ("my_jail", D)
    with pytest.raises(UsageError):
        M.split_stem("nodate")


@pytest.mark.parametrize("iocroot", ["/mnt/tank/iocage", "/iocage", "/iocage/"])
def test_member_names_are_what_iocage_zips(tmp_path, iocroot):
    """iocage zips the stream files by absolute path: zipfile drops the leading '/'."""
    for rel in ("", "root", "data/db"):
        path = f"{iocroot.rstrip('/')}/images/web_{D}" + (f"_{rel.replace('/', '_')}" if rel else "")
        assert M.member_name(iocroot, f"web_{D}", rel) == zipfile.ZipInfo.from_file(__file__, path).filename


@pytest.mark.parametrize("name", ["web", "my_jail", "a.b-c"])
def test_our_names_map_back_by_iocage_rule_and_ours(name):
    stem = M.stem(name, D)
    names = [M.member_name("/mnt/tank/iocage", stem, rel) for rel in ("", "root", "data", "data/db")]
    assert [iocage_dataset(n, name, D) for n in names] == [name, f"{name}/root", f"{name}/data", f"{name}/data/db"]
    planned = M.plan("a.zip", name, D, entries(*reversed(names)))
    assert [p.rel for p in planned] == ["", "data", "root", "data/db"]  # parents first
    assert M.source_iocroot(planned) == "/mnt/tank/iocage"


def test_members_without_a_directory_are_read_too():
    planned = M.plan("a.zip", "web", D, entries(f"web_{D}", f"web_{D}_root"))
    assert [p.rel for p in planned] == ["", "root"]
    assert M.source_iocroot(planned) is None


def test_children_with_an_underscore_cannot_be_exported():
    M.check_exportable("web", ["", "root", "data/db"])
    with pytest.raises(UsageError, match="'data_x'"):
        M.check_exportable("web", ["", "data_x"])


HOSTILE = {
    "absolute": [f"/iocage/images/web_{D}"],
    "dotdot": [f"iocage/images/web_{D}", f"iocage/images/../images/web_{D}_root"],
    "dotdot dataset": [f"iocage/images/web_{D}", f"iocage/images/web_{D}_.._x"],
    "empty component": [f"iocage/images/web_{D}", f"iocage/images/web_{D}__root"],
    "unexpected": [f"iocage/images/web_{D}", "iocage/images/evil.sh"],
    "other jail": [f"iocage/images/web_{D}", f"iocage/images/db_{D}_root"],
    "not images": [f"iocage/images/web_{D}", f"etc/web_{D}_root"],
    "directory entry": [f"iocage/images/web_{D}", "iocage/images/"],
    "two directories": [f"a/images/web_{D}", f"b/images/web_{D}_root"],
    "duplicate": [f"iocage/images/web_{D}", f"iocage/images/web_{D}_root", f"iocage/images/web_{D}_root"],
    "no parent": [f"iocage/images/web_{D}_root"],
    "orphan child": [f"iocage/images/web_{D}", f"iocage/images/web_{D}_data_db"],
    "backslash": [f"iocage/images/web_{D}", f"iocage\\images\\web_{D}_root"],
    "drive": [f"C:/images/web_{D}"],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_member_names_are_refused(case):
    with pytest.raises(UnsafeArchive) as err:
        M.plan("x.zip", "web", D, entries(*HOSTILE[case]))
    assert str(err.value).startswith("x.zip: ") and str(err.value).endswith(": refusing to import it")


def test_too_many_members_and_none():
    with pytest.raises(UnsafeArchive, match="no member"):
        M.plan("x.zip", "web", D, [])
    many = [f"web_{D}"] + [f"web_{D}_d{i}" for i in range(M.MAX_MEMBERS)]
    with pytest.raises(UnsafeArchive, match="members"):
        M.plan("x.zip", "web", D, entries(*many))


def test_sizes_bound_what_an_import_may_write():
    ok = [Entry("a", 100, 100, STORED), Entry("b", 1_000_000, 2_000, DEFLATED)]
    assert M.check_sizes("x.zip", ok, 2_000_000) == 1_000_100
    with pytest.raises(UnsafeArchive, match="more than the 1000000 bytes free"):
        M.check_sizes("x.zip", ok, 1_000_000)
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        M.check_sizes("x.zip", [Entry("b", 10 << 30, 1_000, DEFLATED)], 1 << 40)
    with pytest.raises(UnsafeArchive, match="stored but declares"):
        M.check_sizes("x.zip", [Entry("a", 10 << 30, 100, STORED)], 1 << 40)


def test_checksum_files():
    digest = "ab" * 32
    assert M.parse_checksum(digest, "f") == digest  # iocage: bare hex, no newline
    assert M.parse_checksum(f"{digest.upper()}  web_{D}.zip\n", "f") == digest  # sha256sum
    for bad in ("", "zz" * 32, "abc"):
        with pytest.raises(UsageError):
            M.parse_checksum(bad, "f")
    assert M.format_checksum(digest) == digest
