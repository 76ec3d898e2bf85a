"""The audit log's hash chain, retention and export, on a real SQLite file, and the
``wegwijzer audit`` commands through the real CLI."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import secrets
import socket
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.governance.audit_anchor import read_anchors
from assistant.governance.audit_key import AuditKey, AuditKeyError, audit_key
from assistant.governance.audit_log import (
    GENESIS,
    AuditLog,
    BrokenChain,
    Origin,
    entry_from_dict,
)
from assistant.settings import Settings

pytestmark = pytest.mark.unit

BIO_FIELDS = {"action", "object", "result", "origin", "actor", "timestamp"}


def filled(path: Path, count: int = 5, key: AuditKey | None = None) -> AuditLog:
    log = AuditLog(path, key)
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


def cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> object:
    env = {"WEGWIJZER_DATA_DIR": str(tmp_path), **(env or {})}
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


# --- keyed chain, every column covered, anchors, upgrade ------------------------------------


def new_key() -> AuditKey:
    return AuditKey(secrets.token_hex(32).encode())


def write_key_file(directory: Path) -> Path:
    path = directory / "secrets" / "audit.key"
    path.parent.mkdir()
    path.write_text(secrets.token_hex(32) + "\n")
    path.chmod(0o600)
    return path


def set_head(path: Path, seq: int) -> None:
    """Point the head at entry ``seq``, as someone covering a deletion would."""
    with sqlite3.connect(path) as db:
        head = db.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()[0]
        db.execute("UPDATE audit_chain SET head_seq = ?, head_hash = ?", (seq, head))


def rebuild_without_the_key(path: Path, *, unkeyed: bool, reset_markers: bool = False) -> None:
    """An attacker without the key edits entry 3 and recomputes every hash with plain
    SHA-256 over the same canonical JSON (the code is public), then fixes the head."""
    entries = list(AuditLog(path).entries())
    prev = GENESIS
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER IF EXISTS audit_append_only")
        for entry in entries:
            forged = replace(entry, prev_hash=prev, key_id="" if unkeyed else entry.key_id)
            if forged.seq == 3:
                forged = replace(forged, details={"question": "vervalst"})
            fields = {k: v for k, v in forged.to_dict().items() if k != "hash"}
            canonical = json.dumps(
                fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")
            )
            digest = hashlib.sha256(canonical.encode()).hexdigest()
            db.execute(
                "UPDATE audit_log SET details = ?, prev_hash = ?, hash = ?, key_id = ? "
                "WHERE seq = ?",
                (json.dumps(forged.details), prev, digest, forged.key_id, forged.seq),
            )
            prev = digest
        db.execute("UPDATE audit_chain SET head_hash = ?", (prev,))
        if reset_markers:
            db.execute("UPDATE audit_chain SET keyed_from = NULL, key_id = ''")


@pytest.mark.parametrize("keyed", [True, False])
def test_a_changed_created_at_is_caught(tmp_path: Path, keyed: bool) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled(path, key=new_key() if keyed else None)
    tamper(path, "UPDATE audit_log SET created_at = created_at - 86400 * 400 WHERE seq = 3")
    report = log.verify()
    assert (report.ok, report.broken_seq) == (False, 3)
    assert "changed" in report.problem


@pytest.mark.parametrize("unkeyed", [False, True], ids=["keeps-key-ids", "marks-unkeyed"])
def test_a_chain_recomputed_without_the_key_fails(tmp_path: Path, unkeyed: bool) -> None:
    path = tmp_path / "audit.sqlite"
    key = new_key()
    log = filled(path, key=key)
    assert log.verify().ok
    rebuild_without_the_key(path, unkeyed=unkeyed)
    report = log.verify()
    assert not report.ok and report.broken_seq == 1
    expected = "carries no key" if unkeyed else "changed"
    assert expected in report.problem
    other = AuditLog(path, new_key()).verify()  # a guessed key does not help either
    assert not other.ok and other.broken_seq == 1


def test_a_log_sealed_with_a_key_refuses_writes_without_it(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    key = new_key()
    filled(path, 2, key=key)
    for wrong in (None, new_key()):
        with pytest.raises(AuditKeyError, match="sealed with audit key"):
            AuditLog(path, wrong).append(Origin("x", "y"), action="a", object="o", result="r")
    assert [e.seq for e in AuditLog(path, key).entries()] == [1, 2]
    unkeyed = AuditLog(path).verify()
    assert not unkeyed.ok and "set audit_hmac_key_file" in unkeyed.problem


def test_keying_an_unkeyed_log_seals_it_with_an_audit_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    filled(path, 3)
    key = new_key()
    log = filled(path, 2, key=key)
    entries = list(log.entries())
    assert [(e.seq, e.action, bool(e.key_id)) for e in entries[2:]] == [
        (3, "chat.answer", False),
        (4, "audit.seal", True),
        (5, "chat.answer", True),
        (6, "chat.answer", True),
    ]
    assert entries[3].details == {"key_id": key.id, "unkeyed_until": 3}
    report = log.verify()
    assert report.ok and report.entries == 6
    assert any("before 4 were written without a key" in note for note in report.notes)
    tamper(path, "UPDATE audit_log SET key_id = '' WHERE seq = 5")  # a downgrade
    assert log.verify().broken_seq == 5


def test_the_key_never_reaches_the_database_file(tmp_path: Path) -> None:
    key_file = write_key_file(tmp_path)
    env = {"WEGWIJZER_AUDIT_HMAC_KEY_FILE": str(key_file)}
    secret = key_file.read_text().strip()
    key = audit_key(Settings(_env_file=None, data_dir=tmp_path, audit_hmac_key_file=key_file))
    assert key is not None and secret not in repr(key)
    filled(tmp_path / "audit.sqlite", key=key)
    assert (
        cli(tmp_path, "audit", "export", "--out", str(tmp_path / "x.jsonl"), env=env).exit_code == 0
    )
    assert cli(tmp_path, "audit", "verify", env=env).exit_code == 0
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("audit.sqlite*"))
    assert key.id.encode() in stored  # the entries name the key ...
    for form in (secret.encode(), bytes.fromhex(secret), secret.upper().encode()):
        assert form not in stored  # ... but never hold it
    assert secret not in (tmp_path / "x.jsonl").read_text()


def test_key_settings_are_checked(tmp_path: Path) -> None:
    key_file = write_key_file(tmp_path)
    both = Settings(
        _env_file=None, audit_hmac_key_file=key_file, audit_hmac_key=secrets.token_hex(32)
    )
    with pytest.raises(AuditKeyError, match="not both"):
        audit_key(both)
    with pytest.raises(AuditKeyError, match="shorter than 32"):
        audit_key(Settings(_env_file=None, audit_hmac_key="kort"))
    from_env = audit_key(Settings(_env_file=None, audit_hmac_key=key_file.read_text()))
    from_file = audit_key(Settings(_env_file=None, audit_hmac_key_file=key_file))
    assert from_env is not None and from_file is not None and from_env.id == from_file.id
    missing = cli(
        tmp_path, "audit", "verify", env={"WEGWIJZER_AUDIT_HMAC_KEY_FILE": str(tmp_path / "nee")}
    )
    assert missing.exit_code == 2 and "openssl rand -hex 32" in missing.output


def test_deleting_the_newest_entry_and_its_head_is_caught_by_the_anchor(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    key_file = write_key_file(tmp_path)
    anchors = tmp_path / "anchors" / "audit.anchors"
    env = {
        "WEGWIJZER_AUDIT_HMAC_KEY_FILE": str(key_file),
        "WEGWIJZER_AUDIT_ANCHOR_PATH": str(anchors),
    }
    key = audit_key(Settings(_env_file=None, audit_hmac_key_file=key_file))
    log = filled(path, 5, key=key)
    anchored = cli(tmp_path, "audit", "anchor", env=env)
    assert anchored.exit_code == 0, anchored.output
    [anchor] = read_anchors(anchors)
    assert (anchor.seq, anchor.head, anchor.key_id) == (5, log.verify().last_hash, key.id)
    filled(path, 1, key=key)  # entry 6: after the anchor
    ok = cli(tmp_path, "audit", "verify", env=env)
    assert ok.exit_code == 0 and "1 anchors match" in ok.output, ok.output

    tamper(path, "DELETE FROM audit_log WHERE seq >= 5")
    set_head(path, 4)
    assert log.verify().ok  # the database alone cannot tell ...
    report = log.verify(read_anchors(anchors))  # ... the anchor can
    assert (report.ok, report.broken_seq) == (False, 5)
    assert "entries 5–5 are missing" in report.problem and anchor.at in report.problem
    broken = cli(tmp_path, "audit", "verify", env=env)
    assert broken.exit_code == 1 and "BROKEN at entry 5" in broken.output
    refused = cli(tmp_path, "audit", "anchor", env=env)  # a broken log gets no new anchor
    assert refused.exit_code == 1 and len(read_anchors(anchors)) == 1


def test_a_full_rebuild_that_resets_the_key_markers_is_caught_by_the_anchor(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.sqlite"
    key = new_key()
    log = filled(path, 5, key=key)
    report = log.verify()
    from assistant.governance.audit_anchor import new_anchor

    anchor = new_anchor(report.last_seq, report.last_hash, key.id)
    rebuild_without_the_key(path, unkeyed=True, reset_markers=True)
    assert log.verify().ok  # looks like a log that was never keyed ...
    rebuilt = log.verify([anchor])  # ... but the anchored head is gone
    assert (rebuilt.ok, rebuilt.broken_seq) == (False, 5)
    assert "differs from its anchor" in rebuilt.problem


def test_anchor_to_syslog_over_udp_and_verify_the_received_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled(path, 3)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(10)
        port = server.getsockname()[1]
        result = cli(tmp_path, "audit", "anchor", "--syslog", f"127.0.0.1:{port}")
        assert result.exit_code == 0, result.output
        message, _ = server.recvfrom(65536)
    text = message.decode().rstrip("\x00")
    assert text.startswith("<37>wegwijzer: wegwijzer-audit-anchor {")  # auth.notice
    head = log.verify()
    assert json.loads(text.split(" ", 2)[2])["head"] == head.last_hash
    received = tmp_path / "auth.log"  # what the syslog server keeps, line prefixes and all
    received.write_text(f"Jan  1 00:00:00 host {text}\nJan  1 00:00:01 host sshd: other\n")
    assert cli(tmp_path, "audit", "verify", "--anchors", str(received)).exit_code == 0
    tamper(path, "DELETE FROM audit_log WHERE seq = 3")
    set_head(path, 2)
    truncated = cli(tmp_path, "audit", "verify", "--anchors", str(received))
    assert truncated.exit_code == 1 and "BROKEN at entry 3" in truncated.output


def test_anchor_needs_a_place(tmp_path: Path) -> None:
    filled(tmp_path / "audit.sqlite", 1)
    result = cli(tmp_path, "audit", "anchor")
    assert result.exit_code == 2 and "WEGWIJZER_AUDIT_ANCHOR_PATH" in result.output


def test_removing_the_oldest_entries_outside_retention_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    log = filled(path, 3)
    time.sleep(0.05)
    cutoff = time.time()
    filled(path, 3)
    assert log.prune(cutoff, Origin("cli:test", "test")) == 3
    assert log.verify().ok
    tamper(path, "DELETE FROM audit_log WHERE seq <= 5")  # beyond what retention removed
    with sqlite3.connect(path) as db:
        prev = db.execute("SELECT prev_hash FROM audit_log WHERE seq = 6").fetchone()[0]
        db.execute("UPDATE audit_chain SET start_seq = 6, start_prev_hash = ?", (prev,))
    report = log.verify()
    assert (report.ok, report.broken_seq) == (False, 6)
    assert "outside retention" in report.problem


def test_retention_keeps_a_keyed_chain_verifiable(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    key = new_key()
    log = filled(path, 3, key=key)
    time.sleep(0.05)
    cutoff = time.time()
    filled(path, 2, key=key)
    assert log.prune(cutoff, Origin("cli:test", "test")) == 3
    entries = list(log.entries())
    assert entries[-1].details["kept_from"] == 4 and entries[-1].key_id == key.id
    assert log.verify().ok


# A log written before this format: the old schema, and the old rule (SHA-256 over the
# previous hash and the content without created_at).
OLD_SCHEMA = f"""
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY, created_at REAL NOT NULL, timestamp TEXT NOT NULL,
    actor TEXT NOT NULL, origin TEXT NOT NULL, action TEXT NOT NULL, object TEXT NOT NULL,
    result TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit_log (created_at);
