"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from assistant import __version__
from assistant.api.access import open_bind_problem, warn_about_access
from assistant.api.docs import add_api_docs
from assistant.api.middleware import BodySizeLimit, SecurityHeaders
from assistant.api.observe import RequestObserver
from assistant.api.routes import admin, chat, feedback, health, metrics, pages, search
from assistant.governance.alerts import AlertMonitor
from assistant.governance.recorder import Recorder
from assistant.services import Services, build_services
from assistant.settings import Settings


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app; services are created at start-up unless given."""
    settings = settings or (services.settings if services else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = services or build_services(settings)
        problem = open_bind_problem(settings, built.keys)
        if problem:
            raise RuntimeError(problem)
        warn_about_access(settings, built.keys)
        app.state.services = built
        watcher = asyncio.create_task(_watch_alerts(built.alerts, built.recorder))
        yield
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher

    app = FastAPI(
        title="AI-wegwijzer",
        version=__version__,
        description=(
            "Vraag-en-antwoordassistent over de VNG/TNO-documenten over AI bij gemeenten. "
            "Antwoorden komen alleen uit de documenten, met bronvermelding."
        ),
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load from a CDN: ours in assistant/api/docs.py
        redoc_url=None,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    if settings.cors_origins:  # no CORS at all unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestObserver)
    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(chat.router)
    app.include_router(feedback.router)
    app.include_router(admin.router)
    app.include_router(metrics.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    if settings.api_docs:
        add_api_docs(app)
    return app


ALERT_CHECK_INTERVAL_S = 60


async def _watch_alerts(alerts: AlertMonitor, recorder: Recorder) -> None:
    """Judge the alert thresholds every minute, so that an alert reaches the log even
    when nobody has the dashboard open; and audit the counts of repeated refusals."""
    while True:
        await asyncio.sleep(ALERT_CHECK_INTERVAL_S)
        try:
            await anyio.to_thread.run_sync(alerts.check)
            await anyio.to_thread.run_sync(recorder.flush_refusals)
        except Exception:
            logging.getLogger(__name__).exception("checking the alerts failed")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Validation errors with a Dutch summary, keeping FastAPI's details for developers."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    fields = ", ".join(".".join(str(p) for p in e.get("loc", ()) if p != "body") for e in errors)
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={
            "detail": f"Ongeldige aanvraag: controleer {fields or 'de invoer'}.",
            "errors": [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors],
        },
    )
