"""BM25 keyword search for Dutch: stopwords, Snowball stemming, compound splitting.

Exact terms such as GIBIT, NEN 7510, IAMA or "artikel 12" are what vector
search misses and BM25 catches. Dutch glues words together
("gegevensmodel", "informatiemanagementproducten"), so tokens are also split
into parts the corpus knows as words of their own, and a small synonym list
(``corpus/synonyms.yaml``) maps terms such as "AI-verordening" to "AI Act".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
import yaml
from bm25s.stopwords import STOPWORDS_DUTCH

_WORD = re.compile(r"\w\w+")
_STOPWORDS = frozenset(STOPWORDS_DUTCH)
_LINKING = ("s", "e", "en")  # Dutch linking morphemes: gegeven-s-model
MIN_PART = 4
STEMMER = "dutch_porter"  # the newer "dutch" stems "gemeenten" to "meen"
MIN_COMPOUND = 8


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class DutchAnalyzer:
    """Turns text into BM25 terms; compound parts come from the corpus vocabulary."""

    def __init__(self, vocabulary: Iterable[str] = ()) -> None:
        self._vocabulary = {word for word in vocabulary if len(word) >= MIN_PART}
        self._stemmer = Stemmer.Stemmer(STEMMER)
        self._split_cache: dict[str, list[str]] = {}

    def terms(self, text: str) -> list[str]:
        tokens: list[str] = []
        for word in words(text):
            if word in _STOPWORDS:
                continue
            tokens.append(word)
            tokens.extend(self._compound_parts(word))
        return self._stemmer.stemWords(tokens)

    def _compound_parts(self, word: str) -> list[str]:
        if len(word) < MIN_COMPOUND or not word.isalpha():
            return []
        cached = self._split_cache.get(word)
        if cached is None:
            cached = self._split(word)
            self._split_cache[word] = cached
        return cached

    def _split(self, word: str) -> list[str]:
        """The first split (longest head) whose head and tail are corpus words."""
        for cut in range(len(word) - MIN_PART, MIN_PART - 1, -1):
            head, tail = word[:cut], word[cut:]
            if tail not in self._vocabulary and not self._compound_parts_known(tail):
                continue
            for candidate in (head, *(head[: -len(s)] for s in _LINKING if head.endswith(s))):
                if len(candidate) >= MIN_PART and candidate in self._vocabulary:
                    tail_parts = [tail] if tail in self._vocabulary else self._split(tail)
                    return [candidate, *tail_parts]
        return []

    def _compound_parts_known(self, tail: str) -> bool:
        return len(tail) >= MIN_COMPOUND and bool(self._split(tail))


def load_synonyms(path: Path | None) -> list[list[str]]:
    """Groups of equivalent terms from a YAML list of lists; none when the file is absent."""
    if path is None or not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    groups = data.get("synonyms", []) if isinstance(data, dict) else []
    return [[str(term) for term in group] for group in groups if isinstance(group, list)]


class KeywordIndex:
    """An in-memory BM25 index over a fixed list of texts."""

    def __init__(self, texts: list[str], synonyms: list[list[str]] | None = None) -> None:
        self._size = len(texts)
        vocabulary = {word for text in texts for word in words(text)}
        self._analyzer = DutchAnalyzer(vocabulary)
        self._synonyms = [(group, [words(term) for term in group]) for group in synonyms or []]
        self._bm25 = bm25s.BM25()
        if texts:
            self._bm25.index([self._analyzer.terms(text) for text in texts], show_progress=False)

    def expand(self, query: str) -> str:
        """Append the synonyms of any synonym-list term that occurs in the query."""
        query_words = words(query)
        extra: list[str] = []
        for group, group_words in self._synonyms:
            if any(_contains(query_words, term) for term in group_words if term):
                extra.extend(group)
        return query + (" " + " ".join(extra) if extra else "")

    def search(
        self, query: str, n_results: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Positions and BM25 scores of the best texts; ``mask`` limits the candidates."""
        if self._size == 0:
            return []
        vocab = self._bm25.vocab_dict
        query_terms = [t for t in self._analyzer.terms(self.expand(query)) if t in vocab]
        if not query_terms:
            return []
        scores = self._bm25.get_scores(query_terms)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n_results, self._size)
        top = np.argpartition(-scores, n - 1)[:n]
        ranked = sorted(top, key=lambda i: -scores[i])
        return [(int(i), float(scores[i])) for i in ranked if scores[i] > 0]


def _contains(haystack: list[str], needle: list[str]) -> bool:
    width = len(needle)
    return any(haystack[i : i + width] == needle for i in range(len(haystack) - width + 1))
