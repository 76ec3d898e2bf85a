"""Request and response shapes of the HTTP API (a contract: extend, don't break)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SearchRequest(BaseModel):
    query: str = Field(..., description="De zoekvraag, in het Nederlands of Engels.")
    k: int = Field(5, ge=1, le=50, description="Aantal resultaten.")
    doc_ids: list[str] | None = Field(None, description="Alleen in deze documenten zoeken.")


class SearchResult(BaseModel):
    rank: int
    chunk_id: str
    doc_id: str
    title: str
    section: str
    page: int | None
    text: str
    score: float


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]


class DocumentInfo(BaseModel):
    doc_id: str
    title: str
    publisher: str
    year: int | None
    type: str
    language: str
    chunks: int


class HealthResponse(BaseModel):
    status: str = Field(..., description="'ok', or 'empty' before the first ingest.")
    documents: int
    chunks: int
    corpus_version: str | None = None
    embedding: str
    vector_store: str
    index_updated_at: float | None = None


class ErrorResponse(BaseModel):
    detail: str
