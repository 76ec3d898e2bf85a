"""Prometheus metrics of one server process, in a registry of its own (prometheus-client).

The names below are a contract with ``deploy/prometheus`` and ``deploy/grafana``.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
disable_created_metrics()  # no *_created series: they only add noise to dashboards
_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)


class Metrics:
    """Counters, histograms and gauges for requests, answers, screening and feedback."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "wegwijzer_http_requests",
            "HTTP requests by endpoint (route template), method and status code.",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "wegwijzer_http_request_duration_seconds",
            "Time to the end of the HTTP response, by endpoint.",
            ["endpoint"],
            buckets=_SECONDS,
            registry=r,
        )
        self.retrieval_seconds = Histogram(
            "wegwijzer_retrieval_duration_seconds",
            "Retrieval time per search or answer.",
            buckets=_SECONDS,
            registry=r,
        )
        self.generation_seconds = Histogram(
            "wegwijzer_generation_duration_seconds",
            "Model time per generated answer (not for refusals without the model).",
            buckets=_SECONDS,
            registry=r,
        )
        self.answer_seconds = Histogram(
            "wegwijzer_answer_duration_seconds",
            "Total time per answer, from question to verified citations.",
            buckets=_SECONDS,
            registry=r,
        )
        self.tokens = Counter(
            "wegwijzer_llm_tokens",
            "Model tokens: direction 'in' (prompt) or 'out' (completion).",
            ["direction"],
            registry=r,
        )
        self.answers = Counter(
            "wegwijzer_answers",
            "Answers by result: answered or refused.",
            ["result"],
            registry=r,
        )
        self.cache_hits = Counter(
            "wegwijzer_answer_cache_hits", "Answers served from the answer cache.", registry=r
        )
        self.refusals = Counter(
            "wegwijzer_refusals", "Refused answers by reason.", ["reason"], registry=r
        )
        self.injections = Counter(
            "wegwijzer_injection_detections",
            "Prompt-injection detections: in a question or in a retrieved passage.",
            ["where"],
            registry=r,
        )
        self.personal_data = Counter(
            "wegwijzer_pii_detections",
            "Personal data found (and redacted) in questions, by kind.",
            ["kind"],
            registry=r,
        )
        self.feedback = Counter(
            "wegwijzer_feedback",
            "Feedback by kind: up, down, problem, comment.",
            ["kind"],
            registry=r,
        )
        self.llm_available = Gauge(
            "wegwijzer_llm_backend_available",
            "1 when the language model backend can answer, else 0.",
            ["backend"],
            registry=r,
        )
        self.llm_generating = Gauge(
            "wegwijzer_llm_generating",
            "1 while the language model is in use (an answer or a short side call), else 0.",
            registry=r,
        )
        self.llm_waiting = Gauge(
            "wegwijzer_llm_waiting",
            "Questions waiting for the language model (at most llm_queue_size).",
            registry=r,
        )
        self.alerts_active = Gauge(
            "wegwijzer_alerts_active",
            "1 while an alert's threshold is exceeded, else 0.",
            ["alert"],
            registry=r,
        )

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
