"""POST /api/chat: a grounded answer with citations, as JSON or as Server-Sent Events."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool

from assistant.api.deps import AnswerServiceDep
from assistant.api.schemas import ChatRequest, ChatResponse, ErrorResponse
from assistant.conversations import UnknownConversation
from assistant.generation.answer_service import AnswerEvent, AnswerResult, InvalidMessage
from assistant.llm.factory import LLMUnavailable
from assistant.retrieval.search_service import IndexNotReady

router = APIRouter(prefix="/api", tags=["chat"])

LLM_DOWN = (
    "Het taalmodel is op dit moment niet bereikbaar. Probeer het over een paar minuten "
    "opnieuw; blijft het probleem, meld het dan bij de beheerder."
)
INDEX_EMPTY = "De documenten zijn nog niet ingelezen. Voer eerst 'wegwijzer ingest' uit."


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses={
        404: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
        200: {"content": {"text/event-stream": {}}},
    },
)
async def chat(request: ChatRequest, answers: AnswerServiceDep):
    """Answer from the documents only, with numbered citations (stream=true: SSE events
    `token`, then `citations`, then `done`; `error` if it fails halfway)."""
    cancelled = threading.Event()
    events = answers.stream(request.message, request.conversation_id, cancelled.is_set)
    first = await run_in_threadpool(_first_event, events)
    if not request.stream:
        result = first if isinstance(first, AnswerResult) else None
        if result is None:
            result = await run_in_threadpool(_final_result, first, events)
        return result.to_dict()
    return EventSourceResponse(_sse(first, events, cancelled), ping=15)


def _first_event(events: Iterator[AnswerEvent]) -> AnswerEvent:
    """Run up to the first event, turning the errors before it into HTTP errors."""
    try:
        return next(events)
    except InvalidMessage as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except UnknownConversation as exc:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "Dit gesprek bestaat niet (meer). Begin een nieuw gesprek.",
        ) from exc
    except IndexNotReady as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, INDEX_EMPTY) from exc
    except LLMUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, LLM_DOWN) from exc


def _final_result(first: AnswerEvent, events: Iterator[AnswerEvent]) -> AnswerResult:
    for event in [first, *events]:
        if event.kind == "done":
            assert isinstance(event.data, AnswerResult)
            return event.data
    raise RuntimeError("the answer stream ended without a result")


async def _sse(
    first: AnswerEvent, events: Iterator[AnswerEvent], cancelled: threading.Event
) -> AsyncIterator[dict]:
    try:
        yield _sse_event(first)
        async for event in iterate_in_threadpool(events):
            yield _sse_event(event)
    except LLMUnavailable:
        yield {"event": "error", "data": json.dumps({"detail": LLM_DOWN}, ensure_ascii=False)}
    except Exception:  # the client sees a clear error, the server keeps serving
        detail = "Er ging iets mis bij het maken van het antwoord. Probeer het opnieuw."
        yield {"event": "error", "data": json.dumps({"detail": detail}, ensure_ascii=False)}
    finally:
        cancelled.set()  # a client that disconnected stops the generation


def _sse_event(event: AnswerEvent) -> dict:
    if event.kind == "token":
        data = json.dumps({"text": event.data}, ensure_ascii=False)
    elif event.kind == "citations":
        data = json.dumps({"citations": event.data}, ensure_ascii=False)
    else:
        assert isinstance(event.data, AnswerResult)
        data = json.dumps(event.data.to_dict(), ensure_ascii=False)
    return {"event": event.kind, "data": data}
