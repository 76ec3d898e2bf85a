"""Administrators only: the dashboard, reported problems and feedback, the audit log.
Every read and change here is itself audited."""

from __future__ import annotations

import io
import time
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from assistant.api.deps import AdminOriginDep, ServicesDep
from assistant.api.schemas import (
    ChainReportOut,
    ErrorResponse,
    FeedbackItem,
    HandleFeedbackRequest,
)
from assistant.conversations import UnknownFeedback
from assistant.governance.charts import dashboard_charts
from assistant.governance.dashboard import build_dashboard
from assistant.governance.export import ExportFormat, write_records

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}},
)
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv"}


@router.get("/dashboard")
async def dashboard(
    services: ServicesDep, who: AdminOriginDep, days: Annotated[int, Query(ge=1, le=90)] = 14
) -> dict:
    """Requests, latency, refusals, feedback, tokens and cost over ``days``, content gaps,
    alerts; ``charts`` holds the same as SVG images (data URIs)."""

    def build() -> dict:
        alerts = services.alerts.check()
        data = build_dashboard(
            services.settings, services.audit, services.conversations, alerts, days
        )
        services.recorder.admin_action(who, "dashboard.view", "dashboard", {"days": days})
        return data | {"charts": dashboard_charts(data)}

    return await run_in_threadpool(build)


@router.get("/feedback", response_model=list[FeedbackItem])
async def list_feedback(
    services: ServicesDep,
    who: AdminOriginDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    state: Annotated[Literal["all", "open", "handled"], Query()] = "all",
    negative_only: bool = False,
) -> list[FeedbackItem]:
    """The latest feedback, newest first, with the question and answer it is about."""
    stored = await run_in_threadpool(
        services.conversations.feedback, limit, status=state, negative_only=negative_only
    )
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


@router.get("/feedback/export", response_class=Response)
async def export_feedback(
    services: ServicesDep,
    who: AdminOriginDep,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
    state: Annotated[Literal["all", "open", "handled"], Query()] = "all",
) -> Response:
    """All feedback and reported problems as JSONL or CSV, for review outside the app."""

    def export() -> str:
        items = services.conversations.feedback(1_000_000, status=state)
        text = _written(
            (FeedbackItem.model_validate(i, from_attributes=True).model_dump() for i in items),
            format,
        )
        services.recorder.admin_action(
            who, "feedback.export", "feedback", {"format": format, "state": state}
        )
        return text

    return _download(await run_in_threadpool(export), format, "feedback")


@router.get("/audit/verify", response_model=ChainReportOut)
async def verify_audit(services: ServicesDep, who: AdminOriginDep) -> ChainReportOut:
    """Check the audit log's hash chain; ``broken_seq`` is the first entry that fails."""
    report = await run_in_threadpool(services.audit.verify)
    await run_in_threadpool(
        services.recorder.admin_action, who, "audit.verify", "audit_log", {"ok": report.ok}
    )
    return ChainReportOut.model_validate(report, from_attributes=True)


@router.get("/audit/export", response_class=Response)
async def export_audit(
    services: ServicesDep,
    who: AdminOriginDep,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
    days: Annotated[int | None, Query(ge=1, le=3650)] = None,
) -> Response:
    """Audit entries (all, or of the last ``days``) as JSONL or CSV, with their hashes."""

    def export() -> str:
        since = time.time() - days * 86400 if days else None
        services.recorder.admin_action(
            who, "audit.export", "audit_log", {"format": format, "days": days}
        )
        return _written((e.to_dict() for e in services.audit.entries(since=since)), format)

    return _download(await run_in_threadpool(export), format, "audit")


def _written(records, fmt: ExportFormat) -> str:
    buffer = io.StringIO()
    write_records(records, buffer, fmt)
    return buffer.getvalue()


def _download(text: str, fmt: str, name: str) -> Response:
    return Response(
        text,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="wegwijzer-{name}.{fmt}"'},
    )
