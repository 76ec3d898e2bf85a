"""POST /api/search: retrieval on its own, without generation."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool

from assistant.api.deps import (
    CallerDep,
    LibraryDep,
    OriginDep,
    ServicesDep,
    SettingsDep,
    reading_scope,
)
from assistant.api.schemas import ErrorResponse, SearchRequest, SearchResponse, SearchResult
from assistant.retrieval.search_service import IndexNotReady, UnknownDocuments

router = APIRouter(prefix="/api", tags=["search"])


@router.post(
    "/search",
    response_model=SearchResponse,
    responses={
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
    },
)
async def search(
    request: SearchRequest,
    service: LibraryDep,
    settings: SettingsDep,
    services: ServicesDep,
    caller: CallerDep,
    who: OriginDep,
) -> SearchResponse:
    """Hybrid search (vector + BM25, fused) over the documents of the collections the
    caller may read."""
    query = request.query.strip()
    if not query:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "De zoekvraag is leeg.")
    if len(query) > settings.max_query_chars:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"De zoekvraag is te lang ({len(query)} tekens); "
            f"het maximum is {settings.max_query_chars} tekens.",
        )
    scope = await run_in_threadpool(reading_scope, request.collections, caller, service)
    started = time.perf_counter()
    plan = await run_in_threadpool(services.answers.search_plan, query)
    try:
        hits = await run_in_threadpool(
            service.search, plan.search_query, request.k, request.doc_ids, scope, plan.parts
        )
    except IndexNotReady as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "De documenten zijn nog niet ingelezen. Voer eerst 'wegwijzer ingest' uit.",
        ) from exc
    except UnknownDocuments as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"Onbekende document-id's: {', '.join(exc.unknown)}. "
            f"Bekend zijn: {', '.join(exc.known)}.",
        ) from exc
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    await run_in_threadpool(
        services.recorder.searched,
        who,
        query,
        request.k,
        request.doc_ids,
        hits,
        elapsed_ms,
        scope,
    )
    return SearchResponse(
        query=request.query,
        searched_as=plan.search_query,
        results=[
            SearchResult(
                rank=rank,
                chunk_id=hit.chunk_id,
                doc_id=hit.doc_id,
                title=hit.title,
                section=hit.section,
                page=hit.page,
                text=hit.text,
                score=hit.score,
                collection=hit.collection,
            )
            for rank, hit in enumerate(hits, start=1)
        ],
    )
