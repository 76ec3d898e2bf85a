"""Backup and restore of everything an installation cannot rebuild from its corpus:
the index of every collection, conversations and feedback, API keys, the audit log.

A backup is one ``.tar.gz``:

- ``manifest.json``: format, time, settings the vectors depend on, a SHA-256 per member
- ``index/<collection>.jsonl``: the ingest manifest, then every record of the active
  generation (id, text, metadata, float32 vector in base64). It is read through the
  Chroma API, so it works for the embedded store and a Chroma server alike, and it can
  be restored into either.
- ``conversations.jsonl``: conversations, messages and feedback (SQLite or Redis)
- ``api_keys.sqlite``, ``audit.sqlite``: consistent copies (SQLite's online backup)

Restore checks every member's hash before it changes anything, refuses a target that
already holds data unless forced, keeps files it replaces beside them, and verifies
the audit log's hash chain afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from chromadb.api import ClientAPI

from assistant import __version__
from assistant.conversations import ConversationStore, open_conversation_store
from assistant.governance.audit_log import AuditLog, Origin
from assistant.settings import Settings
from ingest.store import ChunkStore, IndexState, create_client, list_collections

FORMAT = "wegwijzer-backup"
FORMAT_VERSION = 1
PAGE = 1000


class BackupError(RuntimeError):
    """The backup cannot be made or restored; the message says why."""


@dataclass
class BackupReport:
    path: Path
    collections: dict[str, int] = field(default_factory=dict)  # records per collection
    conversation_records: int = 0
    files: list[str] = field(default_factory=list)


# --- backup ------------------------------------------------------------------
def create_backup(settings: Settings, target: Path, who: Origin) -> BackupReport:
    """Write a backup to ``target``: a ``.tar.gz`` file, or else a directory (made if
    needed) that gets a dated file."""
    if target.is_dir() or not target.name.endswith((".tar.gz", ".tgz")):
        target.mkdir(parents=True, exist_ok=True)
        target = target / f"wegwijzer-backup-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    AuditLog(settings.audit_path).append(
        who, action="backup.create", object=f"file:{target.name}", result="started"
    )
    report = BackupReport(target)
    members: dict[str, bytes] = {}
    client = create_client(settings)
    for collection in list_collections(settings, client):
        store = ChunkStore(settings, client, collection=collection)
        state = store.active_state()
        if state is None:
            continue
        lines = [state.to_json()]
        lines.extend(json.dumps(r, ensure_ascii=False) for r in _records(store, state))
        members[f"index/{collection}.jsonl"] = "\n".join(lines).encode("utf-8") + b"\n"
        report.collections[collection] = len(lines) - 1
    records = list(open_conversation_store(settings).dump())
    report.conversation_records = len(records)
    members["conversations.jsonl"] = "".join(
        json.dumps(record, ensure_ascii=False) + "\n" for record in records
    ).encode("utf-8")
    for name, path in _database_files(settings).items():
        if path.exists():
            members[name] = _sqlite_copy(path)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "created_at": time.time(),
        "embedding": settings.embedding_id,
        "chunking": settings.chunking_id,
        "collections": report.collections,
        "members": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    partial = target.with_name(target.name + ".partial")
    with tarfile.open(partial, "w:gz") as archive:
        _add(archive, "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
        for name, data in members.items():
            _add(archive, name, data)
    partial.replace(target)  # a crash halfway leaves no file that looks complete
    report.files = sorted(members)
    AuditLog(settings.audit_path).append(
        who,
        action="backup.create",
        object=f"file:{target.name}",
        result="success",
        details={"collections": report.collections, "records": report.conversation_records},
    )
    return report


def _records(store: ChunkStore, state: IndexState) -> Iterator[dict]:
    collection = store.collection(state.collection)
    offset = 0
    while True:
        page = collection.get(
            include=["documents", "metadatas", "embeddings"], limit=PAGE, offset=offset
        )
        ids = page["ids"]
        if not ids:
            return
        for record_id, text, metadata, vector in zip(
            ids, page["documents"], page["metadatas"], page["embeddings"], strict=True
        ):
            packed = np.asarray(vector, dtype="<f4").tobytes()
            yield {
                "id": record_id,
                "text": text or "",
                "metadata": dict(metadata or {}),
                "vector": base64.b64encode(packed).decode("ascii"),
            }
        offset += len(ids)


def _database_files(settings: Settings) -> dict[str, Path]:
    return {"api_keys.sqlite": settings.api_keys_path, "audit.sqlite": settings.audit_path}


def _sqlite_copy(path: Path) -> bytes:
    """A consistent copy of a live SQLite file (other processes may be writing)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.sqlite"
        with (
            closing(sqlite3.connect(path, timeout=10)) as source,
            closing(sqlite3.connect(copy)) as destination,
        ):
            source.backup(destination)
        return copy.read_bytes()


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


