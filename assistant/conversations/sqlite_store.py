"""Conversations kept server-side in SQLite (WAL): a crash loses no finished message.

The default store, for one server; replicas share conversations through Redis.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path

from assistant.conversations.records import (
    Feedback,
    Pruned,
    Turn,
    UnknownConversation,
    UnknownFeedback,
    UnknownMessage,
)
from assistant.sqlite_file import connect, create_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    standalone_question TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, created_at);
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    rating TEXT CHECK (rating IN ('up', 'down')),
    comment TEXT,
    problem INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    handled_at REAL,
    handled_by TEXT,
    handling_note TEXT
);
CREATE INDEX IF NOT EXISTS feedback_by_time ON feedback (created_at);
CREATE TABLE IF NOT EXISTS answer_cache (
    key TEXT PRIMARY KEY,
    response TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


# columns added after the first release, for files made by an older version
_ADDED_COLUMNS = {
    "feedback": ("handled_at REAL", "handled_by TEXT", "handling_note TEXT"),
    # who may continue the conversation; a conversation from before has none: nobody may
    "conversations": ("owner TEXT", "collections TEXT"),
}


class SqliteConversationStore:
    """Conversations, messages and the answer cache in one SQLite file."""

    def __init__(self, path: Path, cache_ttl_s: int | None = None) -> None:
        self._path = path
        self._cache_ttl_s = cache_ttl_s
        create_database(path, SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        with closing(self._connect()) as db, db:
            for table, columns in _ADDED_COLUMNS.items():
                present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                for column in columns:
                    if column.split()[0] not in present:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")

    def _connect(self) -> sqlite3.Connection:
        return connect(self._path)

    def create(self, owner: str = "", collections: Iterable[str] = ()) -> str:
        conversation_id = uuid.uuid4().hex
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO conversations (id, created_at, owner, collections) "
                "VALUES (?, ?, ?, ?)",
                (conversation_id, time.time(), owner, json.dumps(list(collections))),
            )
        return conversation_id

    def owner_of(self, conversation_id: str) -> str:
        """Who started the conversation ("" for one from before owners were kept)."""
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT owner FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        if row is None:
            raise UnknownConversation(conversation_id)
        return row[0] or ""

    def collections_of(self, conversation_id: str) -> list[str]:
        """The collections the conversation reads ([] if unknown or from before)."""
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT collections FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        return json.loads(row[0]) if row and row[0] else []

    def message_owner(self, message_id: str) -> str:
        """Who started the conversation an answer belongs to; ``UnknownMessage`` if none."""
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT c.owner FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                "WHERE m.id = ? AND m.role = 'assistant'",
                (message_id,),
            ).fetchone()
        if row is None:
            raise UnknownMessage(message_id)
        return row[0] or ""

    def exists(self, conversation_id: str) -> bool:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        return row is not None

    def history(self, conversation_id: str, turns: int) -> list[Turn]:
        """The last ``turns`` question/answer pairs, oldest first."""
        if not self.exists(conversation_id):
            raise UnknownConversation(conversation_id)
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT role, content FROM messages WHERE conversation_id = ? "
                "ORDER BY created_at DESC LIMIT ?",
                (conversation_id, turns * 2),
            ).fetchall()
        rows.reverse()
        pairs: list[Turn] = []
        question: str | None = None
        for role, content in rows:
            if role == "user":
                question = content
            elif question is not None:
                pairs.append(Turn(question, content))
                question = None
        return pairs

    def add_exchange(
        self,
        conversation_id: str,
        question: str,
        standalone_question: str,
        answer: str,
        metadata: dict,
    ) -> str:
        """Store a question and its answer; returns the answer's message id."""
        message_id = uuid.uuid4().hex
        now = time.time()
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO messages VALUES (?, ?, 'user', ?, ?, '{}', ?)",
                (uuid.uuid4().hex, conversation_id, question, standalone_question, now),
            )
            db.execute(
                "INSERT INTO messages VALUES (?, ?, 'assistant', ?, NULL, ?, ?)",
                (message_id, conversation_id, answer, json.dumps(metadata), now + 1e-6),
            )
        return message_id

    # --- feedback ------------------------------------------------------------
    def add_feedback(
        self, message_id: str, rating: str | None, comment: str | None, problem: bool
    ) -> Feedback:
        """Store feedback on an answer; ``UnknownMessage`` when there is no such answer."""
        with closing(self._connect()) as db, db:
            row = db.execute(
                "SELECT conversation_id FROM messages WHERE id = ? AND role = 'assistant'",
                (message_id,),
            ).fetchone()
            if row is None:
                raise UnknownMessage(message_id)
            feedback = Feedback(
                uuid.uuid4().hex, message_id, row[0], rating, comment, problem, time.time()
            )
            db.execute(
                "INSERT INTO feedback (id, message_id, conversation_id, rating, comment, problem, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    feedback.id,
                    message_id,
                    row[0],
                    rating,
                    comment,
                    int(problem),
                    feedback.created_at,
                ),
            )
        return feedback

    def feedback(
        self,
        limit: int = 100,
        *,
        status: str = "all",
        negative_only: bool = False,
        since: float | None = None,
    ) -> list[Feedback]:
        """The latest feedback, newest first, with the question and answer it is about.
        ``status``: all, open or handled; ``negative_only``: thumbs down or a problem."""
        where = ["f.created_at >= ?"]
        if status == "open":
            where.append("f.handled_at IS NULL")
        elif status == "handled":
            where.append("f.handled_at IS NOT NULL")
        if negative_only:
            where.append("(f.rating = 'down' OR f.problem = 1)")
        with closing(self._connect()) as db:
            rows = db.execute(
                f"{_FEEDBACK_QUERY} WHERE {' AND '.join(where)} ORDER BY f.created_at DESC LIMIT ?",
                (since if since is not None else float("-inf"), limit),
            ).fetchall()
        return [_feedback(row) for row in rows]

    def iter_feedback(self, *, status: str = "all", page: int = 500) -> Iterator[Feedback]:
        """All feedback, newest first, a page at a time: each page has its own connection,
        so an export streamed to a slow client holds no read open (and any thread may
        continue it)."""
        handled = {"open": " AND f.handled_at IS NULL", "handled": " AND f.handled_at IS NOT NULL"}
        after: tuple[float, str] = (float("inf"), "")
        while True:
            with closing(self._connect()) as db:
                rows = db.execute(
                    f"{_FEEDBACK_QUERY} WHERE (f.created_at < ? OR (f.created_at = ? "
                    f"AND f.id < ?)){handled.get(status, '')} "
                    "ORDER BY f.created_at DESC, f.id DESC LIMIT ?",
                    (after[0], after[0], after[1], page),
                ).fetchall()
            if not rows:
                return
            items = [_feedback(row) for row in rows]
            yield from items
            after = (items[-1].created_at, items[-1].id)

    def handle_feedback(self, feedback_id: str, note: str, handled_by: str) -> Feedback:
        """Mark feedback as handled with a note; ``UnknownFeedback`` if there is none."""
        with closing(self._connect()) as db, db:
            changed = db.execute(
                "UPDATE feedback SET handled_at = ?, handled_by = ?, handling_note = ? "
                "WHERE id = ?",
                (time.time(), handled_by, note, feedback_id),
            ).rowcount
            if not changed:
                raise UnknownFeedback(feedback_id)
            row = db.execute(f"{_FEEDBACK_QUERY} WHERE f.id = ?", (feedback_id,)).fetchone()
        return _feedback(row)

    # --- answer cache ------------------------------------------------------
    def cached(self, key: str) -> dict | None:
        """The cached answer, unless it is older than the cache's time to live."""
        oldest = time.time() - self._cache_ttl_s if self._cache_ttl_s else float("-inf")
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT response FROM answer_cache WHERE key = ? AND created_at >= ?",
                (key, oldest),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def cache(self, key: str, response: dict) -> None:
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO answer_cache VALUES (?, ?, ?)",
                (key, json.dumps(response, ensure_ascii=False), time.time()),
            )

    # --- retention ---------------------------------------------------------
    def prune(self, older_than: float) -> Pruned:
        """Remove what was made before ``older_than``: feedback, messages (except the
        question and answer that newer feedback is about), conversations left without
        messages, and cached answers. Removed rows are overwritten on disk."""
        with closing(self._connect()) as db:
            db.execute("PRAGMA secure_delete = ON")
            with db:
                feedback = db.execute(
                    "DELETE FROM feedback WHERE created_at < ?", (older_than,)
                ).rowcount
                messages = db.execute(_PRUNE_MESSAGES, (older_than,)).rowcount
                conversations = db.execute(
                    "DELETE FROM conversations WHERE created_at < ? "
                    "AND id NOT IN (SELECT conversation_id FROM messages)",
                    (older_than,),
                ).rowcount
                cached = db.execute(
                    "DELETE FROM answer_cache WHERE created_at < ?", (older_than,)
                ).rowcount
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # old pages out of the WAL too
        return Pruned(conversations, messages, feedback, cached)

    # --- backup ------------------------------------------------------------
    def dump(self) -> Iterator[dict]:
        """Conversations, messages and feedback as records, in an order ``load`` accepts."""
        with closing(self._connect()) as db:
            for row in db.execute(
                "SELECT id, created_at, owner, collections FROM conversations ORDER BY created_at"
            ):
                yield {
                    "kind": "conversation",
                    "id": row[0],
                    "created_at": row[1],
                    "owner": row[2] or "",
                    "collections": json.loads(row[3] or "[]"),
                }
            for row in db.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages ORDER BY created_at"):
                record = dict(zip(_MESSAGE_COLUMNS.split(", "), row, strict=True))
                record["metadata"] = json.loads(record["metadata"])
                yield {"kind": "message", **record}
            for row in db.execute(f"SELECT {_FEEDBACK_COLUMNS} FROM feedback ORDER BY created_at"):
                record = dict(zip(_FEEDBACK_COLUMNS.split(", "), row, strict=True))
                record["problem"] = bool(record["problem"])
                yield {"kind": "feedback", **record}

    def load(self, records: Iterable[dict]) -> int:
        """Add dumped records (existing ids are replaced); returns how many were loaded."""
        count = 0
        with closing(self._connect()) as db, db:
            for record in records:
                kind = record["kind"]
                if kind == "conversation":
                    db.execute(
                        "INSERT OR REPLACE INTO conversations (id, created_at, owner, "
                        "collections) VALUES (?, ?, ?, ?)",
                        (
                            record["id"],
                            record["created_at"],
                            record.get("owner", ""),
                            json.dumps(record.get("collections", [])),
                        ),
                    )
                elif kind == "message":
                    values = {**record, "metadata": json.dumps(record["metadata"])}
                    db.execute(
                        f"INSERT OR REPLACE INTO messages ({_MESSAGE_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [values[c] for c in _MESSAGE_COLUMNS.split(", ")],
                    )
                elif kind == "feedback":
                    values = {**record, "problem": int(record["problem"])}
                    db.execute(
                        f"INSERT OR REPLACE INTO feedback ({_FEEDBACK_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [values[c] for c in _FEEDBACK_COLUMNS.split(", ")],
                    )
                else:
                    raise ValueError(f"unknown record kind: {kind!r}")
                count += 1
        return count


