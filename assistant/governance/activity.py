"""Figures over a stretch of the audit log: what the dashboard plots per hour or day,
and what the alerts judge over their window."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from assistant.governance.audit_log import AuditEntry

REQUEST_ACTIONS = ("chat.answer", "search", "feedback.create", "feedback.problem")


@dataclass
class Activity:
    """Counts and latencies of the entries added to it."""

    requests: int = 0
    errors: int = 0
    denied: int = 0
    answers: int = 0
    searches: int = 0
    refusals: int = 0
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    feedback_up: int = 0
    feedback_down: int = 0
    problems: int = 0
    injection_attempts: int = 0
    personal_data: int = 0
    answer_seconds: list[float] = field(default_factory=list)

    def add(self, entry: AuditEntry) -> None:
        """Count one audit entry (entries that are not requests are ignored)."""
        action, details = entry.action, entry.details
        if action in REQUEST_ACTIONS or action.startswith("http."):
            self.requests += 1
        if entry.result == "error":
            self.errors += 1
        elif entry.result == "denied":
            self.denied += 1
        if action == "chat.answer" and entry.result != "error":
            self._add_answer(entry.result, details)
        elif action == "search":
            self.searches += 1
        elif action.startswith("feedback.") and action != "feedback.handle":
            self.feedback_up += details.get("rating") == "up"
            self.feedback_down += details.get("rating") == "down"
            self.problems += bool(details.get("problem"))

    def _add_answer(self, result: str, details: dict) -> None:
        self.answers += 1
        self.refusals += result == "refused"
        self.cache_hits += bool(details.get("cached"))
        usage = details.get("usage") or {}
        self.tokens_in += int(usage.get("prompt_tokens", 0))
        self.tokens_out += int(usage.get("completion_tokens", 0))
        self.injection_attempts += bool(details.get("injection_attempt"))
        self.personal_data += len(
            (details.get("screening") or {}).get("personal_data_redacted", [])
        )
        self.answer_seconds.append((details.get("timings_ms") or {}).get("total", 0) / 1000)

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def refusal_rate(self) -> float:
        return self.refusals / self.answers if self.answers else 0.0

    @property
    def rated(self) -> int:
        return self.feedback_up + self.feedback_down

    @property
    def negative_feedback_rate(self) -> float:
        return self.feedback_down / self.rated if self.rated else 0.0

    def latency_percentile(self, percent: float) -> float | None:
        """Answer latency in seconds at ``percent`` (nearest rank); None without answers."""
        if not self.answer_seconds:
            return None
        ordered = sorted(self.answer_seconds)
        rank = max(1, math.ceil(percent / 100 * len(ordered)))
        return ordered[rank - 1]
