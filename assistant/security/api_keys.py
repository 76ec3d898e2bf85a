"""API keys, stored hashed: the plain key is shown once, when it is created.

A key looks like ``wgw_<id>_<secret>``. The id finds the row; the secret (32 random
bytes) is stored as its SHA-256 and compared in constant time. A slow password hash
adds nothing for a secret with 256 bits of entropy, and would cost every request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.settings import checked_collection_name
from assistant.sqlite_file import connect, create_database

# metrics: reads /metrics and nothing else (for Prometheus)
Role = Literal["user", "admin", "metrics"]
ROLES: tuple[Role, ...] = ("user", "admin", "metrics")
_KEY = re.compile(r"^wgw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'admin', 'metrics')),
    secret_sha256 TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL,
    collections TEXT
);
"""
# NULL: every collection; else a JSON list of the collections the key may read
_ADDED_COLUMNS = ("collections TEXT",)
_COLUMNS = "id, name, role, created_at, revoked_at, collections"
_STORED = "id, name, role, secret_sha256, created_at, revoked_at, collections"


@dataclass(frozen=True)
class ApiKey:
    """A key as listed: never the secret."""

    id: str
    name: str
    role: Role
    created_at: float
    revoked_at: float | None
    collections: tuple[str, ...] | None = None  # None: every collection

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def from_row(cls, row: tuple) -> ApiKey:
        collections = tuple(json.loads(row[5])) if row[5] else None
        return cls(row[0], row[1], row[2], row[3], row[4], collections)


class UnknownKey(LookupError):
    """No key with that id."""


class KeyStore:
    """Create, list, revoke and check API keys in one SQLite file (WAL)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        create_database(path, SCHEMA)
        with closing(self._connect()) as db, db:  # files made before collections existed
            present = {row[1] for row in db.execute("PRAGMA table_info(api_keys)")}
            for column in _ADDED_COLUMNS:
                if column.split()[0] not in present:
                    db.execute(f"ALTER TABLE api_keys ADD COLUMN {column}")
        with closing(self._connect()) as db:
            _allow_every_role(db)

    def _connect(self) -> sqlite3.Connection:
        return connect(self._path, synchronous="FULL")  # a revocation must survive a power cut

    def create(
        self, name: str, role: Role = "user", collections: list[str] | None = None
    ) -> tuple[ApiKey, str]:
        """A new key, bound to ``collections`` (None: all); returns it and the plain key,
        which is not stored anywhere."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not name.strip():
            raise ValueError("a key needs a name (who or what uses it)")
        if role == "metrics" and collections:
            raise ValueError("a metrics key reads no collection: leave out --collection")
        bound = tuple(dict.fromkeys(collections)) if collections else None
        for collection in bound or ():
            checked_collection_name(collection)
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        created = time.time()
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO api_keys (id, name, role, secret_sha256, created_at, revoked_at, "
                "collections) VALUES (?, ?, ?, ?, ?, NULL, ?)",
                (
                    key_id,
                    name.strip(),
                    role,
                    _sha256(secret),
                    created,
                    json.dumps(list(bound)) if bound else None,
                ),
            )
        key = ApiKey(key_id, name.strip(), role, created, None, bound)
        return key, f"wgw_{key_id}_{secret}"

    def list(self) -> list[ApiKey]:
        with closing(self._connect()) as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at").fetchall()
        return [ApiKey.from_row(row) for row in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (revoking it again is harmless); raises ``UnknownKey``."""
        with closing(self._connect()) as db, db:
            db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (time.time(), key_id),
            )
        for key in self.list():
            if key.id == key_id:
                return key
        raise UnknownKey(key_id)

    def active_count(self) -> int:
        with closing(self._connect()) as db:
            return db.execute("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL").fetchone()[
                0
            ]

    def check(self, presented: str) -> ApiKey | None:
        """The active key ``presented`` belongs to, or None."""
        match = _KEY.match(presented.strip())
        if not match:
            return None
        key_id, secret = match.groups()
        with closing(self._connect()) as db:
            row = db.execute(
                f"SELECT {_COLUMNS}, secret_sha256 FROM api_keys WHERE id = ?", (key_id,)
            ).fetchone()
        if row is None or row[4] is not None:
            return None
        if not hmac.compare_digest(row[6], _sha256(secret)):
            return None
        return ApiKey.from_row(row)


def _allow_every_role(db: sqlite3.Connection) -> None:
    """Files made before the metrics role allow only user and admin in their CHECK.
    SQLite cannot change a CHECK, so such a table is copied into one made by SCHEMA."""

    def outdated() -> bool:
        (sql,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'api_keys'"
        ).fetchone()
        return not all(f"'{role}'" in sql for role in ROLES)

    if not outdated():
        return
    db.execute("BEGIN IMMEDIATE")  # one migration at a time; none half done
    try:
        if outdated():  # another process may have migrated it meanwhile
            db.execute("ALTER TABLE api_keys RENAME TO api_keys_before_roles")
            db.execute(SCHEMA)
            db.execute(
                f"INSERT INTO api_keys ({_STORED}) SELECT {_STORED} FROM api_keys_before_roles"
            )
            db.execute("DROP TABLE api_keys_before_roles")
        db.commit()
    except BaseException:
        db.rollback()
        raise


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()
