"""The audit log: an append-only, hash-chained record of what the assistant did.

Every entry carries the BIO logging fields (action, object, result, origin, actor,
timestamp) and a ``details`` object. Each entry's MAC covers every stored column (also
``created_at``, the previous entry's MAC, the format and the key id), as canonical JSON;
with a key (``audit_key``) it is HMAC-SHA256, so without the key nobody can recompute the
chain. Changing, removing or inserting an entry breaks the chain from there on;
``verify`` finds the first broken entry. Removing the newest entries (and the head with
them) is caught by the anchors ``wegwijzer audit anchor`` writes elsewhere. SQLite
triggers refuse updates, and deletes outside retention, to catch mistakes. Retention
removes the oldest entries in the same transaction as the ``audit.prune`` entry that
records where the kept chain starts, so the start cannot be moved unnoticed either.

Formats: 1 is the rule before every column was covered (created_at not hashed, no key);
an existing log is upgraded in place: its entries stay format 1, verified by that rule up
to ``legacy_until``, and an ``audit.upgrade`` entry seals them into the new chain. A log
written without a key is sealed the same way (``audit.seal``) when a key is first used;
from ``keyed_from`` on every entry must carry the configured key. Both markers only move
forward: an entry in the old format or without the key after them is reported.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from assistant.governance.audit_anchor import Anchor
from assistant.governance.audit_key import AuditKey, AuditKeyError, audit_key
from assistant.settings import Settings
from assistant.sqlite_file import connect, create_database

GENESIS = "0" * 64
FORMAT = 2  # what new entries are written as

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
    hash TEXT NOT NULL,
    format INTEGER NOT NULL DEFAULT 1,
    key_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_log (created_at);
CREATE TABLE IF NOT EXISTS audit_chain (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    start_seq INTEGER NOT NULL,
    start_prev_hash TEXT NOT NULL,
    head_seq INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    legacy_until INTEGER NOT NULL DEFAULT 0,
    keyed_from INTEGER,
    key_id TEXT NOT NULL DEFAULT ''
);
INSERT OR IGNORE INTO audit_chain (id, start_seq, start_prev_hash, head_seq, head_hash)
VALUES (1, 1, '{GENESIS}', 0, '{GENESIS}');
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
_COLUMNS = (
    "seq, created_at, timestamp, actor, origin, action, object, result, details, "
    "prev_hash, hash, format, key_id"
)
_STATE = "start_seq, start_prev_hash, head_seq, head_hash, legacy_until, keyed_from, key_id"


@dataclass(frozen=True)
class Origin:
    """Who did it (``actor``: key id, SSO user, local client or command-line user) and
    from where (``origin``: the client address or host)."""

    actor: str
    origin: str


SYSTEM = Origin("system:audit-log", socket.gethostname())


@dataclass(frozen=True)
class AuditEntry:
    """One logged event, with its place in the hash chain (every field is stored)."""

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
    created_at: float | None = None
    format: int = 1
    key_id: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def computed_hash(self, key: AuditKey | None = None) -> str:
        """The MAC this entry should carry: HMAC-SHA256 with ``key`` over the canonical
        JSON of every field but ``hash`` (SHA-256 when unkeyed; format 1: the old rule)."""
        if self.format == 1:
            return self._legacy_hash()
        fields = {name: value for name, value in self.to_dict().items() if name != "hash"}
        canonical = json.dumps(
            fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
        if not self.key_id:
            return hashlib.sha256(canonical).hexdigest()
        if key is None or key.id != self.key_id:
            raise AuditKeyError(f"entry {self.seq} is sealed with audit key {self.key_id}")
        return key.mac(canonical)

    def _legacy_hash(self) -> str:
        """Format 1: SHA-256 over the previous hash and the content without created_at."""
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
class ChainState:
    """What the log's own table says about the chain: where it starts after retention,
    its head, and up to where entries are old-format / from where they are keyed."""

    start_seq: int = 1
    start_prev_hash: str = GENESIS
    head_seq: int = 0
    head_hash: str = GENESIS
    legacy_until: int = 0
    keyed_from: int | None = None
    key_id: str = ""


@dataclass(frozen=True)
class ChainReport:
    """The outcome of checking the chain: ``broken_seq`` is the first entry that fails."""

    ok: bool
    entries: int
    first_seq: int | None
    last_seq: int | None
    broken_seq: int | None = None
    problem: str | None = None
    last_hash: str | None = None
    anchors_checked: int = 0
    notes: tuple[str, ...] = ()


class BrokenChain(RuntimeError):
    """The chain does not verify; retention would destroy the evidence."""


def check_chain(
    entries: Iterable[AuditEntry],
    start_seq: int = 1,
    start_prev_hash: str = GENESIS,
    head: tuple[int, str] | None = None,
    *,
    key: AuditKey | None = None,
    state: ChainState | None = None,
    anchors: Sequence[Anchor] = (),
) -> ChainReport:
    """Check entries in order: consecutive numbers, each linked to the one before, each
    MAC matching its content under ``key``, formats and keys only moving forward, (if
    given) the last one equal to ``head``, and every anchor still in the chain. ``state``
    (from the log's database) adds its markers and the retention start."""
    expected_seq, expected_prev = start_seq, start_prev_hash
    count, first = 0, None
    seen_new = seen_keyed = False
    last_start: AuditEntry | None = None  # the newest entry that says where the chain starts
    anchored: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        if anchor.seq >= start_seq:
            anchored.setdefault(anchor.seq, []).append(anchor)
    checked = 0

    def broken(seq: int, problem: str) -> ChainReport:
        last = expected_seq - 1 if count else None
        return ChainReport(False, count, first, last, seq, problem, anchors_checked=checked)

    for entry in entries:
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                return broken(expected_seq, f"entry {expected_seq} is missing")
            return broken(entry.seq, f"entry {entry.seq} appears out of order or twice")
        if entry.prev_hash != expected_prev:
            return broken(entry.seq, "it does not link to the entry before it")
        problem = _format_problem(entry, seen_new, seen_keyed, key, state)
        if problem:
            return broken(entry.seq, problem)
        if entry.computed_hash(key) != entry.hash:
            return broken(entry.seq, "its content was changed after it was written")
        for anchor in anchored.get(entry.seq, ()):
            if anchor.head != entry.hash:
                return broken(
                    entry.seq, f"it differs from its anchor of {anchor.at}: the chain was rebuilt"
                )
            checked += 1
        seen_new = seen_new or entry.format != 1
        seen_keyed = seen_keyed or bool(entry.key_id)
        if entry.action == "audit.prune" or (entry.action == "audit.upgrade" and entry.format != 1):
            last_start = entry
        first = entry.seq if first is None else first
        count += 1
        expected_seq, expected_prev = entry.seq + 1, entry.hash
    if head is not None and head != (expected_seq - 1, expected_prev):
        return broken(expected_seq, f"entries after {expected_seq - 1} are missing")
    beyond = [a for seq, group in anchored.items() if seq >= expected_seq for a in group]
    if beyond:
        latest = max(beyond, key=lambda a: a.seq)
        return broken(
            expected_seq,
            f"entries {expected_seq}–{latest.seq} are missing: entry {latest.seq} was "
            f"anchored at {latest.at} (the newest entries were removed)",
        )
    if state is not None and (start_seq, start_prev_hash) != (1, GENESIS):
        problem = _start_problem(start_seq, last_start)
        if problem:
            return broken(start_seq, problem)
    pruned_anchors = len(anchors) - sum(len(group) for group in anchored.values())
    notes = _notes(state, key, pruned_anchors)
    last = expected_seq - 1 if count else None
    return ChainReport(
        True, count, first, last, None, None, expected_prev if count else None, checked, notes
    )


def _format_problem(
    entry: AuditEntry,
    seen_new: bool,
    seen_keyed: bool,
    key: AuditKey | None,
    state: ChainState | None,
) -> str | None:
    """Why this entry's format or key does not fit its place in the chain, if it does not."""
    legacy_until = state.legacy_until if state else None
    keyed_from = state.keyed_from if state else None
    if entry.format == 1:
        if entry.key_id:
            return "an old-format entry cannot carry a key"
        if seen_new or (legacy_until is not None and entry.seq > legacy_until):
            return "it is in the old format, but the log was upgraded before it"
    elif entry.format == FORMAT:
        if legacy_until is not None and entry.seq <= legacy_until:
            return "it is in the new format, but predates the upgrade"
    else:
        return f"unknown format {entry.format}"
    if entry.key_id:
        if key is None:
            return (
                f"it is sealed with audit key {entry.key_id}: set audit_hmac_key_file "
                "(or WEGWIJZER_AUDIT_HMAC_KEY) to verify it"
            )
        if entry.key_id != key.id:
            return f"it is sealed with audit key {entry.key_id}, not the configured key {key.id}"
        if state is not None and (keyed_from is None or entry.seq < keyed_from):
            return "it carries a key, but the log was not keyed yet"
    elif seen_keyed or (keyed_from is not None and entry.seq >= keyed_from):
        return f"it carries no key, but the log is keyed from entry {keyed_from or '?'} on"
    return None


def _start_problem(start_seq: int, last_start: AuditEntry | None) -> str | None:
    """Entries before the start may only be gone by retention: the newest audit.prune
    (or the audit.upgrade after an old one) records where the kept chain starts."""
    if last_start is None:
        return f"entries before {start_seq} were removed, and no audit.prune entry says so"
    if last_start.format == 1:
        return None  # an old audit.prune, and no upgrade since: it did not record the start
    kept_from = last_start.details.get("kept_from")
    if kept_from != start_seq:
        return (
            f"entries before {start_seq} were removed outside retention ({last_start.action}, "
            f"entry {last_start.seq}, kept from {kept_from})"
        )
    return None


def _notes(state: ChainState | None, key: AuditKey | None, pruned_anchors: int) -> tuple[str, ...]:
    notes = []
    if state is not None and state.legacy_until >= state.start_seq:
        notes.append(
            f"entries up to {state.legacy_until} were written before the upgrade "
            "(their created_at is not covered)"
        )
    if key is None:
        notes.append(
            "the chain is not keyed: whoever can write the file can recompute it; set "
            "audit_hmac_key_file (or WEGWIJZER_AUDIT_HMAC_KEY) and anchor the head"
        )
    elif state is not None and state.keyed_from is None and state.head_seq:
        notes.append("no entry is sealed with the configured key yet: the next one will be")
    elif state is not None and state.keyed_from and state.keyed_from > state.start_seq:
        notes.append(f"entries before {state.keyed_from} were written without a key")
    if pruned_anchors:
        notes.append(f"{pruned_anchors} anchors are older than the kept chain (retention)")
    return tuple(notes)


def entry_from_dict(data: dict) -> AuditEntry:
    """An entry as exported to JSONL, read back for verification (older exports lack
    created_at, format and key_id: they are format 1)."""
    fields = AuditEntry.__dataclass_fields__
    return AuditEntry(**{name: data[name] for name in fields if name in data})


class AuditLog:
    """The audit log in one SQLite file (WAL, synchronous FULL: entries survive a power cut).

    ``key`` seals new entries with HMAC-SHA256 (see ``audit_key``); without it they are
    plain SHA-256, and a log already sealed with a key refuses them. Opening a log of
    the old format upgrades it in place (``audit.upgrade``)."""

    def __init__(self, path: Path, key: AuditKey | None = None) -> None:
        self._path = path
        self._key = key
        create_database(path, SCHEMA)
        self._upgrade()

    @property
    def key(self) -> AuditKey | None:
        """The key new entries are sealed with (None: unkeyed SHA-256)."""
        return self._key

    def _connect(self) -> sqlite3.Connection:
        return connect(self._path, synchronous="FULL")

    def _upgrade(self) -> None:
        """Add the format and key columns to a log made before them; seal its entries."""
        with closing(self._connect()) as db:
            if "legacy_until" in _columns(db, "audit_chain"):
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                if "legacy_until" not in _columns(db, "audit_chain"):  # another process?
                    if "format" not in _columns(db, "audit_log"):
                        db.execute(
                            "ALTER TABLE audit_log ADD COLUMN format INTEGER NOT NULL DEFAULT 1"
                        )
                        db.execute(
                            "ALTER TABLE audit_log ADD COLUMN key_id TEXT NOT NULL DEFAULT ''"
                        )
                    db.execute(
                        "ALTER TABLE audit_chain ADD COLUMN legacy_until INTEGER NOT NULL DEFAULT 0"
                    )
                    db.execute("ALTER TABLE audit_chain ADD COLUMN keyed_from INTEGER")
                    db.execute("ALTER TABLE audit_chain ADD COLUMN key_id TEXT NOT NULL DEFAULT ''")
                    db.execute("UPDATE audit_chain SET legacy_until = head_seq")
                    legacy, kept_from = _state(db).head_seq, _state(db).start_seq
                    if legacy and self._key is not None:  # sealed by the upgrade entry
                        db.execute(
                            "UPDATE audit_chain SET keyed_from = ?, key_id = ? WHERE id = 1",
                            (legacy + 1, self._key.id),
                        )
                    if legacy:
                        self._write(
                            db,
                            SYSTEM,
                            "audit.upgrade",
                            "audit_log",
                            "success",
                            {"legacy_until": legacy, "format": FORMAT, "kept_from": kept_from},
                        )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

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
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time extends the chain
            try:
                entry = self._write(db, who, action, object, result, details or {})
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return entry

    def _write(
        self,
        db: sqlite3.Connection,
        who: Origin,
        action: str,
        object: str,
        result: str,
        details: dict,
    ) -> AuditEntry:
        """Append within the caller's transaction; the first keyed write seals the chain."""
        state = _state(db)
        key_id = self._key.id if self._key else ""
        if state.keyed_from is not None and key_id != state.key_id:
            raise AuditKeyError(
                f"the audit log is sealed with audit key {state.key_id} from entry "
                f"{state.keyed_from} on; "
                + (f"the configured key is {key_id}" if key_id else "no key is configured")
                + " (audit_hmac_key_file or WEGWIJZER_AUDIT_HMAC_KEY)"
            )
        if self._key is not None and state.keyed_from is None:
            db.execute(
                "UPDATE audit_chain SET keyed_from = ?, key_id = ? WHERE id = 1",
                (state.head_seq + 1, key_id),
            )
            if state.head_seq:
                self._write(
                    db,
                    SYSTEM,
                    "audit.seal",
                    "audit_log",
                    "success",
                    {"key_id": key_id, "unkeyed_until": state.head_seq},
                )
                state = _state(db)
        now = time.time()
        entry = AuditEntry(
            seq=state.head_seq + 1,
            timestamp=datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
            actor=who.actor,
            origin=who.origin,
            action=action,
            object=object,
            result=result,
            details=json.loads(json.dumps(details, ensure_ascii=False)),
            prev_hash=state.head_hash,
            created_at=now,
            format=FORMAT,
            key_id=key_id,
        )
        entry = replace(entry, hash=entry.computed_hash(self._key))
        db.execute(
            f"INSERT INTO audit_log ({_COLUMNS}) VALUES ({', '.join('?' * 13)})", _row(entry)
        )
        db.execute(
            "UPDATE audit_chain SET head_seq = ?, head_hash = ? WHERE id = 1",
            (entry.seq, entry.hash),
        )
        return entry

    def entries(
        self, since: float | None = None, until: float | None = None
    ) -> Iterator[AuditEntry]:
        """Entries in chain order, optionally within [since, until) (Unix time)."""
        with closing(self._connect()) as db:
            yield from _entries(db, since, until)

    def verify(self, anchors: Sequence[Anchor] = ()) -> ChainReport:
        """Check the whole chain, from the start kept after retention to the head, and
        that every anchor (``wegwijzer audit anchor``) is still in it."""
        with closing(self._connect()) as db:
            db.execute("BEGIN")  # one snapshot: the head and the entries agree
            state = _state(db)
            return check_chain(
                _entries(db),
                state.start_seq,
                state.start_prev_hash,
                (state.head_seq, state.head_hash),
                key=self._key,
                state=state,
                anchors=anchors,
            )

    def prune(self, before: float, who: Origin) -> int:
        """Remove entries older than ``before`` (retention) and log that it happened, in
        one transaction. Refuses (``BrokenChain``) when the chain does not verify."""
        report = self.verify()
        if not report.ok:
            raise BrokenChain(f"entry {report.broken_seq}: {report.problem}")
        cutoff = datetime.fromtimestamp(before, UTC).isoformat(timespec="seconds")
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
                details = {
                    "removed": removed,
                    "older_than": cutoff,
                    "kept_from": _state(db).start_seq,
                }
                self._write(db, who, "audit.prune", "audit_log", "success", details)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return removed

    def state(self) -> ChainState:
        """The chain's start, head and format markers as the database records them."""
        with closing(self._connect()) as db:
            return _state(db)

    def chain_start(self) -> tuple[int, str]:
        """Where the kept chain starts: the first sequence number and the hash before it."""
        state = self.state()
        return state.start_seq, state.start_prev_hash


def open_audit_log(settings: Settings) -> AuditLog:
    """The configured audit log, with its key (``AuditKeyError`` if that is unusable)."""
    return AuditLog(settings.audit_path, audit_key(settings))


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def _state(db: sqlite3.Connection) -> ChainState:
    return ChainState(*db.execute(f"SELECT {_STATE} FROM audit_chain WHERE id = 1").fetchone())


def _entries(
    db: sqlite3.Connection, since: float | None = None, until: float | None = None
) -> Iterator[AuditEntry]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM audit_log WHERE created_at >= ? AND created_at < ? ORDER BY seq",
        (since if since is not None else float("-inf"), until or float("inf")),
    )
    for seq, created_at, *middle, details, prev_hash, hash_, format_, key_id in rows:
        yield AuditEntry(
            seq, *middle, json.loads(details), prev_hash, hash_, created_at, format_, key_id
        )


def _row(entry: AuditEntry) -> tuple:
    return (
        entry.seq,
        entry.created_at,
        entry.timestamp,
        entry.actor,
        entry.origin,
        entry.action,
        entry.object,
        entry.result,
        json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
        entry.prev_hash,
        entry.hash,
        entry.format,
        entry.key_id,
    )
