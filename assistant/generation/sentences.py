"""Sentences and their content terms: the unit of context selection and citation checks."""

from __future__ import annotations

import re
from functools import cache

from assistant.retrieval.keyword import DutchAnalyzer

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9À-Ý\"'(\[])|\n+")


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of a text, stripped, without empty ones."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


@cache
def _analyzer() -> DutchAnalyzer:
    return DutchAnalyzer()


def content_terms(text: str) -> set[str]:
    """Stemmed words without stopwords (the same analysis as keyword search)."""
    return set(_analyzer().terms(text))


def overlap(part: set[str], whole: set[str]) -> float:
    """Share of ``part`` that occurs in ``whole`` (0 when ``part`` is empty)."""
    return len(part & whole) / len(part) if part else 0.0
