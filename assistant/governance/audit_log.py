"""The audit log: an append-only, hash-chained record of what the assistant did.

Every entry carries the BIO logging fields (action, object, result, origin, actor,
timestamp) and a ``details`` object. Each entry's hash covers its content and the
hash of the entry before it, so changing, removing or inserting an entry breaks
the chain from there on; ``verify`` finds the first broken entry. SQLite triggers
refuse updates, and deletes outside retention, to catch mistakes; the chain catches
deliberate edits. Retention removes the oldest entries and keeps the hash of the
last removed one as the new start of the chain.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assistant.sqlite_file import connect, create_database

GENESIS = "0" * 64

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,
    timestamp TEXT NOT NULL,
    actor TEXT NOT NULL,
    origin TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    result TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_log (created_at);
CREATE TABLE IF NOT EXISTS audit_chain (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    start_seq INTEGER NOT NULL,
    start_prev_hash TEXT NOT NULL,
    head_seq INTEGER NOT NULL,
    head_hash TEXT NOT NULL
);
INSERT OR IGNORE INTO audit_chain VALUES (1, 1, '{GENESIS}', 0, '{GENESIS}');
CREATE TABLE IF NOT EXISTS audit_pruning (active INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER IF NOT EXISTS audit_delete_by_retention_only BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_pruning)
BEGIN
    SELECT RAISE(ABORT, 'audit entries are removed only by retention (wegwijzer audit prune)');
END;
"""
_COLUMNS = "seq, timestamp, actor, origin, action, object, result, details, prev_hash, hash"


@dataclass(frozen=True)
class Origin:
    """Who did it (``actor``: key id, SSO user, local client or command-line user) and
    from where (``origin``: the client address or host)."""

    actor: str
    origin: str


