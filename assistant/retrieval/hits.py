"""A search result as every layer above retrieval sees it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchHit:
    """One retrieved chunk with its citation metadata and fused score."""

    chunk_id: str
    doc_id: str
    title: str
    section: str
    page: int | None
    position: int
    text: str
    score: float
    collection: str = ""
