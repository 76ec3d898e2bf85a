"""Writes records as JSONL or CSV for an auditor (nested values become JSON in CSV)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Literal, TextIO

ExportFormat = Literal["jsonl", "csv"]


def write_records(records: Iterable[dict], out: TextIO, fmt: ExportFormat) -> int:
    """Write ``records`` to ``out``; returns how many were written."""
    count = 0
    writer: csv.DictWriter | None = None
    for record in records:
        if fmt == "jsonl":
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        else:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(record))
                writer.writeheader()
            writer.writerow({key: _cell(value) for key, value in record.items()})
        count += 1
    return count


def _cell(value: object) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else value
