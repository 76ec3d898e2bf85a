"""GET /api/health and GET /api/documents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from assistant.api.deps import LibraryDep, ServicesDep, SettingsDep, may_open
from assistant.api.schemas import DocumentInfo, HealthResponse
from assistant.settings import COLLECTION_NAME

router = APIRouter(prefix="/api", tags=["status"])


@router.get("/health", response_model=HealthResponse)
def health(search: LibraryDep, settings: SettingsDep, services: ServicesDep) -> HealthResponse:
    """Whether the assistant is up, what its index holds, and whether the LLM can answer."""
    state = search.state()
    llm = services.llm.status()
    store = (
        f"chroma-http://{settings.chroma_host}:{settings.chroma_port}"
        if settings.chroma_mode == "http"
        else "chroma-embedded"
    )
    return HealthResponse(
        status=("ok" if llm["available"] else "degraded") if state else "empty",
        llm=llm,
        documents=len(state.documents) if state else 0,
        chunks=state.chunk_count if state else 0,
        corpus_version=state.corpus_version if state else None,
        embedding=settings.embedding_id,
        vector_store=store,
        index_updated_at=state.updated_at if state else None,
    )


@router.get("/documents", response_model=list[DocumentInfo])
def documents(
    request: Request,
    search: LibraryDep,
    services: ServicesDep,
    collection: Annotated[
        str | None, Query(pattern=COLLECTION_NAME, description="Default: the shared one.")
    ] = None,
) -> list[DocumentInfo]:
    """The documents the assistant answers from (of one collection)."""
    state = search.state(may_open(request, services, collection))
    if state is None:
        return []
    return [
        DocumentInfo(
            doc_id=doc.doc_id,
            title=doc.title,
            publisher=doc.publisher,
            year=doc.year,
            type=doc.type,
            language=doc.language,
            chunks=doc.chunks,
        )
        for doc in sorted(state.documents.values(), key=lambda d: d.doc_id)
    ]
