"""Weighted reciprocal rank fusion of ranked lists."""

from __future__ import annotations


def reciprocal_rank_fusion(
    rankings: list[list[str]], weights: list[float], k: int = 60
) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum(weight / (k + rank)), best first."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
