"""Release names, machine names and the distribution sets a release is made of. Pure.

A release name becomes a dataset (`POOL/iocage/releases/NAME`) and a directory on a mirror, so
it is held to what both accept: letters, digits and `. _ + -`, starting with a letter or digit.
FreeBSD names (`13.2-RELEASE`, `14.0-RC1`, `15.0-CURRENT`) are a subset; custom names such as an
SVN revision (`r343907`) or a Linux userland (`alpine-3.19`) are accepted too.
"""

from __future__ import annotations

import re

from iocjail.errors import InvalidName

MAX_RELEASE_NAME = 200
_RELEASE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_FREEBSD_RE = re.compile(r"^(\d+)\.(\d+)-(RELEASE|STABLE|CURRENT|PRERELEASE|BETA\d*|RC\d*|ALPHA\d*)(-p(\d+))?$")

# uname -m -> (MACHINE, MACHINE_ARCH) as the FreeBSD mirror lays directories out.
_MACHINES = {
    "x86_64": ("amd64", "amd64"),
    "amd64": ("amd64", "amd64"),
    "i386": ("i386", "i386"),
    "i686": ("i386", "i386"),
    "aarch64": ("arm64", "aarch64"),
    "arm64": ("arm64", "aarch64"),
    "riscv64": ("riscv", "riscv64"),
    "ppc64le": ("powerpc", "powerpc64le"),
    "ppc64": ("powerpc", "powerpc64"),
}
# Architectures whose releases ship lib32.txz (32-bit compatibility libraries).
_LIB32_ARCHES = frozenset({"amd64", "powerpc64"})


def validate_release(name: str) -> str:
    if not name:
        raise InvalidName("release", name, "it is empty")
    if len(name) > MAX_RELEASE_NAME:
        raise InvalidName("release", name, f"longer than {MAX_RELEASE_NAME} characters")
    if name in (".", "..") or not _RELEASE_RE.match(name):
        raise InvalidName("release", name, "a release name holds only letters, digits and . _ + -")
    return name


def is_freebsd_release(name: str) -> bool:
    """True for names freebsd-update understands (`13.2-RELEASE`, `14.1-RELEASE-p3`, ...)."""
    return _FREEBSD_RE.match(name) is not None


def sort_key(name: str) -> tuple[int, int, int, str]:
    """Version order for FreeBSD names (9.3 before 13.2), custom names after them by name."""
    match = _FREEBSD_RE.match(name)
    if not match:
        return (1, 0, 0, name)
    return (0, int(match.group(1)), int(match.group(2)), name)


def machine_pair(uname_machine: str, uname_processor: str = "") -> tuple[str, str]:
    """(MACHINE, MACHINE_ARCH) for the mirror path, from `uname -m` (and `uname -p` on FreeBSD).

    FreeBSD's own `uname -p` is MACHINE_ARCH already; Linux reports x86_64/aarch64, mapped here.
    """
    if uname_machine in _MACHINES:
        machine, arch = _MACHINES[uname_machine]
    else:
        machine, arch = uname_machine, uname_machine
    if uname_processor and uname_processor not in ("unknown", uname_machine) and uname_machine == machine:
        arch = uname_processor  # FreeBSD: `uname -m` arm64, `uname -p` aarch64
    return machine, arch


def default_files(arch: str) -> tuple[str, ...]:
    """The distribution sets fetched when -F is not given (lib32 only where the arch has it)."""
    return ("base.txz", "lib32.txz") if arch in _LIB32_ARCHES else ("base.txz",)


def validate_file_name(name: str) -> str:
    """A distribution set is a plain file name inside the release directory."""
    if not name or "/" in name or name in (".", "..") or name.startswith("."):
        raise InvalidName("distribution file", name, "give a plain file name such as base.txz")
    return name
