"""The audit log's hash chain, retention and export, on a real SQLite file, and the
``wegwijzer audit`` commands through the real CLI."""

from __future__ import annotations

import csv
import itertools
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.governance.audit_log import GENESIS, AuditLog, BrokenChain, Origin

pytestmark = pytest.mark.unit

BIO_FIELDS = {"action", "object", "result", "origin", "actor", "timestamp"}


def filled(path: Path, count: int = 5) -> AuditLog:
    log = AuditLog(path)
    for n in range(count):
        log.append(
            Origin("key:abc", "api:127.0.0.1"),
            action="chat.answer",
            object=f"message:m{n}",
            result="answered",
            details={"question": f"Vraag {n}?", "retrieved": [f"c{n}"]},
        )
    return log


def tamper(path: Path, sql: str, *params: object) -> None:
    """What someone with access to the file could do: remove the guard, then edit."""
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER IF EXISTS audit_append_only")
        db.execute("DROP TRIGGER IF EXISTS audit_delete_by_retention_only")
        db.execute(sql, params)


def test_entries_carry_the_bio_fields_and_link_into_a_chain(tmp_path: Path) -> None:
    log = filled(tmp_path / "audit.sqlite")
    entries = list(log.entries())
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert set(entries[0].to_dict()) >= BIO_FIELDS
    assert entries[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    assert all(e.hash == e.computed_hash() for e in entries)
    report = log.verify()
    assert report.ok and report.entries == 5 and report.last_seq == 5


def test_a_changed_entry_is_caught_and_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled(path)
    tamper(path, "UPDATE audit_log SET details = ? WHERE seq = 3", '{"question": "iets anders"}')
    report = log.verify()
    assert not report.ok
    assert report.broken_seq == 3
    assert "changed" in report.problem
    assert report.entries == 2  # the two before it still verify


def test_a_removed_or_reordered_entry_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled(path)
    tamper(path, "DELETE FROM audit_log WHERE seq = 2")
    report = log.verify()
    assert (report.ok, report.broken_seq) == (False, 2)
    assert "missing" in report.problem


def test_removing_the_newest_entries_is_caught_by_the_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled(path)
    tamper(path, "DELETE FROM audit_log WHERE seq >= 4")
    report = log.verify()
    assert (report.ok, report.broken_seq) == (False, 4)


def test_a_rehashed_entry_still_breaks_the_link_to_the_next(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled(path)
    entry = next(e for e in log.entries() if e.seq == 2)
    forged = type(entry)(**{**entry.to_dict(), "details": {"question": "vervalst"}})
    tamper(
        path,
        "UPDATE audit_log SET details = ?, hash = ? WHERE seq = 2",
        json.dumps(forged.details),
        forged.computed_hash(),
    )
    report = log.verify()
    assert (report.ok, report.broken_seq) == (False, 3)
    assert "link" in report.problem


def test_updates_and_deletes_are_refused_by_the_database(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    filled(path)
    with sqlite3.connect(path) as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE audit_log SET result = 'x' WHERE seq = 1")
        with pytest.raises(sqlite3.IntegrityError, match="retention"):
            db.execute("DELETE FROM audit_log WHERE seq = 1")


def test_concurrent_writers_keep_one_unbroken_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    logs = [AuditLog(path) for _ in range(4)]  # as separate processes or replicas would

    def write(log: AuditLog, worker: int) -> None:
        for _ in range(25):
            log.append(
                Origin(f"w{worker}", "test"), action="search", object="index", result="success"
            )

    threads = [threading.Thread(target=write, args=(log, i)) for i, log in enumerate(logs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = logs[0].verify()
    assert report.ok and report.entries == 100


def test_retention_removes_old_entries_and_the_rest_still_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled(path, 3)
    time.sleep(0.05)
    cutoff = time.time()
    time.sleep(0.05)
    filled(path, 2)
    removed = log.prune(cutoff, Origin("cli:test", "test"))
    assert removed == 3
    entries = list(log.entries())
    assert [e.seq for e in entries] == [4, 5, 6]
    assert entries[-1].action == "audit.prune"
    assert entries[-1].details["removed"] == 3
    assert log.verify().ok
    assert log.chain_start()[0] == 4


def test_retention_refuses_to_destroy_evidence_of_tampering(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled(path)
    tamper(path, "UPDATE audit_log SET actor = 'iemand anders' WHERE seq = 1")
    with pytest.raises(BrokenChain):
        log.prune(time.time() + 10, Origin("cli:test", "test"))
    assert len(list(log.entries())) == 5


def cli(tmp_path: Path, *args: str) -> object:
    env = {"WEGWIJZER_DATA_DIR": str(tmp_path)}
    return CliRunner().invoke(app, list(args), env=env)


def test_cli_verify_reports_the_first_broken_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    filled(path)
    ok = cli(tmp_path, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    tamper(path, "UPDATE audit_log SET result = 'refused' WHERE seq = 4")
    broken = cli(tmp_path, "audit", "verify")
    assert broken.exit_code == 1
    assert "BROKEN at entry 4" in broken.output


def test_cli_export_jsonl_verifies_on_its_own_and_csv_opens(tmp_path: Path) -> None:
    filled(tmp_path / "audit.sqlite")
    exported = tmp_path / "export" / "audit.jsonl"
    result = cli(tmp_path, "audit", "export", "--out", str(exported))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]  # 6: the export itself
    assert lines[-1]["action"] == "audit.export"
    assert cli(tmp_path, "audit", "verify", "--file", str(exported)).exit_code == 0

    lines[2]["details"]["question"] = "vervalst"
    exported.write_text("".join(json.dumps(line) + "\n" for line in lines))
    forged = cli(tmp_path, "audit", "verify", "--file", str(exported))
    assert forged.exit_code == 1 and "entry 3" in forged.output

    as_csv = tmp_path / "audit.csv"
    assert cli(tmp_path, "audit", "export", "--format", "csv", "--out", str(as_csv)).exit_code == 0
    rows = list(csv.DictReader(as_csv.open(encoding="utf-8")))
    assert set(rows[0]) >= BIO_FIELDS
    assert json.loads(rows[0]["details"])["question"] == "Vraag 0?"


def test_cli_prune_uses_the_retention_setting(tmp_path: Path) -> None:
    log = filled(tmp_path / "audit.sqlite")
    result = cli(tmp_path, "audit", "prune")  # default 183 days: everything is newer
    assert result.exit_code == 0, result.output
    assert "removed 0 audit entries" in result.output
    actions = [e.action for e in log.entries()][5:]
    assert log.verify().ok and actions == ["conversations.prune", "audit.prune"]


def test_cli_key_changes_are_audited(tmp_path: Path) -> None:
    created = cli(tmp_path, "keys", "create", "--name", "prometheus", "--role", "admin")
    assert created.exit_code == 0, created.output
    entries = list(AuditLog(tmp_path / "audit.sqlite").entries())
    assert entries[-1].action == "keys.create"
    assert entries[-1].actor.startswith("cli:")
    assert entries[-1].details == {"name": "prometheus", "role": "admin", "collections": []}
    assert created.output.strip().splitlines()[-1] not in json.dumps(entries[-1].to_dict())
