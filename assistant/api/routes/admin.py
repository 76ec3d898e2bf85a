"""Administrators only: the dashboard, reported problems and feedback, the audit log.
Every read and change here is itself audited."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from assistant.api.access import Principal
from assistant.api.deps import AdminDep, AdminOriginDep, ServicesDep
from assistant.api.schemas import (
    ChainReportOut,
    ErrorResponse,
    FeedbackItem,
    HandleFeedbackRequest,
)
from assistant.conversations import UnknownFeedback
from assistant.governance.audit_anchor import AnchorError, read_anchors
from assistant.governance.audit_log import ChainReport
from assistant.governance.charts import dashboard_charts
from assistant.governance.dashboard import build_dashboard
from assistant.governance.export import export_chunks
from assistant.governance.scope import AdminScope

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}},
)
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
UNREADABLE_ANCHORS = (
    "Het ankerbestand van het auditlog is niet te lezen; controleer het met "
    "'wegwijzer audit verify'."
)


@router.get("/dashboard")
async def dashboard(
    services: ServicesDep,
    admin: AdminDep,
    who: AdminOriginDep,
    days: Annotated[int, Query(ge=1, le=90)] = 14,
) -> dict:
    """Requests, latency, refusals, feedback, tokens and cost over ``days``, content gaps,
    alerts; ``charts`` holds the same as SVG images (data URIs)."""

    def build() -> dict:
        alerts = services.alerts.check()
        data = build_dashboard(
            services.settings,
            services.audit,
            services.conversations,
            alerts,
            days,
            scope=_scope(admin),
        )
        services.recorder.admin_action(who, "dashboard.view", "dashboard", {"days": days})
        return data | {"charts": dashboard_charts(data)}

    return await run_in_threadpool(build)


@router.get("/feedback", response_model=list[FeedbackItem])
async def list_feedback(
    services: ServicesDep,
    admin: AdminDep,
    who: AdminOriginDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    state: Annotated[Literal["all", "open", "handled"], Query()] = "all",
    negative_only: bool = False,
) -> list[FeedbackItem]:
    """The latest feedback, newest first, with the question and answer it is about (of
    the admin's own collections, for an admin bound to some)."""

    def read() -> list:
        services.recorder.admin_action(
            who, "feedback.view", "feedback", {"state": state, "negative_only": negative_only}
        )
        conversations, scope = services.conversations, _scope(admin)
        if scope.collections is None:
            return conversations.feedback(limit, status=state, negative_only=negative_only)
        items = (
            item
            for item in conversations.iter_feedback(status=state)
            if item.negative or not negative_only
        )
        return list(itertools.islice(scope.feedback(items, conversations), limit))

    stored = await run_in_threadpool(read)
    return [FeedbackItem.model_validate(item, from_attributes=True) for item in stored]


@router.post(
    "/feedback/{feedback_id}/handled",
    response_model=FeedbackItem,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
async def handle_feedback(
    feedback_id: str, request: HandleFeedbackRequest, services: ServicesDep, who: AdminOriginDep
) -> FeedbackItem:
    """Mark a reported problem or feedback as handled, with what was done about it."""
    note = request.note.strip()
    if not note:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "Schrijf kort wat er is gedaan.")
    try:
        item = await run_in_threadpool(
            services.conversations.handle_feedback, feedback_id, note, who.actor
        )
    except UnknownFeedback as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Deze feedback bestaat niet.") from exc
    await run_in_threadpool(
        services.recorder.admin_action,
        who,
        "feedback.handle",
        f"feedback:{feedback_id}",
        {"note": note},
    )
    return FeedbackItem.model_validate(item, from_attributes=True)


@router.get("/feedback/export", response_class=StreamingResponse)
async def export_feedback(
    services: ServicesDep,
    admin: AdminDep,
    who: AdminOriginDep,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
    state: Annotated[Literal["all", "open", "handled"], Query()] = "all",
) -> StreamingResponse:
    """All feedback and reported problems as JSONL or CSV, for review outside the app
    (streamed as it is read)."""
    await run_in_threadpool(
        services.recorder.admin_action,
        who,
        "feedback.export",
        "feedback",
        {"format": format, "state": state},
    )
    items = _scope(admin).feedback(
        services.conversations.iter_feedback(status=state), services.conversations
    )
    records = (FeedbackItem.model_validate(i, from_attributes=True).model_dump() for i in items)
    return await _download(export_chunks(records, format), format, "feedback")


@router.get("/audit/verify", response_model=ChainReportOut)
async def verify_audit(services: ServicesDep, who: AdminOriginDep) -> ChainReportOut:
    """Check the audit log's hash chain, and that every anchored head
    (``WEGWIJZER_AUDIT_ANCHOR_PATH``, written by ``wegwijzer audit anchor``) is still in
    it; ``broken_seq`` is the first entry that fails."""

    def verify() -> ChainReport:
        path = services.settings.audit_anchor_path
        try:
            anchors = read_anchors(path) if path is not None and path.exists() else []
        except AnchorError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNREADABLE_ANCHORS) from exc
        return services.audit.verify(anchors)

    report = await run_in_threadpool(verify)
    await run_in_threadpool(
        services.recorder.admin_action, who, "audit.verify", "audit_log", {"ok": report.ok}
    )
    return ChainReportOut.model_validate(report, from_attributes=True)


@router.get("/audit/export", response_class=StreamingResponse)
async def export_audit(
    services: ServicesDep,
    admin: AdminDep,
    who: AdminOriginDep,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
    days: Annotated[int | None, Query(ge=1, le=3650)] = None,
) -> StreamingResponse:
    """Audit entries (all, or of the last ``days``) as JSONL or CSV, with their hashes
    (streamed as they are read)."""
    since = time.time() - days * 86400 if days else None
    await run_in_threadpool(
        services.recorder.admin_action,
        who,
        "audit.export",
        "audit_log",
        {"format": format, "days": days},
    )
    entries = _scope(admin).entries(services.audit.entries(since=since))
    return await _download(export_chunks((e.to_dict() for e in entries), format), format, "audit")


def _scope(admin: Principal) -> AdminScope:
    return AdminScope.bound_to(admin.collections)


async def _download(chunks: Generator[bytes, None, None], fmt: str, name: str) -> StreamingResponse:
    """A streamed download. The chunks are made in one worker thread of their own (a
    SQLite cursor may only be used by the thread that opened it; Starlette would use
    any), and the first before the response starts, so that a failure to read at all
    is an error response rather than a cut-off file."""
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"export-{name}")
    loop = asyncio.get_running_loop()

    async def step() -> bytes | None:
        return await loop.run_in_executor(worker, next, chunks, None)

    def close() -> None:
        worker.submit(chunks.close)  # in the thread that advanced it
        worker.shutdown(wait=False)

    try:
        first = await step()
    except BaseException:
        close()
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            chunk = first
            while chunk is not None:
                yield chunk
                chunk = await step()
        finally:
            close()

    return StreamingResponse(
        body(),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="wegwijzer-{name}.{fmt}"'},
    )
