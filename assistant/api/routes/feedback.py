"""POST /api/feedback: thumbs up or down, a comment, or a reported problem on an answer."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool

from assistant.api.deps import CallerDep, OriginDep, ServicesDep
from assistant.api.schemas import ErrorResponse, FeedbackRequest, FeedbackResponse
from assistant.conversations import Feedback, UnknownMessage
from assistant.security.pii import redact
from assistant.services import Services

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
    request: FeedbackRequest, services: ServicesDep, caller: CallerDep, who: OriginDep
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
            _add_own_feedback, services, caller.identity, request, comment
        )
    except UnknownMessage as exc:  # also another caller's answer: as if it did not exist
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "Dit antwoord bestaat niet (meer); feedback niet opgeslagen."
        ) from exc
    await run_in_threadpool(services.recorder.feedback_given, who, stored)
    return FeedbackResponse(
        feedback_id=stored.id, message_id=stored.message_id, conversation_id=stored.conversation_id
    )


def _add_own_feedback(
    services: Services, identity: str, request: FeedbackRequest, comment: str | None
) -> Feedback:
    """Feedback on one of the caller's own answers; ``UnknownMessage`` for another's."""
    conversations = services.conversations
    if conversations.message_owner(request.message_id) != identity:
        raise UnknownMessage(request.message_id)
    return conversations.add_feedback(
        request.message_id, request.rating, comment, request.report_problem
    )