CREATE TABLE audit_chain (
    id INTEGER PRIMARY KEY CHECK (id = 1), start_seq INTEGER NOT NULL,
    start_prev_hash TEXT NOT NULL, head_seq INTEGER NOT NULL, head_hash TEXT NOT NULL
);
INSERT INTO audit_chain VALUES (1, 1, '{GENESIS}', 0, '{GENESIS}');
CREATE TABLE audit_pruning (active INTEGER NOT NULL);
CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_delete_by_retention_only BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_pruning)
BEGIN SELECT RAISE(ABORT, 'audit entries are removed only by retention'); END;
"""


def old_format_log(path: Path, count: int, pruned: int = 0) -> list[dict]:
    """``count`` entries the old way (the last one an old ``audit.prune`` if ``pruned``),
    the first ``pruned`` of them removed by retention; returns the kept rows."""
    rows, prev = [], GENESIS
    for seq in range(1, count + 1):
        action = "audit.prune" if pruned and seq == count else "chat.answer"
        content = {
            "seq": seq,
            "timestamp": f"2024-01-0{seq}T10:00:00.000+00:00",
            "actor": "key:abc",
            "origin": "api:127.0.0.1",
            "action": action,
            "object": f"message:m{seq}",
            "result": "answered",
            "details": {"question": f"Vraag {seq}?"},
        }
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(f"{prev}\n{canonical}".encode()).hexdigest()
        rows.append(
            {**content, "created_at": 1704103200.0 + seq, "prev_hash": prev, "hash": digest}
        )
        prev = digest
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        for row in rows[pruned:]:
            db.execute(
                "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row["seq"],
                    row["created_at"],
                    row["timestamp"],
                    row["actor"],
                    row["origin"],
                    row["action"],
                    row["object"],
                    row["result"],
                    json.dumps(row["details"]),
                    row["prev_hash"],
                    row["hash"],
                ),
            )
        start_prev = rows[pruned - 1]["hash"] if pruned else GENESIS
        db.execute(
            "UPDATE audit_chain SET start_seq = ?, start_prev_hash = ?, "
            "head_seq = ?, head_hash = ?",
            (pruned + 1, start_prev, count, prev),
        )
    return rows[pruned:]


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "unkeyed"])
@pytest.mark.parametrize("pruned", [0, 2], ids=["whole", "after-old-retention"])
def test_an_old_format_log_upgrades_in_place_and_still_verifies(
    tmp_path: Path, pruned: int, keyed: bool
) -> None:
    path = tmp_path / "audit.sqlite"
    old_rows = old_format_log(path, 5, pruned)
    key = new_key() if keyed else None
    log = AuditLog(path, key)
    entries = list(log.entries())
    assert [e.hash for e in entries[:-1]] == [row["hash"] for row in old_rows]  # kept as written
    assert {e.format for e in entries[:-1]} == {1}
    upgrade = entries[-1]
    assert (upgrade.seq, upgrade.action, upgrade.format, upgrade.key_id) == (
        6,
        "audit.upgrade",
        2,
        key.id if key else "",
    )
    assert upgrade.prev_hash == old_rows[-1]["hash"]  # seals the old chain
    report = log.verify()
    assert report.ok and report.entries == len(old_rows) + 1, report
    assert any("up to 5 were written before the upgrade" in note for note in report.notes)
    filled(path, 2, key=key)
    AuditLog(path, key)  # opening again upgrades nothing twice
    assert [e.action for e in log.entries()].count("audit.upgrade") == 1
    assert log.verify().ok

    if pruned:  # the upgrade recorded where the kept chain starts
        tamper(path, "DELETE FROM audit_log WHERE seq = 3")
        tamper(
            path, "UPDATE audit_chain SET start_seq = 4, start_prev_hash = ?", old_rows[0]["hash"]
        )
        moved = log.verify()
        assert (moved.broken_seq, "outside retention" in moved.problem) == (4, True)
    else:
        tamper(path, "UPDATE audit_log SET actor = 'iemand anders' WHERE seq = 4")
        assert log.verify().broken_seq == 4  # old entries are still checked by the old rule


def test_entries_after_the_upgrade_cannot_pass_as_old_format(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    old_format_log(path, 3)
    key = new_key()
    log = filled(path, 2, key=key)  # 4: audit.upgrade, 5 and 6: new
    entry = next(e for e in log.entries() if e.seq == 6)
    downgraded = replace(entry, format=1, key_id="")
    tamper(
        path,
        "UPDATE audit_log SET format = 1, key_id = '', hash = ? WHERE seq = 6",
        downgraded.computed_hash(),
    )
    set_head(path, 6)
    report = log.verify()
    assert (report.ok, report.broken_seq) == (False, 6)
    assert "old format" in report.problem


def test_old_and_new_exports_verify_with_the_key(tmp_path: Path) -> None:
    key_file = write_key_file(tmp_path)
    env = {"WEGWIJZER_AUDIT_HMAC_KEY_FILE": str(key_file)}
    old_rows = old_format_log(tmp_path / "audit.sqlite", 3)
    legacy = tmp_path / "legacy.jsonl"  # an export made before this format
    legacy.write_text(
        "".join(
            json.dumps({k: v for k, v in row.items() if k != "created_at"}) + "\n"
            for row in old_rows
        )
    )
    assert entry_from_dict(json.loads(legacy.read_text().splitlines()[0])).format == 1
    assert cli(tmp_path, "audit", "verify", "--file", str(legacy), env=env).exit_code == 0
    exported = tmp_path / "audit.jsonl"
    assert cli(tmp_path, "audit", "export", "--out", str(exported), env=env).exit_code == 0
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [line["format"] for line in lines] == [1, 1, 1, 2, 2]  # upgrade, export
    assert cli(tmp_path, "audit", "verify", "--file", str(exported), env=env).exit_code == 0
    without_key = cli(tmp_path, "audit", "verify", "--file", str(exported))
    assert without_key.exit_code == 1 and "sealed with audit key" in without_key.output
    lines[4]["created_at"] += 1
    exported.write_text("".join(json.dumps(line) + "\n" for line in lines))
    moved = cli(tmp_path, "audit", "verify", "--file", str(exported), env=env)
    assert moved.exit_code == 1 and "entry 5" in moved.output
