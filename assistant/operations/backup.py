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

Both directions stream: members are spooled to files and copied in chunks, never held
in memory. Restore unpacks into a temporary folder first, bounded by size
(``restore_max_bytes``) and compression ratio (``restore_max_ratio``), accepting only
regular files with the names above; it checks every member's hash and the contents
before it changes anything, refuses a target that already holds data unless forced,
keeps files it replaces beside them, and verifies the audit log's hash chain.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import io
import itertools
import json
import re
import shutil
import sqlite3
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np
from chromadb.api import ClientAPI

from assistant import __version__
from assistant.conversations import ConversationStore, open_conversation_store
from assistant.governance.audit_key import audit_key
from assistant.governance.audit_log import AuditLog, Origin, open_audit_log
from assistant.settings import Settings
from ingest.store import ChunkStore, IndexState, create_client, list_collections

FORMAT = "wegwijzer-backup"
FORMAT_VERSION = 1
PAGE = 1000
CHUNK = 1 << 16  # bytes copied at a time
RATIO_FLOOR = 1 << 20  # the compression ratio is judged once this much is unpacked
MANIFEST_MAX_BYTES = 1 << 20
MEMBER_NAME = re.compile(
    r"^(manifest\.json|conversations\.jsonl|api_keys\.sqlite|audit\.sqlite"
    r"|index/[a-z0-9][a-z0-9_]{0,39}\.jsonl)$"
)
RECORD_KINDS = {"conversation", "message", "feedback"}


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
    open_audit_log(settings).append(
        who, action="backup.create", object=f"file:{target.name}", result="started"
    )
    report = BackupReport(target)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".wegwijzer-backup-") as tmp:
        members = _spool_members(settings, Path(tmp), report)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "app_version": __version__,
            "created_at": time.time(),
            "embedding": settings.embedding_id,
            "chunking": settings.chunking_id,
            "collections": report.collections,
            "members": {name: _file_sha256(path) for name, path in members.items()},
        }
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            data = json.dumps(manifest, indent=2).encode("utf-8")
            archive.addfile(_tar_info("manifest.json", len(data)), io.BytesIO(data))
            for name, path in members.items():
                with path.open("rb") as handle:
                    archive.addfile(_tar_info(name, path.stat().st_size), handle)
        partial.replace(target)  # a crash halfway leaves no file that looks complete
    report.files = sorted(members)
    open_audit_log(settings).append(
        who,
        action="backup.create",
        object=f"file:{target.name}",
        result="success",
        details={"collections": report.collections, "records": report.conversation_records},
    )
    return report


def _spool_members(settings: Settings, spool: Path, report: BackupReport) -> dict[str, Path]:
    """Write every member to a file in ``spool``; returns member name -> file."""
    members: dict[str, Path] = {}
    client = create_client(settings)
    for collection in list_collections(settings, client):
        store = ChunkStore(settings, client, collection=collection)
        state = store.active_state()
        if state is None:
            continue
        path = members[f"index/{collection}.jsonl"] = spool / f"index-{collection}.jsonl"
        records = (json.dumps(r, ensure_ascii=False) for r in _records(store, state))
        report.collections[collection] = _write_lines(path, [state.to_json()], records) - 1
    path = members["conversations.jsonl"] = spool / "conversations.jsonl"
    records = (json.dumps(r, ensure_ascii=False) for r in open_conversation_store(settings).dump())
    report.conversation_records = _write_lines(path, records)
    for name, source in _database_files(settings).items():
        if source.exists():
            _sqlite_copy(source, spool / name)
            members[name] = spool / name
    return members


def _write_lines(path: Path, *parts: Iterable[str]) -> int:
    """Write each string as one line; returns how many lines were written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for line in itertools.chain(*parts):
            out.write(line + "\n")
            count += 1
    return count


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


def _sqlite_copy(source: Path, destination: Path) -> None:
    """A consistent copy of a live SQLite file (other processes may be writing)."""
    with (
        closing(sqlite3.connect(source, timeout=10)) as db,
        closing(sqlite3.connect(destination)) as copy,
    ):
        db.backup(copy)


def _file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _tar_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(time.time())
    info.mode = 0o600
    return info


# --- restore -----------------------------------------------------------------
@dataclass
class RestoreReport:
    collections: dict[str, int] = field(default_factory=dict)
    conversation_records: int = 0
    files: list[str] = field(default_factory=list)
    kept_aside: list[Path] = field(default_factory=list)
    audit_entries: int = 0


@dataclass(frozen=True)
class UnpackedBackup:
    """A backup unpacked into a temporary folder, every member's hash checked."""

    manifest: dict
    files: dict[str, Path]  # member name -> its unpacked file (manifest excluded)