# --- restore -----------------------------------------------------------------
@dataclass
class RestoreReport:
    collections: dict[str, int] = field(default_factory=dict)
    conversation_records: int = 0
    files: list[str] = field(default_factory=list)
    kept_aside: list[Path] = field(default_factory=list)
    audit_entries: int = 0


def read_backup(path: Path) -> tuple[dict, dict[str, bytes]]:
    """The manifest and members of a backup, every member's hash checked."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = {}
            for info in archive.getmembers():
                if not info.isfile():
                    continue
                handle = archive.extractfile(info)
                assert handle is not None
                members[info.name] = handle.read()
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise BackupError(f"{path} is not a readable backup: {exc}") from exc
    try:
        manifest = json.loads(members.pop("manifest.json"))
    except (KeyError, ValueError) as exc:
        raise BackupError(f"{path} has no valid manifest.json") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{path} is not a {FORMAT} version {FORMAT_VERSION} file")
    expected = manifest.get("members", {})
    if set(expected) != set(members):
        raise BackupError(f"{path}: members differ from the manifest (incomplete or altered)")
    for name, data in members.items():
        if hashlib.sha256(data).hexdigest() != expected[name]:
            raise BackupError(f"{path}: {name} does not match its hash (damaged or altered)")
    return manifest, members


def restore_backup(
    settings: Settings, path: Path, who: Origin, force: bool = False
) -> RestoreReport:
    """Restore a backup into the configured stores. Refuses a target that holds data
    unless ``force``; replaced database files are kept as ``*.before-restore-<time>``."""
    manifest, members = read_backup(path)
    if manifest["embedding"] != settings.embedding_id:
        raise BackupError(
            f"the backup's vectors were made with {manifest['embedding']}, this installation "
            f"uses {settings.embedding_id}: restore with the same embedding settings"
        )
    client = create_client(settings)
    conversations = open_conversation_store(settings)
    if not force:
        present = _data_present(settings, client, conversations)
        if present:
            raise BackupError(
                f"the target already holds data ({', '.join(present)}); "
                "use --force to restore over it"
            )
    report = RestoreReport()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name, target in _database_files(settings).items():
        if name not in members:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            aside = target.with_name(f"{target.name}.before-restore-{stamp}")
            target.replace(aside)
            for suffix in ("-wal", "-shm"):
                target.with_name(target.name + suffix).unlink(missing_ok=True)
            report.kept_aside.append(aside)
        target.write_bytes(members[name])
        report.files.append(name)
    for name, data in sorted(members.items()):
        if name.startswith("index/") and name.endswith(".jsonl"):
            collection = name.removeprefix("index/").removesuffix(".jsonl")
            report.collections[collection] = _restore_index(settings, client, collection, data)
    records = (json.loads(line) for line in members["conversations.jsonl"].splitlines() if line)
    report.conversation_records = conversations.load(records)
    audit = AuditLog(settings.audit_path)
    chain = audit.verify()
    if not chain.ok:
        raise BackupError(f"the restored audit log's hash chain is broken: {chain.problem}")
    audit.append(
        who,
        action="backup.restore",
        object=f"file:{path.name}",
        result="success",
        details={"collections": report.collections, "records": report.conversation_records},
    )
    report.audit_entries = chain.entries
    return report


def _data_present(
    settings: Settings, client: ClientAPI, conversations: ConversationStore
) -> list[str]:
    present = []
    for collection in list_collections(settings, client):
        if ChunkStore(settings, client, collection=collection).active_state() is not None:
            present.append(f"index {collection}")
    if next(iter(conversations.dump()), None) is not None:
        present.append("conversations")
    if settings.api_keys_path.exists():
        with closing(sqlite3.connect(settings.api_keys_path)) as db:
            if db.execute("SELECT COUNT(*) FROM api_keys").fetchone()[0]:
                present.append("API keys")
    if settings.audit_path.exists() and AuditLog(settings.audit_path).verify().entries:
        present.append("audit log")
    return present


def _restore_index(settings: Settings, client: ClientAPI, collection: str, data: bytes) -> int:
    """Load one collection's records into a new generation, then make it active."""
    lines = data.decode("utf-8").splitlines()
    state = IndexState.from_json(lines[0])
    store = ChunkStore(settings, client, collection=collection)
    generation = store.create_generation()
    count = 0
    try:
        for start in range(1, len(lines), PAGE):
            batch = [json.loads(line) for line in lines[start : start + PAGE] if line]
            generation.add(
                ids=[r["id"] for r in batch],
                documents=[r["text"] for r in batch],
                metadatas=[r["metadata"] for r in batch],
                embeddings=[
                    np.frombuffer(base64.b64decode(r["vector"]), dtype="<f4").tolist()
                    for r in batch
                ],
            )
            count += len(batch)
        state.collection = generation.name
        store.activate(state)
    except BaseException:
        store.drop(generation.name)
        raise
    store.remove_stale_generations(keep=generation.name)
    return count