@dataclass(frozen=True)
class AuditEntry:
    """One logged event, with its place in the hash chain."""

    seq: int
    timestamp: str
    actor: str
    origin: str
    action: str
    object: str
    result: str
    details: dict = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def computed_hash(self) -> str:
        """SHA-256 over the previous hash and this entry's canonical content."""
        content = {
            "seq": self.seq,
            "timestamp": self.timestamp,
            "actor": self.actor,
            "origin": self.origin,
            "action": self.action,
            "object": self.object,
            "result": self.result,
            "details": self.details,
        }
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(f"{self.prev_hash}\n{canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The outcome of checking the chain: ``broken_seq`` is the first entry that fails."""

    ok: bool
    entries: int
    first_seq: int | None
    last_seq: int | None
    broken_seq: int | None = None
    problem: str | None = None


class BrokenChain(RuntimeError):
    """The chain does not verify; retention would destroy the evidence."""


def check_chain(
    entries: Iterable[AuditEntry],
    start_seq: int = 1,
    start_prev_hash: str = GENESIS,
    head: tuple[int, str] | None = None,
) -> ChainReport:
    """Check entries in order: consecutive numbers, each linked to the one before,
    each hash matching its content, and (if given) the last one equal to ``head``."""
    expected_seq, expected_prev = start_seq, start_prev_hash
    count, first = 0, None

    def broken(seq: int, problem: str) -> ChainReport:
        last = expected_seq - 1 if count else None
        return ChainReport(False, count, first, last, seq, problem)

    for entry in entries:
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                return broken(expected_seq, f"entry {expected_seq} is missing")
            return broken(entry.seq, f"entry {entry.seq} appears out of order or twice")
        if entry.prev_hash != expected_prev:
            return broken(entry.seq, "it does not link to the entry before it")
        if entry.computed_hash() != entry.hash:
            return broken(entry.seq, "its content was changed after it was written")
        first = entry.seq if first is None else first
        count += 1
        expected_seq, expected_prev = entry.seq + 1, entry.hash
    if head is not None and head != (expected_seq - 1, expected_prev):
        return broken(expected_seq, f"entries after {expected_seq - 1} are missing")
    return ChainReport(True, count, first, expected_seq - 1 if count else None)


def entry_from_dict(data: dict) -> AuditEntry:
    """An entry as exported to JSONL, read back for verification."""
    return AuditEntry(**{name: data[name] for name in AuditEntry.__dataclass_fields__})


class AuditLog:
    """The audit log in one SQLite file (WAL, synchronous FULL: entries survive a power cut)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        create_database(path, SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return connect(self._path, synchronous="FULL")

    def append(
        self,
        who: Origin,
        *,
        action: str,
        object: str,
        result: str,
        details: dict | None = None,
    ) -> AuditEntry:
        """Write one entry at the head of the chain (safe across processes)."""
        now = time.time()
        timestamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time extends the chain
            try:
                head_seq, head_hash = db.execute(
                    "SELECT head_seq, head_hash FROM audit_chain WHERE id = 1"
                ).fetchone()
                entry = AuditEntry(
                    head_seq + 1,
                    timestamp,
                    who.actor,
                    who.origin,
                    action,
                    object,
                    result,
                    json.loads(json.dumps(details or {}, ensure_ascii=False)),
                    head_hash,
                )
                entry = AuditEntry(**{**asdict(entry), "hash": entry.computed_hash()})
                db.execute(
                    f"INSERT INTO audit_log (created_at, {_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (now, *_row(entry)),
                )
                db.execute(
                    "UPDATE audit_chain SET head_seq = ?, head_hash = ? WHERE id = 1",
                    (entry.seq, entry.hash),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return entry

    def entries(
        self, since: float | None = None, until: float | None = None
    ) -> Iterator[AuditEntry]:
        """Entries in chain order, optionally within [since, until) (Unix time)."""
        query = f"SELECT {_COLUMNS} FROM audit_log WHERE created_at >= ? AND created_at < ? "
        with closing(self._connect()) as db:
            rows = db.execute(
                query + "ORDER BY seq",
                (since if since is not None else float("-inf"), until or float("inf")),
            )
            for row in rows:
                yield AuditEntry(*row[:7], json.loads(row[7]), *row[8:])

    def verify(self) -> ChainReport:
        """Check the whole chain, from the start kept after retention to the head."""
        start_seq, start_prev, head_seq, head_hash = self._chain_state()
        return check_chain(self.entries(), start_seq, start_prev, (head_seq, head_hash))

    def prune(self, before: float, who: Origin) -> int:
        """Remove entries older than ``before`` (retention) and log that it happened.
        Refuses (``BrokenChain``) when the chain does not verify."""
        report = self.verify()
        if not report.ok:
            raise BrokenChain(f"entry {report.broken_seq}: {report.problem}")
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                last = db.execute(
                    "SELECT seq, hash FROM audit_log WHERE seq = "
                    "(SELECT MAX(seq) FROM audit_log WHERE created_at < ?)",
                    (before,),
                ).fetchone()
                removed = 0
                if last is not None:
                    db.execute("INSERT INTO audit_pruning VALUES (1)")
                    removed = db.execute(
                        "DELETE FROM audit_log WHERE seq <= ?", (last[0],)
                    ).rowcount
                    db.execute("DELETE FROM audit_pruning")
                    db.execute(
                        "UPDATE audit_chain SET start_seq = ?, start_prev_hash = ? WHERE id = 1",
                        (last[0] + 1, last[1]),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        cutoff = datetime.fromtimestamp(before, UTC).isoformat(timespec="seconds")
        self.append(
            who,
            action="audit.prune",
            object="audit_log",
            result="success",
            details={"removed": removed, "older_than": cutoff},
        )
        return removed

    def _chain_state(self) -> tuple[int, str, int, str]:
        with closing(self._connect()) as db:
            return db.execute(
                "SELECT start_seq, start_prev_hash, head_seq, head_hash FROM audit_chain"
            ).fetchone()

    def chain_start(self) -> tuple[int, str]:
        """Where the kept chain starts: the first sequence number and the hash before it."""
        start_seq, start_prev, _, _ = self._chain_state()
        return start_seq, start_prev


def _row(entry: AuditEntry) -> tuple:
    return (
        entry.seq,
        entry.timestamp,
        entry.actor,
        entry.origin,
        entry.action,
        entry.object,
        entry.result,
        json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
        entry.prev_hash,
        entry.hash,
    )
