import pytest

from iocjail.errors import InvalidName
from iocjail.fetch.names import (default_files, is_freebsd_release, machine_pair, sort_key, validate_file_name,
                                 validate_release)


@pytest.mark.parametrize("name", ["13.2-RELEASE", "14.0-RC1", "15.0-CURRENT", "r343907", "alpine-3.19", "a+b_c.d"])
def test_good_release_names(name):
    assert validate_release(name) == name


@pytest.mark.parametrize("name,why", [
    ("", "empty"), ("..", "only letters"), (".", "only letters"), ("13.2/RELEASE", "only letters"),
    ("-rf", "only letters"), ("13.2 RELEASE", "only letters"), ("rel@snap", "only letters"), ("x" * 201, "longer"),
])
def test_bad_release_names(name, why):
    with pytest.raises(InvalidName) as err:
        validate_release(name)
    assert why in str(err.value) and str(err.value).startswith("invalid release name")


def test_freebsd_names_are_recognised():
    assert is_freebsd_release("13.2-RELEASE") and is_freebsd_release("14.1-RELEASE-p3")
    assert is_freebsd_release("14.0-BETA2") and is_freebsd_release("15.0-CURRENT")
    assert not is_freebsd_release("alpine-3.19") and not is_freebsd_release("r343907")


def test_sort_is_by_version_then_custom_names():
    names = ["r343907", "13.2-RELEASE", "9.3-RELEASE", "13.10-RELEASE", "alpine"]
    assert sorted(names, key=sort_key) == ["9.3-RELEASE", "13.2-RELEASE", "13.10-RELEASE", "alpine", "r343907"]


@pytest.mark.parametrize("machine,processor,pair", [
    ("x86_64", "", ("amd64", "amd64")),
    ("amd64", "amd64", ("amd64", "amd64")),  # FreeBSD
    ("aarch64", "", ("arm64", "aarch64")),
    ("arm64", "aarch64", ("arm64", "aarch64")),  # FreeBSD
    ("i686", "", ("i386", "i386")),
    ("riscv", "riscv64", ("riscv", "riscv64")),  # FreeBSD: unknown machine, processor taken as is
])
def test_machine_pairs(machine, processor, pair):
    assert machine_pair(machine, processor) == pair


def test_lib32_only_where_the_arch_has_it():
    assert default_files("amd64") == ("base.txz", "lib32.txz")
    assert default_files("aarch64") == ("base.txz",) and default_files("i386") == ("base.txz",)


@pytest.mark.parametrize("name", ["", "../base.txz", "a/b", ".hidden", ".."])
def test_bad_file_names(name):
    with pytest.raises(InvalidName):
        validate_file_name(name)