class _CountingReader:
    """A binary file that counts the bytes read from it."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data


class _BoundedGzip:
    """The decompressed stream of a ``.tar.gz``, refused once it exceeds ``max_bytes``
    or unpacks to more than ``max_ratio`` times the compressed bytes read so far."""

    def __init__(self, raw: BinaryIO, path: Path, max_bytes: int, max_ratio: float) -> None:
        self._compressed = _CountingReader(raw)
        self._gzip = gzip.GzipFile(fileobj=self._compressed, mode="rb")
        self._path, self._max_bytes, self._max_ratio = path, max_bytes, max_ratio
        self.unpacked = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        data = self._gzip.read(size)
        self.unpacked += len(data)
        megabytes = f"{self.unpacked / 1e6:.0f} MB"
        if self.unpacked > self._max_bytes:
            raise BackupError(
                f"{self._path} unpacks to more than {self._max_bytes} bytes "
                f"(restore_max_bytes); stopped after {megabytes}, nothing was changed"
            )
        ratio = self.unpacked / max(self._compressed.count, 1)
        if self.unpacked > RATIO_FLOOR and ratio > self._max_ratio:
            raise BackupError(
                f"{self._path} unpacks to more than {self._max_ratio:g} times its compressed "
                "size (restore_max_ratio): a compression bomb, not a backup; "
                f"stopped after {megabytes}, nothing was changed"
            )
        return data


@contextmanager
def open_backup(settings: Settings, path: Path) -> Iterator[UnpackedBackup]:
    """Unpack a backup into a temporary folder under ``data_dir`` (removed afterwards),
    within the size and ratio bounds, and check the manifest and every member's hash."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix=".restore-") as tmp:
        files = _unpack(settings, path, Path(tmp))
        manifest_file = files.pop("manifest.json", None)
        if manifest_file is None or manifest_file.stat().st_size > MANIFEST_MAX_BYTES:
            raise BackupError(f"{path} has no valid manifest.json")
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BackupError(f"{path} has no valid manifest.json") from exc
        if not isinstance(manifest, dict) or (
            manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION
        ):
            raise BackupError(f"{path} is not a {FORMAT} version {FORMAT_VERSION} file")
        expected = manifest.get("members", {})
        if set(expected) != set(files):
            raise BackupError(f"{path}: members differ from the manifest (incomplete or altered)")
        for name, file in files.items():
            if _file_sha256(file) != expected[name]:
                raise BackupError(f"{path}: {name} does not match its hash (damaged or altered)")
        yield UnpackedBackup(manifest, files)


def _unpack(settings: Settings, path: Path, folder: Path) -> dict[str, Path]:
    """Copy every member of the archive to ``folder`` in chunks; only regular files with
    a backup member's name are accepted (no links, folders or other paths)."""
    files: dict[str, Path] = {}
    try:
        with path.open("rb") as raw:
            stream = _BoundedGzip(raw, path, settings.restore_max_bytes, settings.restore_max_ratio)
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for info in archive:
                    if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or info.issparse():
                        raise BackupError(f"{path}: {info.name!r} is not a regular file")
                    if not MEMBER_NAME.match(info.name):
                        raise BackupError(f"{path}: {info.name!r} is not a backup member")
                    if info.name in files:
                        raise BackupError(f"{path}: {info.name!r} occurs twice")
                    handle = archive.extractfile(info)
                    assert handle is not None  # a regular file
                    target = folder / f"member-{len(files)}"
                    with target.open("wb") as out:
                        shutil.copyfileobj(handle, out, CHUNK)
                    files[info.name] = target
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupError(f"{path} is not a readable backup: {exc}") from exc
    return files


def restore_backup(
    settings: Settings, path: Path, who: Origin, force: bool = False
) -> RestoreReport:
    """Restore a backup into the configured stores. Refuses a target that holds data
    unless ``force``; replaced database files are kept as ``*.before-restore-<time>``.
    Nothing changes until the whole backup is unpacked and checked."""
    with open_backup(settings, path) as backup:
        return _restore(settings, backup, path, who, force)


