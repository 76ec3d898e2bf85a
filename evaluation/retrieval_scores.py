"""Retrieval scored apart from generation: where the golden reference contexts rank.

A retrieved chunk holds a reference context when, within one of the item's
documents, the context's normalised words occur in it, or nearly do (a context
cut by a chunk boundary still counts when 80% of it aligns with the chunk).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rapidfuzz import fuzz

from assistant.retrieval.hits import SearchHit
from evaluation.retrieval_metrics import normalise

KS = (1, 3, 5, 10)
PARTIAL_MATCH = 80.0


def holds_context(context: str, chunk_text: str) -> bool:
    """True when ``chunk_text`` contains ``context`` (normalised), or 80% of it aligns."""
    wanted, text = normalise(context), normalise(chunk_text)
    if not wanted:
        return False
    return wanted in text or fuzz.partial_ratio(wanted, text) >= PARTIAL_MATCH


def context_ranks(
    contexts: Sequence[str], doc_ids: Sequence[str], chunks: Sequence[SearchHit]
) -> list[int | None]:
    """Per reference context, the 1-based rank of the first chunk holding it, or None."""
    ranks: list[int | None] = []
    for context in contexts:
        rank = next(
            (
                position
                for position, chunk in enumerate(chunks, start=1)
                if chunk.doc_id in doc_ids and holds_context(context, chunk.text)
            ),
            None,
        )
        ranks.append(rank)
    return ranks


def retrieval_scores(ranks: Sequence[int | None], ks: Sequence[int] = KS) -> dict[str, float]:
    """hit@k, recall@k, nDCG@k and reciprocal rank for one item's context ranks."""
    found = [rank for rank in ranks if rank is not None]
    scores: dict[str, float] = {"mrr": 1.0 / min(found) if found else 0.0}
    positions = set(found)
    for k in ks:
        within = [rank for rank in ranks if rank is not None and rank <= k]
        scores[f"hit@{k}"] = 1.0 if within else 0.0
        scores[f"recall@{k}"] = len(within) / len(ranks) if ranks else 0.0
        dcg = sum(1.0 / math.log2(p + 1) for p in positions if p <= k)
        ideal_count = min(len(positions) + ranks.count(None), k)
        idcg = sum(1.0 / math.log2(i + 1) for i in range(1, ideal_count + 1))
        scores[f"ndcg@{k}"] = dcg / idcg if idcg else 0.0
    return scores
