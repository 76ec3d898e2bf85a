"""Writes records as JSONL or CSV for an auditor (nested values become JSON in CSV).

CSV is opened in spreadsheets, which run a cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula (CSV injection): such a cell gets a single quote
in front, which makes it text (OWASP's rule; checked before the cell is quoted, because
a spreadsheet removes the quotes first), and every cell is quoted, as OWASP also
advises. JSONL is written as stored.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Literal, TextIO

ExportFormat = Literal["jsonl", "csv"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_records(records: Iterable[dict], out: TextIO, fmt: ExportFormat) -> int:
    """Write ``records`` to ``out``; returns how many were written."""
    count = 0
    writer: csv.DictWriter | None = None
    for record in records:
        if fmt == "jsonl":
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        else:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(record), quoting=csv.QUOTE_ALL)
                writer.writeheader()
            writer.writerow({key: _cell(value) for key, value in record.items()})
        count += 1
    return count


def spreadsheet_safe(text: str) -> str:
    """``text`` as a spreadsheet shows it instead of running it as a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _cell(value: object) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return "" if value is None else value
