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
