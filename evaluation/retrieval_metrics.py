"""Retrieval metrics on their own, apart from generation: hit@k and MRR.

A retrieved chunk "holds the answer" when it contains the question's
``answer_contains`` snippet, compared on normalised words (case, punctuation,
hyphens and line breaks ignored) and within the expected document.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.cleaning import repair_encoding

DEV_QUESTIONS = Path(__file__).with_name("retrieval_dev.jsonl")


@dataclass(frozen=True)
class RetrievalQuestion:
    id: str
    question: str
    doc_id: str
    answer_contains: str


@dataclass
class RetrievalScores:
    """Aggregate scores and the questions whose passage was not in the top k."""

    questions: int
    hit_at: dict[int, float]
    mrr: float
    per_document: dict[str, float] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)


class _Hit:  # what a search function returns per result
    doc_id: str
    text: str


def normalise(text: str) -> str:
    """Lowercase words only: accents kept, punctuation, hyphens and whitespace folded."""
    text = unicodedata.normalize("NFC", repair_encoding(text)).lower()
    text = re.sub(r"-\s*\n\s*", "", text)
    return " ".join(re.findall(r"\w+", text))


def load_questions(path: Path = DEV_QUESTIONS) -> list[RetrievalQuestion]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [RetrievalQuestion(**json.loads(line)) for line in lines if line.strip()]


def holds_answer(question: RetrievalQuestion, doc_id: str, text: str) -> bool:
    return doc_id == question.doc_id and normalise(question.answer_contains) in normalise(text)


def answer_rank(question: RetrievalQuestion, hits: Sequence[_Hit]) -> int | None:
    """1-based rank of the first hit holding the answer, or None."""
    for rank, hit in enumerate(hits, start=1):
        if holds_answer(question, hit.doc_id, hit.text):
            return rank
    return None


def evaluate_retrieval(
    search: Callable[[str, int], Sequence[_Hit]],
    questions: list[RetrievalQuestion],
    ks: tuple[int, ...] = (1, 3, 5, 10),
) -> RetrievalScores:
    """Run every question through ``search`` and score the ranks."""
    depth = max(ks)
    ranks: list[int | None] = []
    for question in questions:
        ranks.append(answer_rank(question, search(question.question, depth)))
    n = len(questions) or 1
    hit_at = {k: sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
    mrr = sum(1.0 / r for r in ranks if r is not None) / n
    per_document: dict[str, list[bool]] = {}
    for question, rank in zip(questions, ranks, strict=True):
        per_document.setdefault(question.doc_id, []).append(rank is not None and rank <= 5)
    return RetrievalScores(
        questions=len(questions),
        hit_at=hit_at,
        mrr=mrr,
        per_document={doc: sum(v) / len(v) for doc, v in per_document.items()},
        misses=[q.id for q, r in zip(questions, ranks, strict=True) if r is None or r > 5],
    )
