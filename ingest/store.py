"""The chunk store in Chroma, with crash-safe generations.

Every ingest that changes anything writes a *new* collection (a generation):
it copies the vectors of unchanged documents from the active one, adds the
new chunks, and only then points the state record at it. Searches always read
the collection the state record names, so a crash halfway leaves the previous
index in use, and the half-built collection is removed by the next ingest.
The state record (the ingest manifest) lives in Chroma too, so API replicas
sharing a Chroma server all see the same active generation.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from assistant.settings import Settings, checked_collection_name
from ingest.documents import Chunk

STATE_RECORD_ID = "active"
# Chroma's defaults (ef 100, 16 neighbours) gave unstable recall here: the chunk an
# exact search ranks first came 1st in one build and 13th in the next. These settle it
# (first in every build) and keep search p95 well under the target (see benchmarks).
HNSW_CONFIGURATION = {
    "space": "cosine",
    "ef_construction": 400,
    "ef_search": 400,
    "max_neighbors": 32,
}
COPY_BATCH = 500
ADD_BATCH = 1000


class StoreUnavailable(RuntimeError):
    """Chroma cannot be reached or opened."""


@dataclass
class DocumentState:
    """What the index holds of one document."""

    doc_id: str
    file: str
    file_hash: str
    title: str
    chunks: int
    publisher: str = ""
    year: int | None = None
    type: str = ""
    language: str = ""


def corpus_version(file_hashes: dict[str, str]) -> str:
    """Short hash over document ids and their content hashes (``doc_id -> sha256``)."""
    from ingest.documents import sha256_text

    return sha256_text("|".join(f"{d}:{h}" for d, h in sorted(file_hashes.items())))[:12]


@dataclass
class IndexState:
    """The ingest manifest: active collection, settings the vectors were made with, documents."""

    collection: str
    embedding: str
    chunking: str
    pipeline_version: str
    documents: dict[str, DocumentState] = field(default_factory=dict)
    updated_at: float = 0.0

    @property
    def chunk_count(self) -> int:
        return sum(doc.chunks for doc in self.documents.values())

    @property
    def corpus_version(self) -> str:
        """Short hash over the documents' content hashes; changes with any document."""
        return corpus_version({d: s.file_hash for d, s in self.documents.items()})

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> IndexState:
        data = json.loads(raw)
        documents = {key: DocumentState(**value) for key, value in data.pop("documents").items()}
        return cls(documents=documents, **data)


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the store."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]

    def as_chunk(self) -> Chunk:
        meta = self.metadata
        page = int(meta.get("page", -1))
        return Chunk(
            chunk_id=self.chunk_id,
            doc_id=str(meta.get("doc_id", "")),
            title=str(meta.get("title", "")),
            section=str(meta.get("section", "")),
            page=page if page >= 0 else None,
            position=int(meta.get("position", 0)),
            text=self.text,
            content_hash=str(meta.get("content_hash", "")),
            injection_score=float(meta.get("injection_score", 0.0)),
        )


