"""Sentence vectors, embedded once: kept in memory and, when a store is given, on disk.

Sentence scores (the evidence ranker, the sentence reranker of search) need a vector for
every sentence of the candidate chunks: some 170 sentences for a question, seconds of CPU
when they are embedded at question time. Ingest embeds every chunk's sentences into the
store, so that a question only embeds itself. The store is a LangChain ``ByteStore``
(by default ``SQLStore`` on a SQLite file beside the index), keyed by the text's hash and
namespaced by the embedding model: a stale entry is never read for another model, and a
text no chunk has any more only takes room. The store is a cache: when it cannot be read
or written the vectors are embedded as before.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.stores import ByteStore
from sqlalchemy.exc import SQLAlchemyError

from assistant.settings import Settings

log = logging.getLogger(__name__)

_STORE_ERRORS = (SQLAlchemyError, OSError, ValueError)


class SentenceVectors:
    """Vectors of passage sentences: memory first (least recently used dropped), then
    the store, then the embedding model; what was embedded is kept in both."""

    def __init__(
        self,
        embeddings: Embeddings,
        store: ByteStore | None = None,
        memory_size: int = 20_000,
    ) -> None:
        self._embeddings = embeddings
        self._store = store
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memory_size = memory_size
        self._lock = threading.Lock()

    def of(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, in order (``texts`` may repeat)."""
        known = self._remembered(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(self._stored(missing))
            missing = [t for t in missing if t not in known]
        if missing:
            fresh = self._embedded(missing)
            self._keep(fresh)
            known.update(fresh)
        self._remember(known)
        return np.vstack([known[t] for t in texts])

    def fill(self, texts: Iterable[str], batch: int = 1000) -> int:
        """Embed into the store what it does not hold yet (for ingest), ``batch`` texts
        at a time; how many were embedded."""
        unique = list(dict.fromkeys(texts))
        embedded = 0
        for start in range(0, len(unique), batch):
            part = unique[start : start + batch]
            held = self._stored(part)
            missing = [t for t in part if t not in held]
            if missing:
                self._keep(self._embedded(missing))
                embedded += len(missing)
        return embedded

    def _remembered(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        with self._lock:
            known = {t: self._memory[t] for t in dict.fromkeys(texts) if t in self._memory}
            for text in known:
                self._memory.move_to_end(text)
        return known

    def _remember(self, vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            for text, vector in vectors.items():
                self._memory[text] = vector
                self._memory.move_to_end(text)
            while len(self._memory) > self._memory_size:
                self._memory.popitem(last=False)

    def _embedded(self, texts: list[str]) -> dict[str, np.ndarray]:
        vectors = self._embeddings.embed_documents(texts)
        return {t: np.asarray(v, dtype=np.float32) for t, v in zip(texts, vectors, strict=True)}

    def _stored(self, texts: list[str]) -> dict[str, np.ndarray]:
        if self._store is None:
            return {}
        try:
            values = self._store.mget([_key(t) for t in texts])
        except _STORE_ERRORS as exc:
            log.warning("sentence vectors: store not readable (%s); embedding instead", exc)
            return {}
        return {
            text: np.frombuffer(value, dtype=np.float32)
            for text, value in zip(texts, values, strict=True)
            if value is not None
        }

    def _keep(self, vectors: dict[str, np.ndarray]) -> None:
        if self._store is None or not vectors:
            return
        try:
            self._store.mset([(_key(t), v.tobytes()) for t, v in vectors.items()])
        except _STORE_ERRORS as exc:
            log.warning("sentence vectors: store not writable (%s); kept in memory only", exc)


def sentence_vector_store(settings: Settings) -> ByteStore | None:
    """The on-disk store of sentence vectors, namespaced by embedding model; None when
    it cannot be opened (the vectors are then embedded at question time)."""
    from langchain_community.storage import SQLStore

    path = settings.sentence_vectors_path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        store = SQLStore(
            namespace=f"{settings.embedding_id}|{settings.passage_prefix}",
            db_url=f"sqlite:///{path}",
            engine_kwargs={"connect_args": {"timeout": 10}},
        )
        store.create_schema()
    except _STORE_ERRORS as exc:
        log.warning("sentence vectors: no store at %s (%s)", path, exc)
        return None
    return store


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
