"""Writes records as JSONL or CSV for an auditor (nested values become JSON in CSV).

CSV is opened in spreadsheets, which run a cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula (CSV injection): such a cell gets a single quote
in front, which makes it text (OWASP's rule; checked before the cell is quoted, because
a spreadsheet removes the quotes first), and every cell is quoted, as OWASP also
advises. JSONL is written as stored.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Literal, TextIO

ExportFormat = Literal["jsonl", "csv"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_BYTES = 1 << 16  # what a streamed HTTP export sends at a time


def export_lines(records: Iterable[dict], fmt: ExportFormat) -> Iterator[str]:
    """The export as text, one record at a time (a CSV header comes with the first): a
    lazy iterator, so an export of any size holds only the record being written."""
    if fmt == "jsonl":
        for record in records:
            yield json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        return
    buffer = io.StringIO()
    writer: csv.DictWriter | None = None
    for record in records:
        if writer is None:
            writer = csv.DictWriter(buffer, fieldnames=list(record), quoting=csv.QUOTE_ALL)
            writer.writeheader()
        writer.writerow({key: _cell(value) for key, value in record.items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def export_chunks(
    records: Iterable[dict], fmt: ExportFormat, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[bytes]:
    """``export_lines`` as UTF-8 in pieces of about ``chunk_bytes``, for a streamed
    response."""
    pending: list[bytes] = []
    size = 0
    for line in export_lines(records, fmt):
        pending.append(line.encode("utf-8"))
        size += len(pending[-1])
        if size >= chunk_bytes:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def write_records(records: Iterable[dict], out: TextIO, fmt: ExportFormat) -> int:
    """Write ``records`` to ``out`` as they come; returns how many were written."""
    count = 0
    for line in export_lines(records, fmt):
        out.write(line)
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
