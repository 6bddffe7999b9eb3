"""Output for humans and scripts: texttable tables, `-H` tab-separated (zfs -H style), `--json`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import Enum
from typing import Any

import texttable


class Format(Enum):
    TABLE = "table"
    TSV = "tsv"  # no header, one tab between fields: `-H` (and iocage's `-h`)
    JSON = "json"


Cell = str | int | float | None


def _cell(value: Cell) -> str:
    return "-" if value is None else str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], fmt: Format = Format.TABLE) -> str:
    """Render rows; JSON is a list of objects keyed by lower-cased header, values kept typed."""
    if fmt is Format.JSON:
        keys = [h.lower() for h in headers]
        return json.dumps([dict(zip(keys, row)) for row in rows], indent=2)
    if fmt is Format.TSV:
        return "\n".join("\t".join(_cell(c) for c in row) for row in rows)
    tt = texttable.Texttable(max_width=0)
    tt.set_deco(texttable.Texttable.BORDER | texttable.Texttable.HEADER | texttable.Texttable.VLINES
                | texttable.Texttable.HLINES)
    tt.set_cols_dtype(["t"] * len(headers))  # never reformat numbers or names
    tt.header(list(headers))
    tt.add_rows([[_cell(c) for c in row] for row in rows], header=False)
    return str(tt.draw())


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True)
