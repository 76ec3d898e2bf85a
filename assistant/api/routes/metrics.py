"""GET /metrics: Prometheus text format, for a metrics key (Prometheus sends it as a
bearer token) or an administrator."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from assistant.api.deps import MetricsReaderDep, ServicesDep
from assistant.governance.metrics import CONTENT_TYPE

router = APIRouter(tags=["admin"])


@router.get("/metrics", response_class=Response)
async def metrics(services: ServicesDep, reader: MetricsReaderDep) -> Response:
    """Requests, latencies, tokens, cache hits, refusals, detections, feedback, LLM
    availability and queue, and active alerts."""
    status = await run_in_threadpool(services.llm.status)
    await run_in_threadpool(services.alerts.check)  # judged fresh at every scrape
    metrics = services.recorder.metrics
    metrics.llm_available.labels(str(status["active"])).set(1 if status["available"] else 0)
    gate = services.answers.gate
    metrics.llm_generating.set(1 if gate.busy else 0)
    metrics.llm_waiting.set(gate.waiting)
    return Response(metrics.exposition(), media_type=CONTENT_TYPE)
