"""BM25 keyword search with a Dutch stemmer and stopwords (bm25s + PyStemmer).

Exact terms such as GIBIT, NEN 7510, IAMA or "artikel 12" are what vector
search misses and BM25 catches.
"""

from __future__ import annotations

import bm25s
import numpy as np
import Stemmer

_STEMMER = Stemmer.Stemmer("dutch")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lowercased, Dutch-stemmed word tokens without stopwords."""
    tokens = bm25s.tokenize(
        texts, stopwords="nl", stemmer=_STEMMER, return_ids=False, show_progress=False
    )
    return [list(doc) for doc in tokens]


class KeywordIndex:
    """An in-memory BM25 index over a fixed list of texts."""

    def __init__(self, texts: list[str]) -> None:
        self._size = len(texts)
        self._bm25 = bm25s.BM25()
        if texts:
            self._bm25.index(tokenize(texts), show_progress=False)

    def search(
        self, query: str, n_results: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Positions and BM25 scores of the best texts; ``mask`` limits the candidates."""
        if self._size == 0:
            return []
        query_tokens = [t for t in tokenize([query])[0] if t in self._bm25.vocab_dict]
        if not query_tokens:
            return []
        scores = self._bm25.get_scores(query_tokens)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n_results, self._size)
        top = np.argpartition(-scores, n - 1)[:n]
        ranked = sorted(top, key=lambda i: -scores[i])
        return [(int(i), float(scores[i])) for i in ranked if scores[i] > 0]
