"""Sizes and ratios as zfs(8) prints them for humans, from the raw numbers of `zfs get -p`.

`df` and `snaplist` ask zfs for exact numbers once (`-p`) and format here, so `--json` gets
bytes and the table gets what `zfs list` would show (`604K`, `1.20M`, `93.2G`); `fetch` reports
a download's size in binary units (`1.5 MiB`). Every size the CLI prints comes from here.
"""

from __future__ import annotations

SUFFIXES = "KMGTPE"


def human_size(num: int) -> str:
    """zfs's "nicenum": 1024-based, at most 5 characters, integral when exact."""
    if num < 1024:
        return str(num)
    index, value = 0, float(num)
    while value >= 1024 and index < len(SUFFIXES):
        value /= 1024
        index += 1
    suffix = SUFFIXES[index - 1]
    if num % (1024 ** index) == 0:
        return f"{num // 1024 ** index}{suffix}"
    for precision in (2, 1, 0):
        text = f"{value:.{precision}f}{suffix}"
        if len(text) <= 5:
            return text
    return f"{value:.0f}{suffix}"


def size_or(num: int | None, empty: str = "-") -> str:
    """human_size, or `empty` for a size zfs does not have (`-`, or `none` for no quota)."""
    return empty if num is None else human_size(num)


def binary_size(num: int) -> str:
    """A download's size as fetch reports it: `512 B`, `1.5 KiB`, … `3.2 GiB`."""
    value = float(num)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{num} B"


def parse_bytes(value: str | None) -> int | None:
    """A `zfs get -p` size; None for `-` or anything not a number (a property zfs lacks)."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def parse_ratio(value: str | None) -> float | None:
    """`1.00x` (zfs-fuse, FreeBSD) or `1.00` (OpenZFS -p) -> 1.0."""
    if not value:
        return None
    try:
        return float(value.rstrip("x"))
    except ValueError:
        return None


def human_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"
