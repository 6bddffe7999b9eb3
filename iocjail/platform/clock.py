"""The wall clock, read in one place. Services take `now` as an argument (STYLE.md: the clock
comes in, as `Thinner.thin(objects, keep, now)` takes it) and default it to these."""

from __future__ import annotations

from datetime import datetime, timezone

STAMP = "%Y-%m-%d %H:%M:%S"  # iocage's config.json times (last_started, created), UTC


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def utc_stamp() -> str:
    """Now, as config.json records it."""
    return utc_now().strftime(STAMP)
