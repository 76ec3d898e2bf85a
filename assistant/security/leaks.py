"""Output check: does an answer give away the system prompt (OWASP LLM07)?"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The lower-cased word n-grams of ``text``."""
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class PromptLeakCheck:
    """Flags an answer that repeats any run of ``n`` words from the secret texts."""

    def __init__(self, secret_texts: list[str], n: int = 7) -> None:
        self._n = n
        self._secret = set().union(*(word_ngrams(text, n) for text in secret_texts))

    def leaks(self, answer: str) -> bool:
        return not self._secret.isdisjoint(word_ngrams(answer, self._n))
