"""Search across collections (one per municipality or department).

Every collection is its own index in Chroma with its own ``SearchService``. A request
names the collections it may read; with more than one, their rankings are fused again
by reciprocal rank fusion (fused scores of different collections are not comparable),
each weighted by its collection's best vector similarity to the query. Which collections
a caller may read is decided above this layer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

from langchain_core.embeddings import Embeddings

from assistant.retrieval.fusion import reciprocal_rank_fusion
from assistant.retrieval.hits import SearchHit
from assistant.retrieval.rerank import Reranker
from assistant.retrieval.search_service import (
    IndexNotReady,
    Retrieval,
    SearchService,
    UnknownDocuments,
)
from assistant.settings import Settings
from ingest.store import ChunkStore, IndexState, corpus_version, list_collections


class UnknownCollection(LookupError):
    """A request names a collection that has no index."""

    def __init__(self, unknown: list[str], known: list[str]) -> None:
        super().__init__(f"unknown collections: {', '.join(unknown)}")
        self.unknown = unknown
        self.known = known


class Library:
    """One ``SearchService`` per collection, created on first use; thread-safe."""

    def __init__(
        self,
        settings: Settings,
        store: ChunkStore,
        embeddings: Embeddings,
        reranker: Reranker | None = None,
    ) -> None:
        self._settings = settings
        self._client = store.client
        self._embeddings = embeddings
        self._reranker = reranker
        default = SearchService(settings, store, embeddings, reranker)
        self._services: dict[str, SearchService] = {store.collection_name: default}
        self._lock = threading.Lock()
        self._seen: set[str] = set()  # collections known to have an index

    @property
    def default_collection(self) -> str:
        return self._settings.default_collection

    @property
    def reranker(self) -> Reranker | None:
        return self._reranker

    def known(self) -> list[str]:
        """Collections with an index."""
        return list_collections(self._settings, self._client)

    def service(self, collection: str | None = None) -> SearchService:
        """The search service of ``collection`` (default: the shared one)."""
        name = collection or self.default_collection
        with self._lock:
            if name not in self._services:
                store = ChunkStore(self._settings, self._client, collection=name)
                self._services[name] = SearchService(
                    self._settings, store, self._embeddings, self._reranker
                )
            return self._services[name]

    def check(self, collections: list[str]) -> None:
        """``UnknownCollection`` unless every named collection has an index. The default
        collection is never unknown: before its first ingest it is empty (IndexNotReady).
        Chroma is asked only about names not seen with an index before (collections are
        not removed while serving), so a request pays for this once, not per check."""
        unseen = [c for c in collections if c != self.default_collection and c not in self._seen]
        if unseen:
            known = self.known()
            self._seen.update(known)
            unknown = sorted(set(unseen) - set(known))
            if unknown:
                raise UnknownCollection(unknown, known)

    def exists(self, collection: str) -> bool:
        """Whether ``collection`` has an index (or is the default one)."""
        try:
            self.check([collection])
        except UnknownCollection:
            return False
        return True

    # --- per request ---------------------------------------------------------
    def state(self, collection: str | None = None) -> IndexState | None:
        return self.service(collection).state()

    def corpus_version(self, collections: list[str] | None = None) -> str | None:
        """The corpus version of one collection, or a hash over several."""
        names = collections or [self.default_collection]
        states = {name: self.state(name) for name in names}
        if len(names) == 1:
            state = states[names[0]]
            return state.corpus_version if state else None
        versions = {name: s.corpus_version for name, s in states.items() if s is not None}
        return corpus_version(versions) if versions else None

    def document_passages(self, doc_id: str, collection: str | None = None) -> list[SearchHit]:
        return self.service(collection).document_passages(doc_id)

    def search(
        self,
        query: str,
        k: int = 5,
        doc_ids: list[str] | None = None,
        collections: list[str] | None = None,
        parts: Sequence[str] = (),
    ) -> list[SearchHit]:
        return self.retrieve(query, k, doc_ids, collections, parts).hits

    def retrieve(
        self,
        query: str,
        k: int = 5,
        doc_ids: list[str] | None = None,
        collections: list[str] | None = None,
        parts: Sequence[str] = (),
    ) -> Retrieval:
        """Hits from the named collections (default: the shared one), fused; with
        ``parts`` (of a compound question, ``question_parts``), each part's ranking is
        fused in too, so that every part has its best passages among the hits. How
        close the corpus comes to the query is the whole query's."""
        whole = self._retrieve(query, k, doc_ids, collections)
        if not parts:
            return whole
        rankings = [whole, *(self._retrieve(part, k, doc_ids, collections) for part in parts)]
        fused = _fuse(rankings, k, self._settings.rrf_k, weights=[1.0] * len(rankings))
        return Retrieval(hits=fused.hits, top_similarity=whole.top_similarity)

    def _retrieve(
        self,
        query: str,
        k: int,
        doc_ids: list[str] | None,
        collections: list[str] | None,
    ) -> Retrieval:
        names = list(dict.fromkeys(collections or [self.default_collection]))
        self.check(names)
        if len(names) == 1:
            return self.service(names[0]).retrieve(query, k, doc_ids)
        results: list[Retrieval] = []
        held: set[str] = set()
        for name in names:
            service = self.service(name)
            state = service.state()
            if state is None:
                continue
            own = [d for d in doc_ids if d in state.documents] if doc_ids else None
            held.update(own or state.documents)
            if doc_ids and not own:
                continue
            results.append(service.retrieve(query, k, own))
        if not results and not doc_ids:
            raise IndexNotReady("the collections are empty: run 'wegwijzer ingest' first")
        if doc_ids and (unknown := sorted(set(doc_ids) - held)):
            raise UnknownDocuments(unknown, sorted(held))
        return _fuse(results, k, self._settings.rrf_k)


def _fuse(
    results: list[Retrieval], k: int, rrf_k: int, weights: list[float] | None = None
) -> Retrieval:
    """Rank fusion, each ranking weighted by ``weights`` or else (across collections) by
    how close its collection comes to the query (its best vector similarity): equal
    ranks go to the closer one."""
    by_key = {(hit.collection, hit.chunk_id): hit for r in results for hit in r.hits}
    rankings = [[f"{hit.collection}\x1f{hit.chunk_id}" for hit in r.hits] for r in results]
    weights = weights or [max(r.top_similarity, 1e-6) for r in results]
    fused = reciprocal_rank_fusion(rankings, weights, k=rrf_k)
    hits = []
    for key, score in fused[:k]:
        collection, chunk_id = key.split("\x1f", 1)
        hit = by_key[(collection, chunk_id)]
        hits.append(replace(hit, score=round(score, 6)))
    return Retrieval(hits=hits, top_similarity=max(r.top_similarity for r in results))