_MESSAGE_COLUMNS = "id, conversation_id, role, content, standalone_question, metadata, created_at"
_FEEDBACK_COLUMNS = (
    "id, message_id, conversation_id, rating, comment, problem, created_at, "
    "handled_at, handled_by, handling_note"
)


_FEEDBACK_QUERY = """
SELECT f.id, f.message_id, f.conversation_id, f.rating, f.comment, f.problem, f.created_at,
       f.handled_at, f.handled_by, f.handling_note,
       (SELECT q.content FROM messages q
        WHERE q.conversation_id = a.conversation_id AND q.role = 'user'
          AND q.created_at < a.created_at
        ORDER BY q.created_at DESC LIMIT 1),
       a.content
FROM feedback f JOIN messages a ON a.id = f.message_id
"""


# old messages go, except an answer with feedback and the question before it
_PRUNE_MESSAGES = """
DELETE FROM messages WHERE created_at < ?
  AND id NOT IN (SELECT message_id FROM feedback)
  AND id NOT IN (
    SELECT question_id FROM (
      SELECT (SELECT q.id FROM messages q
              WHERE q.conversation_id = a.conversation_id AND q.role = 'user'
                AND q.created_at < a.created_at
              ORDER BY q.created_at DESC LIMIT 1) AS question_id
      FROM feedback f JOIN messages a ON a.id = f.message_id)
    WHERE question_id IS NOT NULL)
"""


def _feedback(row: tuple) -> Feedback:
    return Feedback(*row[:5], bool(row[5]), *row[6:])
