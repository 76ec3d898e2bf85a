"""POST /api/chat: a grounded answer with citations, as JSON or as Server-Sent Events."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse

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
IN_FLIGHT = (
    "Je hebt al vragen in behandeling. Wacht tot die beantwoord zijn en stel dan je volgende vraag."
)
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
    scope = await run_in_threadpool(reading_scope, request.collections, caller, services.search)
    ledger = await run_in_threadpool(_Ledger.open, services, caller.identity, who)
    cancelled = threading.Event()
    events = answers.stream(
        request.message,
        request.conversation_id,
        cancelled.is_set,
        collections=scope,
        owner=caller.identity,
    )
    try:
        first = await run_in_threadpool(_first_event, events)
    except BaseException:  # an HTTP error, or a client that left before the first event
        _close(events, cancelled)
        ledger.close(None, None)
        raise
    run = _AnswerRun(first, events, ledger)
    if not request.stream:
        item = await run.last()
        if isinstance(item, LLMUnavailable):
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, LLM_DOWN) from item
        if isinstance(item, Exception):
            raise item
        return _response_body(item)
    return EventSourceResponse(_sse(run, cancelled), ping=15)


class _Ledger:
    """Books one answer: its tokens against the caller's daily quota (reserved before it
    starts, settled when it ends), the answer in the audit log and the metrics, and the
    caller's slot among the answers in flight."""

    def __init__(self, services: Services, identity: str, who: Origin, reserved: int) -> None:
        self._services, self._identity, self._who = services, identity, who
        self._reserved = reserved
        self._closed = False

    @classmethod
    def open(cls, services: Services, identity: str, who: Origin) -> _Ledger:
        """Take a slot and reserve the most an answer can use; 429 when either is gone."""
        try:
            services.in_flight.acquire(identity)
        except RateLimited as exc:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                IN_FLIGHT,
                headers={"Retry-After": str(exc.retry_after_s)},
            ) from exc
        try:
            reserved = services.limits.reserve_tokens(
                identity, services.settings.llm_context_tokens
            )
        except RateLimited as exc:
            services.in_flight.release(identity)
            raise too_many_requests(exc) from exc
        return cls(services, identity, who, reserved)

    def close(self, result: AnswerResult | None, failure: str | None) -> None:
        """Book the answer (or the failure) once, whatever ended it."""
        if self._closed:
            return
        self._closed = True
        services = self._services
        try:
            used = sum(result.usage.values()) if result else 0
            services.limits.settle_tokens(self._identity, self._reserved, used)
            if result is not None:
                services.recorder.answered(self._who, result)
            elif failure is not None:
                services.recorder.answer_failed(self._who, failure)
        finally:
            services.in_flight.release(self._identity)


_END = object()


class _AnswerRun:
    """Runs one answer to its end in a worker thread of its own and books it there, so
    that an answer is audited and charged also when the client leaves halfway (the
    stream then stops at the next token, and the partial answer is what is booked)."""

    def __init__(self, first: AnswerEvent, events: Iterator[AnswerEvent], ledger: _Ledger):
        self._queue: asyncio.Queue = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._ledger = ledger
        threading.Thread(target=self._run, args=(first, events), name="answer", daemon=True).start()

    def _run(self, first: AnswerEvent, events: Iterator[AnswerEvent]) -> None:
        result, failure = None, None
        try:
            for event in itertools.chain([first], events):
                if isinstance(event.data, AnswerResult):
                    result = event.data
                self._put(event)
        except Exception as exc:  # reported to the client by whoever reads the run
            failure = "llm_unavailable" if isinstance(exc, LLMUnavailable) else type(exc).__name__
            self._put(exc)
        finally:
            try:
                self._ledger.close(result, failure)
            finally:
                self._put(_END)

    def _put(self, item: object) -> None:
        with contextlib.suppress(RuntimeError):  # the server is shutting down
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    async def items(self) -> AsyncIterator[AnswerEvent | Exception]:
        """The events as they come, then the exception that ended the run, if any."""
        while (item := await self._queue.get()) is not _END:
            yield item

    async def last(self) -> AnswerResult | Exception:
        """The final result, or the exception that ended the run."""
        last: object = RuntimeError("the answer stream ended without a result")
        async for item in self.items():
            if isinstance(item, Exception) or isinstance(item.data, AnswerResult):
                last = item if isinstance(item, Exception) else item.data
        assert isinstance(last, AnswerResult | Exception)
        return last


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


async def _sse(run: _AnswerRun, cancelled: threading.Event) -> AsyncIterator[dict]:
    try:
        async for item in run.items():
            if isinstance(item, LLMUnavailable):
                yield _error_event(LLM_DOWN)
            elif isinstance(item, Exception):  # a clear error; the server keeps serving
                yield _error_event(
                    "Er ging iets mis bij het maken van het antwoord. Probeer het opnieuw."
                )
            else:
                yield _sse_event(item)
    finally:
        # a client that left stops the generation at the next token; the run still
        # reads the stream to its end, so that the partial answer is booked
        cancelled.set()


def _error_event(detail: str) -> dict:
    return {"event": "error", "data": json.dumps({"detail": detail}, ensure_ascii=False)}


def _close(events: Iterator[AnswerEvent], cancelled: threading.Event) -> None:
    """Stop an answer that never got to its first event and close its generator now, so
    that it releases the model lock at once instead of whenever the garbage collector
    finds it."""
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
