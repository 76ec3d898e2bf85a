"""Optional reranking stage: a sentence-transformers CrossEncoder from a local path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Protocol

from assistant.retrieval.hits import SearchHit


class Reranker(Protocol):
    """Reorders hits for a query; returns them best first with new scores."""

    def rerank(self, query: str, hits: list[SearchHit]) -> list[SearchHit]: ...


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a CrossEncoder model loaded from disk."""

    def __init__(self, model_path: Path, num_threads: int = 2) -> None:
        import torch
        from sentence_transformers import CrossEncoder

        if not model_path.exists():
            raise FileNotFoundError(f"reranker model path '{model_path}' does not exist")
        torch.set_num_threads(num_threads)
        self._model = CrossEncoder(str(model_path), device="cpu", local_files_only=True)

    def rerank(self, query: str, hits: list[SearchHit]) -> list[SearchHit]:
        if not hits:
            return hits
        scores = self._model.predict([(query, hit.text) for hit in hits], show_progress_bar=False)
        rescored = [replace(hit, score=float(s)) for hit, s in zip(hits, scores, strict=True)]
        return sorted(rescored, key=lambda hit: -hit.score)


class SentenceScorer(Protocol):
    """Scores every sentence of some hits against a query (``EvidenceRanker``)."""

    def best_sentence_scores(self, query: str, hits: list[SearchHit]) -> list[float]: ...


class SentenceReranker:
    """Reorders the fused candidates by their best sentence as well: a chunk is retrieved
    as a whole, but the answer usually sits in one sentence, whose own similarity to the
    question (and share of its rarer words) says more than the chunk's. The chunk order
    and the best-sentence order are fused by reciprocal rank, so that neither decides
    alone."""

    def __init__(self, scorer: SentenceScorer, rrf_k: int = 10) -> None:
        self._scorer = scorer
        self._rrf_k = rrf_k

    def rerank(self, query: str, hits: list[SearchHit]) -> list[SearchHit]:
        if len(hits) < 2:
            return hits
        best = self._scorer.best_sentence_scores(query, hits)
        by_sentence = sorted(range(len(hits)), key=lambda i: -best[i])
        fused = [1 / (self._rrf_k + rank) for rank in range(len(hits))]
        for rank, i in enumerate(by_sentence):
            fused[i] += 1 / (self._rrf_k + rank)
        order = sorted(range(len(hits)), key=lambda i: -fused[i])
        return [replace(hits[i], score=round(fused[i], 6)) for i in order]
