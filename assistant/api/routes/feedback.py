"""POST /api/feedback: thumbs up or down, a comment, or a reported problem on an answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool

from assistant.api.deps import AdminDep, CallerDep, ServicesDep
from assistant.api.schemas import ErrorResponse, FeedbackItem, FeedbackRequest, FeedbackResponse
from assistant.conversations import UnknownMessage

router = APIRouter(prefix="/api", tags=["feedback"])


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    status_code=status.HTTP_201_CREATED,
    responses={
        401: {"model": ErrorResponse},
        404: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
    },
)
async def feedback(
    request: FeedbackRequest, services: ServicesDep, caller: CallerDep
) -> FeedbackResponse:
    """Store feedback with the conversation, for the administrators to review."""
    comment = (request.comment or "").strip() or None
    if request.rating is None and comment is None and not request.report_problem:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "Geef een duim omhoog of omlaag, een toelichting of meld een probleem.",
        )
    try:
        stored = await run_in_threadpool(
            services.conversations.add_feedback,
            request.message_id,
            request.rating,
            comment,
            request.report_problem,
        )
    except UnknownMessage as exc:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "Dit antwoord bestaat niet (meer); feedback niet opgeslagen."
        ) from exc
    return FeedbackResponse(
        feedback_id=stored.id, message_id=stored.message_id, conversation_id=stored.conversation_id
    )


@router.get(
    "/admin/feedback",
    response_model=list[FeedbackItem],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}},
    tags=["admin"],
)
async def list_feedback(
    services: ServicesDep, admin: AdminDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[FeedbackItem]:
    """The latest feedback, newest first (administrators only)."""
    stored = await run_in_threadpool(services.conversations.feedback, limit)
    return [FeedbackItem.model_validate(item, from_attributes=True) for item in stored]
