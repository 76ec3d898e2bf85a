"""Hybrid search over the active index generation.

``SearchService.search`` runs vector search (Chroma) and BM25 (in memory) on
the same generation, fuses them with weighted reciprocal rank fusion, and
optionally reranks. When an ingest activates a new generation, the next search
loads it; searches in flight keep the snapshot they started with.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from chromadb.api.models.Collection import Collection
from langchain_core.embeddings import Embeddings

from assistant.retrieval.fusion import reciprocal_rank_fusion
from assistant.retrieval.hits import SearchHit
from assistant.retrieval.keyword import KeywordIndex, load_synonyms
from assistant.retrieval.rerank import Reranker
from assistant.settings import Settings
from ingest.pipeline import search_text
from ingest.store import ChunkStore, IndexState, StoredChunk

STATE_CHECK_SECONDS = 1.0


class IndexNotReady(RuntimeError):
    """No ingest has completed yet."""


class UnknownDocuments(ValueError):
    """A ``doc_ids`` filter names documents the index does not hold."""

    def __init__(self, unknown: list[str], known: list[str]) -> None:
        super().__init__(f"unknown doc_ids: {', '.join(unknown)}")
        self.unknown = unknown
        self.known = known


@dataclass(frozen=True)
class Retrieval:
    """Search hits and the top vector similarity (0 when vector search is off)."""

    hits: list[SearchHit]
    top_similarity: float


@dataclass
class _Snapshot:
    state: IndexState
    collection: Collection
    chunks: list[StoredChunk]
    position: dict[str, int]
    doc_of: np.ndarray
    keywords: KeywordIndex


class SearchService:
    """Vector + keyword search with fusion; safe to share between request threads."""

    def __init__(
        self,
        settings: Settings,
        store: ChunkStore,
        embeddings: Embeddings,
        reranker: Reranker | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._embeddings = embeddings
        self._reranker = reranker
        self._snapshot: _Snapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    @property
    def collection(self) -> str:
        """The collection this service searches."""
        return self._store.collection_name

    @property
    def reranker(self) -> Reranker | None:
        return self._reranker

    # --- index snapshot ----------------------------------------------------
    def state(self) -> IndexState | None:
        """The active index state (refreshed at most once a second)."""
        snapshot = self._current(required=False)
        return snapshot.state if snapshot else None

    def _current(self, required: bool = True) -> _Snapshot | None:
        with self._lock:
            now = time.monotonic()
            if self._snapshot is None or now - self._checked_at > STATE_CHECK_SECONDS:
                self._checked_at = now
                state = self._store.active_state()
                if state is None:
                    self._snapshot = None
                elif self._snapshot is None or state.collection != self._snapshot.state.collection:
                    self._snapshot = self._load(state)
            if self._snapshot is None and required:
                raise IndexNotReady("the index is empty: run 'wegwijzer ingest' first")
            return self._snapshot

    def _load(self, state: IndexState) -> _Snapshot:
        collection = self._store.collection(state.collection)
        chunks = list(self._store.iter_chunks(collection))
        texts = [search_text(chunk.as_chunk()) for chunk in chunks]
        return _Snapshot(
            state=state,
            collection=collection,
            chunks=chunks,
            position={chunk.chunk_id: i for i, chunk in enumerate(chunks)},
            doc_of=np.array([chunk.metadata.get("doc_id", "") for chunk in chunks], dtype=object),
            keywords=KeywordIndex(texts, load_synonyms(self._settings.synonyms_path)),
        )

    def document_passages(self, doc_id: str) -> list[SearchHit]:
        """Every chunk of one document in reading order; ``UnknownDocuments`` if absent."""
        snapshot = self._current()
        assert snapshot is not None
        chunks = [chunk for chunk in snapshot.chunks if chunk.metadata.get("doc_id") == doc_id]
        if not chunks:
            raise UnknownDocuments([doc_id], sorted(snapshot.state.documents))
        chunks.sort(key=lambda chunk: int(chunk.metadata.get("position", 0)))
        return [_hit(chunk, 0.0, self.collection) for chunk in chunks]

    # --- search ------------------------------------------------------------
    def search(self, query: str, k: int = 5, doc_ids: list[str] | None = None) -> list[SearchHit]:
        """The ``k`` best chunks for ``query``, optionally within ``doc_ids``."""
        return self.retrieve(query, k, doc_ids).hits

    def retrieve(self, query: str, k: int = 5, doc_ids: list[str] | None = None) -> Retrieval:
        """Hits plus the best vector similarity: how close the corpus comes to the query."""
        snapshot = self._current()
        assert snapshot is not None
        if doc_ids:
            unknown = sorted(set(doc_ids) - set(snapshot.state.documents))
            if unknown:
                raise UnknownDocuments(unknown, sorted(snapshot.state.documents))
        settings = self._settings
        n = max(settings.candidates_per_retriever, k)
        rankings: list[list[str]] = []
        weights: list[float] = []
        top_similarity = 0.0
        if settings.search_mode in ("hybrid", "vector"):
            vector = self._embeddings.embed_query(query)
            found = self._store.query(snapshot.collection, vector, n, doc_ids)
            rankings.append([chunk_id for chunk_id, _ in found])
            weights.append(settings.vector_weight)
            top_similarity = found[0][1] if found else 0.0
        if settings.search_mode in ("hybrid", "keyword"):
            mask = np.isin(snapshot.doc_of, doc_ids) if doc_ids else None
            found_kw = snapshot.keywords.search(query, n, mask)
            rankings.append([snapshot.chunks[i].chunk_id for i, _ in found_kw])
            weights.append(settings.keyword_weight)
        fused = reciprocal_rank_fusion(rankings, weights, k=settings.rrf_k)
        depth = max(k, settings.reranker_candidates) if self._reranker else k
        hits = [
            _hit(snapshot.chunks[snapshot.position[chunk_id]], score, self.collection)
            for chunk_id, score in fused[:depth]
            if chunk_id in snapshot.position
        ]
        if self._reranker is not None:
            hits = self._reranker.rerank(query, hits)
        return Retrieval(hits=hits[:k], top_similarity=top_similarity)


def _hit(stored: StoredChunk, score: float, collection: str) -> SearchHit:
    chunk = stored.as_chunk()
    return SearchHit(
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        title=chunk.title,
        section=chunk.section,
        page=chunk.page,
        position=chunk.position,
        text=chunk.text,
        score=round(score, 6),
        collection=collection,
    )
