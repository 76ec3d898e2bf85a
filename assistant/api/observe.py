"""Counts and times every HTTP request, and audits the ones that did not succeed (pure ASGI).

Successful answers, searches and feedback are audited by their routes, with their
content; this middleware adds the refused ones (401, 403, 413, 422, 429, 5xx), which
the BIO wants logged too.
"""

from __future__ import annotations

import logging
import time

import anyio
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.access import client_address
from assistant.governance.audit_log import Origin

log = logging.getLogger(__name__)
AUDITED_PREFIXES = ("/api/", "/metrics", "/beheer")


class RequestObserver:
    """Request metrics by route template, method and status; audit of refused requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            await self._observe(scope, status, time.perf_counter() - started)

    async def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        services = getattr(scope["app"].state, "services", None)
        if services is None:  # not started yet
            return
        route = scope.get("route")
        path: str = scope.get("path", "")
        endpoint = getattr(route, "path", None) or (
            "/static" if path.startswith("/static/") else "other"
        )
        metrics = services.recorder.metrics
        metrics.requests.labels(endpoint, scope["method"], str(status)).inc()
        metrics.request_seconds.labels(endpoint).observe(seconds)
        if status < 400 or not path.startswith(AUDITED_PREFIXES):
            return
        who = who_asked(scope)
        try:
            await anyio.to_thread.run_sync(
                services.recorder.request_refused, who, scope["method"], path, status
            )
        except Exception:  # the response is gone already; say so in the server log
            log.exception("could not write the audit entry for %s %s", scope["method"], path)


def who_asked(scope: Scope) -> Origin:
    """The caller as identified for this request (or anonymous) and the client address
    (behind a trusted proxy: the one it forwarded)."""
    principal = scope.get("state", {}).get("principal")
    return Origin(
        actor=principal.identity if principal is not None else "anonymous",
        origin=f"api:{address_of(scope)}",
    )


def address_of(scope: Scope) -> str:
    """The client address of a request, read through the trusted proxies."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    services = getattr(scope["app"].state, "services", None)
    if services is None:
        return peer
    forwarded = Headers(scope=scope).get("x-forwarded-for")
    return client_address(peer, forwarded, services.settings.trusted_proxies)
