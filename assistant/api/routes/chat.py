"""POST /api/chat: a grounded answer with citations, as JSON or as Server-Sent Events."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool

from assistant.api.deps import (
    AnswerServiceDep,
    CallerDep,
    OriginDep,
    ServicesDep,
    reading_scope,
    too_many_requests,
)
from assistant.api.schemas import ChatRequest, ChatResponse, ErrorResponse
from assistant.conversations import UnknownConversation
from assistant.generation.answer_service import AnswerEvent, AnswerResult, InvalidMessage
from assistant.governance.audit_log import Origin
from assistant.llm.factory import LLMUnavailable
from assistant.llm.gate import ModelBusy
from assistant.retrieval.search_service import IndexNotReady
from assistant.security.rate_limits import RateLimited
from assistant.services import Services
from assistant.ui.answer_html import answer_html

router = APIRouter(prefix="/api", tags=["chat"])

LLM_DOWN = (
    "Het taalmodel is op dit moment niet bereikbaar. Probeer het over een paar minuten "
    "opnieuw; blijft het probleem, meld het dan bij de beheerder."
)
INDEX_EMPTY = "De documenten zijn nog niet ingelezen. Voer eerst 'wegwijzer ingest' uit."
BUSY = (
    "Het is op dit moment erg druk: er wachten al veel vragen op het taalmodel. "
    "Probeer het over een minuut opnieuw."
)


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses={
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        404: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
        200: {"content": {"text/event-stream": {}}},
    },
)
async def chat(
    request: ChatRequest,
    answers: AnswerServiceDep,
    services: ServicesDep,
    caller: CallerDep,
    who: OriginDep,
):
    """Answer from the documents only, with numbered citations (stream=true: SSE events
    `token`, then `citations`, then `done`; `error` if it fails halfway)."""
    try:
        services.limits.check_tokens(caller.identity)
    except RateLimited as exc:
        raise too_many_requests(exc) from exc
    scope = await run_in_threadpool(reading_scope, request.collections, caller, services.search)
    ledger = _Ledger(services, caller.identity, who)
    cancelled = threading.Event()
    events = answers.stream(
        request.message, request.conversation_id, cancelled.is_set, collections=scope
    )
    try:
        first = await run_in_threadpool(_first_event, events)
    except BaseException:  # an HTTP error, or a client that left before the first event
        _close(events, cancelled)
        raise
    if not request.stream:
        result = first if isinstance(first, AnswerResult) else None
        if result is None:
            result = await run_in_threadpool(_final_result, first, events)
        await run_in_threadpool(ledger.answered, result)
        return _response_body(result)
    return EventSourceResponse(_sse(first, events, cancelled, ledger), ping=15)


class _Ledger:
    """Books a finished answer: its tokens against the caller's daily quota, and the
    answer itself in the audit log and the metrics."""

    def __init__(self, services: Services, identity: str, who: Origin) -> None:
        self._services, self._identity, self._who = services, identity, who

    def answered(self, result: AnswerResult) -> None:
        self._services.limits.spend_tokens(self._identity, sum(result.usage.values()))
        self._services.recorder.answered(self._who, result)

    def failed(self, detail: str) -> None:
        self._services.recorder.answer_failed(self._who, detail)


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
    except ModelBusy as exc:
        raise HTTPException(  # 429: the client may retry; the server itself is fine
            status.HTTP_429_TOO_MANY_REQUESTS,
            BUSY,
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from exc


def _final_result(first: AnswerEvent, events: Iterator[AnswerEvent]) -> AnswerResult:
    for event in [first, *events]:
        if event.kind == "done":
            assert isinstance(event.data, AnswerResult)
            return event.data
    raise RuntimeError("the answer stream ended without a result")


async def _sse(
    first: AnswerEvent,
    events: Iterator[AnswerEvent],
    cancelled: threading.Event,
    ledger: _Ledger,
) -> AsyncIterator[dict]:
    try:
        yield _sse_event(first)
        async for event in iterate_in_threadpool(events):
            if isinstance(event.data, AnswerResult):
                await run_in_threadpool(ledger.answered, event.data)
            yield _sse_event(event)
    except LLMUnavailable:
        await run_in_threadpool(ledger.failed, "llm_unavailable")
        yield {"event": "error", "data": json.dumps({"detail": LLM_DOWN}, ensure_ascii=False)}
    except Exception as exc:  # the client sees a clear error, the server keeps serving
        await run_in_threadpool(ledger.failed, type(exc).__name__)
        detail = "Er ging iets mis bij het maken van het antwoord. Probeer het opnieuw."
        yield {"event": "error", "data": json.dumps({"detail": detail}, ensure_ascii=False)}
    finally:
        _close(events, cancelled)  # a client that disconnected stops the generation


def _close(events: Iterator[AnswerEvent], cancelled: threading.Event) -> None:
    """Stop the answer and close its generator now, so that it releases the model lock
    at once instead of whenever the garbage collector finds it."""
    cancelled.set()
    # ValueError: still running in a worker thread, where it sees `cancelled` and stops
    with contextlib.suppress(ValueError):
        events.close()


def _sse_event(event: AnswerEvent) -> dict:
    if event.kind == "token":
        data = json.dumps({"text": event.data}, ensure_ascii=False)
    elif event.kind == "citations":
        data = json.dumps({"citations": event.data}, ensure_ascii=False)
    else:
        assert isinstance(event.data, AnswerResult)
        data = json.dumps(_response_body(event.data), ensure_ascii=False)
    return {"event": event.kind, "data": data}


def _response_body(result: AnswerResult) -> dict:
    """The result as the API returns it, with the answer also as safe HTML for the UI."""
    body = result.to_dict()
    body["answer_html"] = answer_html(result.answer, {c["n"] for c in result.citations})
    return body
