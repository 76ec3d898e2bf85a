"""The one way this project opens its own SQLite files (conversations, API keys)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


def create_database(path: Path, schema: str) -> None:
    """Create the file and its tables if needed, in WAL mode: a killed process loses no
    committed write, and readers do not block the writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(schema)


def connect(path: Path, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A connection that waits up to 10 s for a lock. NORMAL survives a killed process
    under WAL; FULL also survives a power cut, for writes that must never be lost."""
    db = sqlite3.connect(path, timeout=10)
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db