def _restore(
    settings: Settings, backup: UnpackedBackup, path: Path, who: Origin, force: bool
) -> RestoreReport:
    manifest, files = backup.manifest, backup.files
    if manifest.get("embedding") != settings.embedding_id:
        raise BackupError(
            f"the backup's vectors were made with {manifest.get('embedding')}, this "
            f"installation uses {settings.embedding_id}: restore with the same embedding "
            "settings"
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
    if "conversations.jsonl" not in files:
        raise BackupError(f"{path} has no conversations.jsonl")
    _check_contents(files, settings)
    report = RestoreReport()
    loaded: list[tuple[ChunkStore, IndexState]] = []
    try:  # the indexes go into new generations that become active only at the end
        for name, file in sorted(files.items()):
            if name.startswith("index/"):
                collection = name.removeprefix("index/").removesuffix(".jsonl")
                store = ChunkStore(settings, client, collection=collection)
                state, report.collections[collection] = _load_generation(store, name, file)
                loaded.append((store, state))
        with files["conversations.jsonl"].open(encoding="utf-8") as lines:
            records = _json_lines(lines, "conversations.jsonl")
            report.conversation_records = conversations.load(records)  # type: ignore[arg-type]
    except BaseException:
        for store, state in loaded:
            store.drop(state.collection)
        raise
    for store, state in loaded:
        store.activate(state)
        store.remove_stale_generations(keep=state.collection)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name, target in _database_files(settings).items():
        if name in files:
            report.kept_aside.extend(_put_in_place(files[name], target, stamp))
            report.files.append(name)
    audit = open_audit_log(settings)
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


def _check_contents(files: dict[str, Path], settings: Settings) -> None:
    """Refuse members whose contents cannot be restored, before anything changes (the
    index records are checked as they load into a generation that is not yet active)."""
    with files["conversations.jsonl"].open(encoding="utf-8") as lines:
        for number, record in enumerate(_json_lines(lines, "conversations.jsonl"), start=1):
            if not isinstance(record, dict) or record.get("kind") not in RECORD_KINDS:
                raise BackupError(f"conversations.jsonl: record {number} has no known kind")
    for name, file in files.items():
        if not name.endswith(".sqlite"):
            continue
        try:
            with closing(sqlite3.connect(file)) as db:
                if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise BackupError(f"{name} is a damaged database")
                if name == "api_keys.sqlite":
                    db.execute("SELECT COUNT(*) FROM api_keys").fetchone()
            chain = AuditLog(file, audit_key(settings)).verify() if name == "audit.sqlite" else None
            if chain is not None and not chain.ok:
                raise BackupError(f"the backup's audit log hash chain is broken: {chain.problem}")
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{name} is not a usable database: {exc}") from exc


def _json_lines(lines: TextIO, name: str) -> Iterator[object]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise BackupError(f"{name} line {number} is not valid JSON: {exc}") from exc


def _load_generation(store: ChunkStore, name: str, file: Path) -> tuple[IndexState, int]:
    """Load one collection's records into a new generation (not yet active); returns its
    state and how many records it holds."""
    with file.open(encoding="utf-8") as lines:
        try:
            state = IndexState.from_json(next(lines))
        except (StopIteration, ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"{name} does not start with a valid index state") from exc
        generation = store.create_generation()
        count = 0
        try:
            records = (json.loads(line) for line in lines if line.strip())
            while batch := list(itertools.islice(records, PAGE)):
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
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            store.drop(generation.name)
            raise BackupError(f"{name}: record {count + 1} or after is not valid") from exc
        except BaseException:
            store.drop(generation.name)
            raise
    state.collection = generation.name
    return state, count


def _put_in_place(source: Path, target: Path, stamp: str) -> list[Path]:
    """Copy ``source`` over ``target`` in one step; an existing file (with its WAL) is
    kept beside it. Returns the kept files' paths."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restoring")
    shutil.copyfile(source, partial)
    kept = []
    if target.exists():
        aside = target.with_name(f"{target.name}.before-restore-{stamp}")
        target.replace(aside)
        kept.append(aside)
        for suffix in ("-wal", "-shm"):  # the WAL may hold committed writes: keep it too
            companion = target.with_name(target.name + suffix)
            if companion.exists():
                companion.replace(aside.with_name(aside.name + suffix))
    partial.replace(target)
    return kept


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
    if settings.audit_path.exists() and open_audit_log(settings).verify().entries:
        present.append("audit log")
    return present
