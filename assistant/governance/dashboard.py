"""The administrators' dashboard, computed from the audit log and the stored feedback:
requests and latency over time, refusals, feedback, token use and its estimated cost,
and the questions the documents do not answer well (the content gaps to fill)."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, datetime

from assistant.conversations import ConversationStore
from assistant.generation.sentences import question_key
from assistant.governance.activity import Activity
from assistant.governance.alerts import Alert
from assistant.governance.audit_log import AuditEntry, AuditLog
from assistant.governance.scope import AdminScope
from assistant.settings import Settings

HOUR, DAY = 3600, 86400
# refusals that say the documents lack an answer (not those that stop an attack)
GAP_REASONS = {"retrieval_not_confident", "model_found_nothing"}


def build_dashboard(
    settings: Settings,
    audit: AuditLog,
    conversations: ConversationStore,
    active_alerts: list[Alert],
    days: int = 14,
    now: float | None = None,
    scope: AdminScope | None = None,
) -> dict:
    """Everything the dashboard shows, as JSON-ready data (of ``scope``'s collections)."""
    scope = scope or AdminScope()
    now = time.time() if now is None else now
    step = HOUR if days <= 2 else DAY
    start = (now - days * DAY) // step * step + step
    buckets = {start + i * step: Activity() for i in range(int((now - start) // step) + 1)}
    totals, gaps, recent_alerts = Activity(), _ContentGaps(), []
    for entry in scope.entries(audit.entries(since=start, until=now + 1)):
        moment = _epoch(entry.timestamp)
        bucket = buckets.get(moment // step * step)
        if bucket is not None:
            bucket.add(entry)
        totals.add(entry)
        gaps.add(entry)
        if entry.action.startswith("alert."):
            recent_alerts.append(
                {"at": entry.timestamp, "event": entry.action.split(".")[1], **entry.details}
            )
    per_1000 = settings.cost_per_1000_tokens
    feedback = list(
        scope.feedback(conversations.feedback(25, negative_only=True, since=start), conversations)
    )
    gaps.negative_feedback(feedback)
    return {
        "generated_at": _iso(now),
        "window": {"days": days, "bucket": "hour" if step == HOUR else "day", "from": _iso(start)},
        "totals": _figures(totals, per_1000),
        "series": [{"start": _iso(at)} | _figures(a, per_1000) for at, a in buckets.items()],
        "cost": {
            "unit": settings.cost_unit,
            "per_1000_tokens": per_1000,
            "total": round(totals.tokens * per_1000 / 1000, 3),
        },
        "content_gaps": gaps.top(),
        "feedback": [asdict(item) for item in feedback],
        "open_problems": sum(1 for item in feedback if item.handled_at is None),
        "alerts": {
            "active": [alert.to_dict() for alert in active_alerts],
            "recent": recent_alerts[-20:][::-1],
        },
    }


def _figures(activity: Activity, per_1000_tokens: float) -> dict:
    p50, p95 = activity.latency_percentile(50), activity.latency_percentile(95)
    return {
        "requests": activity.requests,
        "answers": activity.answers,
        "searches": activity.searches,
        "errors": activity.errors,
        "denied": activity.denied,
        "refusals": activity.refusals,
        "refusal_rate": round(activity.refusal_rate, 3) if activity.answers else None,
        "cache_hits": activity.cache_hits,
        "latency_p50_s": round(p50, 2) if p50 is not None else None,
        "latency_p95_s": round(p95, 2) if p95 is not None else None,
        "tokens_in": activity.tokens_in,
        "tokens_out": activity.tokens_out,
        "cost": round(activity.tokens * per_1000_tokens / 1000, 3),
        "feedback_up": activity.feedback_up,
        "feedback_down": activity.feedback_down,
        "problems": activity.problems,
        "feedback_rate": round(activity.rated / activity.answers, 3) if activity.answers else 0.0,
        "injection_attempts": activity.injection_attempts,
        "personal_data": activity.personal_data,
    }


class _ContentGaps:
    """Questions the assistant could not answer from the documents, or whose answer was
    rated down, grouped by their wording."""

    def __init__(self) -> None:
        self._questions: dict[str, dict] = {}
        self._by_message: dict[str, str] = {}

    def add(self, entry: AuditEntry) -> None:
        if entry.action != "chat.answer" or entry.result == "error":
            return
        question = entry.details.get("question") or ""
        if not question:
            return
        key = question_key(question)
        self._by_message[entry.object.removeprefix("message:")] = key
        reason = entry.details.get("refusal_reason")
        if reason in GAP_REASONS:
            self._count(key, question, entry.timestamp, reason)
        elif entry.details.get("fallback") == "extractive":
            self._count(key, question, entry.timestamp, "quoted_only")

    def negative_feedback(self, feedback: list) -> None:
        for item in feedback:
            key = self._by_message.get(item.message_id)
            if key is None and item.question:
                key = question_key(item.question)
            if key:
                reason = "rated_down" if item.rating == "down" else "problem_reported"
                self._count(key, item.question or key, _iso(item.created_at), reason)

    def _count(self, key: str, question: str, when: str, reason: str) -> None:
        gap = self._questions.setdefault(
            key, {"question": question, "count": 0, "last_asked": when, "reasons": defaultdict(int)}
        )
        gap["count"] += 1
        gap["last_asked"] = max(gap["last_asked"], when)
        gap["reasons"][reason] += 1

    def top(self, limit: int = 10) -> list[dict]:
        ranked = sorted(self._questions.values(), key=lambda g: (-g["count"], g["last_asked"]))
        return [g | {"reasons": dict(g["reasons"])} for g in ranked[:limit]]


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")