def create_client(settings: Settings) -> ClientAPI:
    """Embedded ``PersistentClient`` by default, ``HttpClient`` for a Chroma server."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_mode == "http":
            token = settings.chroma_token.get_secret_value() if settings.chroma_token else ""
            return chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                headers={"X-Chroma-Token": token} if token else None,
                settings=chroma_settings,
            )
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except Exception as exc:  # chromadb raises several unrelated types here
        where = (
            f"Chroma server at {settings.chroma_host}:{settings.chroma_port}"
            if settings.chroma_mode == "http"
            else f"Chroma index in {settings.index_dir}"
        )
        raise StoreUnavailable(f"cannot open the {where}: {exc}") from exc


def namespace(settings: Settings, collection: str) -> str:
    """The Chroma name prefix of a collection's generations and state record. The default
    collection keeps the plain prefix; others get ``<prefix>-c-<name>`` (names hold no
    hyphen, so no namespace is the start of another's generation names)."""
    if collection == settings.default_collection:
        return settings.collection_prefix
    return f"{settings.collection_prefix}-c-{collection}"


def list_collections(settings: Settings, client: ClientAPI) -> list[str]:
    """The collections that have an index (an ingest manifest), sorted."""
    names = set()
    pattern = re.compile(rf"^{re.escape(settings.collection_prefix)}-c-([a-z0-9_]+)-state$")
    for item in client.list_collections():
        name = item.name if hasattr(item, "name") else str(item)
        if name == f"{settings.collection_prefix}-state":
            names.add(settings.default_collection)
        elif match := pattern.match(name):
            names.add(match.group(1))
    return sorted(names)


class ChunkStore:
    """Reads and writes one collection's chunk generations and its state record."""

    def __init__(
        self,
        settings: Settings,
        client: ClientAPI | None = None,
        collection: str | None = None,
    ) -> None:
        self.collection_name = checked_collection_name(collection or settings.default_collection)
        self._prefix = namespace(settings, self.collection_name)
        self._client = client or create_client(settings)
        self._state_name = f"{self._prefix}-state"

    @property
    def client(self) -> ClientAPI:
        return self._client

    # --- state -------------------------------------------------------------
    def active_state(self) -> IndexState | None:
        """The ingest manifest of the active generation, or None before the first ingest."""
        collection = self._client.get_or_create_collection(
            self._state_name, embedding_function=None
        )
        record = collection.get(ids=[STATE_RECORD_ID], include=["documents"])
        documents = record.get("documents") or []
        return IndexState.from_json(documents[0]) if documents else None

    def activate(self, state: IndexState) -> None:
        """Atomically make ``state.collection`` the generation searches read."""
        collection = self._client.get_or_create_collection(
            self._state_name, embedding_function=None
        )
        state.updated_at = time.time()
        collection.upsert(ids=[STATE_RECORD_ID], documents=[state.to_json()], embeddings=[[0.0]])

    # --- generations -------------------------------------------------------
    def create_generation(self) -> Collection:
        name = f"{self._prefix}-g{int(time.time())}-{uuid.uuid4().hex[:8]}"
        return self._client.create_collection(
            name, embedding_function=None, configuration={"hnsw": HNSW_CONFIGURATION}
        )

    def collection(self, name: str) -> Collection:
        return self._client.get_collection(name, embedding_function=None)

    def drop(self, name: str) -> None:
        with contextlib.suppress(Exception):  # already gone
            self._client.delete_collection(name)

    def remove_stale_generations(self, keep: str | None) -> list[str]:
        """Delete generations other than ``keep`` (left by crashes or superseded)."""
        removed = []
        for collection in self._client.list_collections():
            name = collection.name if hasattr(collection, "name") else str(collection)
            if name.startswith(f"{self._prefix}-g") and name != keep:
                self.drop(name)
                removed.append(name)
        return removed

    # --- chunks ------------------------------------------------------------
    def add_chunks(
        self, collection: Collection, chunks: list[Chunk], embeddings: list[list[float]]
    ) -> None:
        for start in range(0, len(chunks), ADD_BATCH):
            batch = chunks[start : start + ADD_BATCH]
            collection.add(
                ids=[chunk.chunk_id for chunk in batch],
                documents=[chunk.text for chunk in batch],
                metadatas=[chunk.metadata() for chunk in batch],
                embeddings=embeddings[start : start + ADD_BATCH],
            )

    def add_windows(
        self, collection: Collection, windows: list[tuple[Chunk, int, str]], embeddings: list
    ) -> None:
        """Store sub-passage vectors that point at their chunk (``parent``)."""
        for start in range(0, len(windows), ADD_BATCH):
            batch = windows[start : start + ADD_BATCH]
            collection.add(
                ids=[f"{chunk.chunk_id}#w{index}" for chunk, index, _ in batch],
                documents=[text for _, _, text in batch],
                metadatas=[
                    {"doc_id": chunk.doc_id, "parent": chunk.chunk_id, "kind": "window"}
                    for chunk, _, _ in batch
                ],
                embeddings=embeddings[start : start + ADD_BATCH],
            )

    def copy_documents(self, source: Collection, target: Collection, doc_ids: list[str]) -> int:
        """Copy the chunks and vectors of ``doc_ids`` without re-embedding; returns the count."""
        copied = 0
        for doc_id in doc_ids:
            offset = 0
            while True:
                page = source.get(
                    where={"doc_id": doc_id},
                    include=["documents", "metadatas", "embeddings"],
                    limit=COPY_BATCH,
                    offset=offset,
                )
                ids = page["ids"]
                if not ids:
                    break
                target.add(
                    ids=ids,
                    documents=page["documents"],
                    metadatas=page["metadatas"],
                    embeddings=page["embeddings"],
                )
                copied += len(ids)
                offset += len(ids)
        return copied

    def iter_chunks(self, collection: Collection, batch: int = 5000) -> Iterator[StoredChunk]:
        """All chunks of a generation (for the keyword index), in batches."""
        offset = 0
        while True:
            page = collection.get(
                where={"kind": "chunk"},
                include=["documents", "metadatas"],
                limit=batch,
                offset=offset,
            )
            ids = page["ids"]
            if not ids:
                return
            for chunk_id, text, metadata in zip(
                ids, page["documents"], page["metadatas"], strict=True
            ):
                yield StoredChunk(chunk_id, text or "", dict(metadata or {}))
            offset += len(ids)

    def query(
        self,
        collection: Collection,
        embedding: list[float],
        n_results: int,
        doc_ids: list[str] | None = None,
    ) -> list[tuple[str, float]]:
        """Nearest chunks (best first, each once) with cosine similarity.

        Sub-passage hits count for the chunk they belong to.
        """
        where = {"doc_id": {"$in": doc_ids}} if doc_ids else None
        result = collection.query(
            query_embeddings=[embedding],
            n_results=n_results * 2,
            where=where,
            include=["distances", "metadatas"],
        )
        best: dict[str, float] = {}
        for record_id, distance, metadata in zip(
            result["ids"][0], result["distances"][0], result["metadatas"][0], strict=True
        ):
            chunk_id = str((metadata or {}).get("parent") or record_id)
            if chunk_id not in best:
                best[chunk_id] = 1.0 - float(distance)
        return list(best.items())[:n_results]
