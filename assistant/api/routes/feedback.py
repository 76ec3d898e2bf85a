"""POST /api/feedback: thumbs up or down, a comment, or a reported problem on an answer."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool

from assistant.api.deps import OriginDep, ServicesDep
from assistant.api.schemas import ErrorResponse, FeedbackRequest, FeedbackResponse
from assistant.conversations import UnknownMessage
from assistant.security.pii import redact

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
    request: FeedbackRequest, services: ServicesDep, who: OriginDep
) -> FeedbackResponse:
    """Store feedback with the conversation, for the administrators to review; personal
    data in the comment is replaced, as in a question (a comment is never refused)."""
    comment = (request.comment or "").strip() or None
    if comment is not None and services.settings.pii_filter:
        comment = redact(comment).text
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
    await run_in_threadpool(services.recorder.feedback_given, who, stored)
    return FeedbackResponse(
        feedback_id=stored.id, message_id=stored.message_id, conversation_id=stored.conversation_id
    )
