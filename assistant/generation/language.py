"""Tell Dutch from English questions, so the answer comes in the question's language."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-zà-ÿ']+")
_DUTCH = frozenset(
    {
        "de",
        "het",
        "een",
        "en",
        "van",
        "in",
        "is",
        "dat",
        "op",
        "te",
        "zijn",
        "voor",
        "met",
        "niet",
        "aan",
        "er",
        "die",
        "wat",
        "hoe",
        "welke",
        "wie",
        "waarom",
        "wanneer",
        "moet",
        "kan",
        "ik",
        "je",
        "we",
        "mijn",
        "onze",
        "gemeente",
        "gemeenten",
        "bij",
        "als",
        "ook",
        "over",
        "naar",
        "worden",
        "wordt",
        "heeft",
        "hebben",
        "deze",
        "dit",
        "mag",
        "waar",
        "zou",
    }
)
_ENGLISH = frozenset(
    {
        "the",
        "a",
        "an",
        "and",
        "of",
        "in",
        "is",
        "that",
        "on",
        "to",
        "be",
        "for",
        "with",
        "not",
        "are",
        "there",
        "which",
        "what",
        "how",
        "who",
        "why",
        "when",
        "must",
        "can",
        "i",
        "you",
        "we",
        "my",
        "our",
        "municipality",
        "municipalities",
        "at",
        "as",
        "also",
        "about",
        "does",
        "do",
        "should",
        "would",
        "this",
        "these",
        "may",
        "where",
        "from",
    }
)


def detect_language(text: str) -> str:
    """'en' when the text reads as English, else 'nl' (the default language)."""
    words = _WORD.findall(text.lower())
    dutch = sum(word in _DUTCH for word in words)
    english = sum(word in _ENGLISH for word in words)
    return "en" if english > dutch else "nl"
