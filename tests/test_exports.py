"""Exports stream: records are read a page at a time and written one at a time, the
HTTP downloads are chunked (no Content-Length), and the CSV formula guard stays on."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.conversations import SqliteConversationStore
from assistant.governance.audit_log import AuditLog, Origin
from assistant.governance.export import export_chunks, export_lines
from assistant.security.api_keys import KeyStore
from tests.conftest import make_settings
from tests.test_api import server_env, start_server, stop

FEEDBACK_ROWS = 120  # about 130 kB of CSV: more than two chunks
AUDIT_ROWS = 40  # about 90 kB of JSONL


def _endless() -> Iterator[dict]:
    for n in itertools.count():
        yield {"n": n, "comment": '=HYPERLINK("http://x")' if n == 1 else f"tekst {n}"}


@pytest.mark.unit
def test_an_export_is_a_lazy_iterator_with_the_formula_guard() -> None:
    """An endless source: anything that collected the records first would never return."""
    lines = export_lines(_endless(), "csv")
    assert isinstance(lines, Iterator) and not isinstance(lines, list | str)
    header_and_first, second = itertools.islice(lines, 2)
    assert header_and_first == '"n","comment"\r\n"0","tekst 0"\r\n'
    assert second == '"1","\'=HYPERLINK(""http://x"")"\r\n'
    first_json = next(export_lines(_endless(), "jsonl"))
    assert json.loads(first_json) == {"n": 0, "comment": "tekst 0"}
    chunks = export_chunks(_endless(), "jsonl", chunk_bytes=1000)
    assert isinstance(chunks, Iterator)
    assert 1000 <= len(next(chunks)) < 1100


@pytest.mark.unit
def test_chunks_hold_every_record_once() -> None:
    records = [{"id": n, "text": f"regel {n}", "meta": {"n": n}} for n in range(5000)]
    chunks = list(export_chunks(iter(records), "csv", chunk_bytes=4096))
    assert len(chunks) > 20 and all(len(chunk) < 4096 + 200 for chunk in chunks)
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode("utf-8"))))
    assert [int(row["id"]) for row in rows] == list(range(5000))
    assert rows[7]["meta"] == '{"n": 7}'
    assert list(export_chunks(iter([]), "csv")) == []


@pytest.fixture(scope="module")
def exporting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    tmp = tmp_path_factory.mktemp("exports")
    settings = make_settings(tmp, tmp / "corpus")
    conversations = SqliteConversationStore(settings.conversations_path)
    conversation = conversations.create()
    for n in range(FEEDBACK_ROWS):
        answer = conversations.add_exchange(
            conversation, f"Vraag {n} over de DPIA?", f"Vraag {n}", "Een DPIA [1]. " * 60, {}
        )
        comment = "=1+1" if n == 0 else f"opmerking {n} " + "x" * 200
        conversations.add_feedback(answer, "down", comment, n % 2 == 0)
    audit = AuditLog(settings.audit_path)
    who = Origin(actor="test:export", origin="pytest")
    for n in range(AUDIT_ROWS):
        audit.append(
            who, action="test.entry", object=f"x{n}", result="success", details={"x": "x" * 2000}
        )
    _, admin_key = KeyStore(settings.api_keys_path).create("beheerder", "admin")
    process, base = start_server(server_env(settings, WEGWIJZER_AUTH_MODE="keys"))
    yield base, {"Authorization": f"Bearer {admin_key}"}
    stop(process)


def _streamed(base: str, headers: dict, path: str, **params: str) -> tuple[httpx.Headers, list]:
    with httpx.stream("GET", base + path, headers=headers, params=params, timeout=120) as r:
        assert r.status_code == 200, r.read()
        return r.headers, list(r.iter_raw())


@pytest.mark.integration
def test_the_feedback_download_is_streamed(exporting_server: tuple[str, dict]) -> None:
    base, admin = exporting_server
    headers, pieces = _streamed(base, admin, "/api/admin/feedback/export", format="csv")
    assert "content-length" not in headers and headers["transfer-encoding"] == "chunked"
    assert headers["content-type"].startswith("text/csv")
    assert len(pieces) > 1
    rows = list(csv.DictReader(io.StringIO(b"".join(pieces).decode("utf-8"))))
    assert len(rows) == FEEDBACK_ROWS and len({row["id"] for row in rows}) == FEEDBACK_ROWS
    assert [row["comment"] for row in rows if row["comment"].startswith("'")] == ["'=1+1"]
    _, open_only = _streamed(base, admin, "/api/admin/feedback/export", state="open")
    assert len(b"".join(open_only).splitlines()) == FEEDBACK_ROWS


@pytest.mark.integration
def test_the_audit_download_is_streamed(exporting_server: tuple[str, dict]) -> None:
    base, admin = exporting_server
    headers, pieces = _streamed(base, admin, "/api/admin/audit/export", format="jsonl")
    assert "content-length" not in headers and headers["transfer-encoding"] == "chunked"
    assert len(pieces) > 1
    entries = [json.loads(line) for line in b"".join(pieces).splitlines()]
    assert [e["object"] for e in entries[:AUDIT_ROWS]] == [f"x{n}" for n in range(AUDIT_ROWS)]
    assert entries[-1]["action"] == "audit.export", "the export itself is in the log"
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)


@pytest.mark.integration
def test_a_cli_export_appears_only_when_complete(tmp_path: Path) -> None:
    from tests.test_cli import wegwijzer

    settings = make_settings(tmp_path, tmp_path / "corpus")
    store = SqliteConversationStore(settings.conversations_path)
    conversation = store.create()
    for n in range(3):
        answer = store.add_exchange(conversation, f"Vraag {n}?", f"Vraag {n}", "Antwoord.", {})
        store.add_feedback(answer, "up", f"goed {n}", False)
    out = tmp_path / "export" / "feedback.csv"
    result = wegwijzer(server_env(settings), "feedback", "export", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == 3
    assert not list(out.parent.glob("*.partial"))
