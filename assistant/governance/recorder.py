"""Turns what happened (an answer, a search, feedback, a refused request, an admin action)
into an audit entry and metrics, in one place, with personal data redacted."""

from __future__ import annotations

from assistant.conversations import Feedback
from assistant.generation.answer_service import AnswerResult
from assistant.governance.audit_log import AuditLog, Origin
from assistant.governance.metrics import Metrics
from assistant.governance.refusals import RefusalDigest, RepeatedRefusals
from assistant.retrieval.hits import SearchHit
from assistant.security.pii import redact


class Recorder:
    """Writes the audit log (AI Act art. 12, BIO logging) and updates the metrics."""

    def __init__(
        self, audit: AuditLog, metrics: Metrics, refusals: RefusalDigest | None = None
    ) -> None:
        self.audit = audit
        self.metrics = metrics
        self._refusals = refusals or RefusalDigest()

    def answered(self, who: Origin, result: AnswerResult) -> None:
        """A question and its answer (or refusal), with everything needed to explain it."""
        m = self.metrics
        outcome = "refused" if result.refused else "answered"
        m.answers.labels(outcome).inc()
        if result.refusal_reason:
            m.refusals.labels(result.refusal_reason).inc()
        if result.cached:
            m.cache_hits.inc()
        m.tokens.labels("in").inc(result.usage.get("prompt_tokens", 0))
        m.tokens.labels("out").inc(result.usage.get("completion_tokens", 0))
        timings = result.timings_ms
        m.answer_seconds.observe(timings.get("total", 0) / 1000)
        if not result.cached:
            m.retrieval_seconds.observe(timings.get("retrieval", 0) / 1000)
        if result.usage.get("completion_tokens", 0) and not result.cached:
            m.generation_seconds.observe(timings.get("generation", 0) / 1000)
        screening = result.screening
        injection_attempt = _injection_attempt(result)
        if injection_attempt:
            m.injections.labels("question").inc()
        if screening.get("passages_flagged"):
            m.injections.labels("passage").inc(screening["passages_flagged"])
        for kind in screening.get("personal_data_redacted", []):
            m.personal_data.labels(kind).inc()
        self.audit.append(
            who,
            action="chat.answer",
            object=f"message:{result.message_id}",
            result=outcome,
            details={
                "conversation_id": result.conversation_id,
                "collections": result.collections,
                "question": result.question,
                "answer": redact(result.answer).text,
                "language": result.language,
                "retrieved": result.retrieved,
                "citations": [c["chunk_id"] for c in result.citations],
                "model": result.model,
                "prompt_version": result.prompt_version,
                "corpus_version": result.corpus_version,
                "timings_ms": timings,
                "usage": result.usage,
                "refusal_reason": result.refusal_reason,
                "fallback": result.fallback,
                "answer_mode": result.answer_mode,  # quoted from the documents, or written
                "cached": result.cached,
                "unsupported_sentences": result.unsupported_sentences,
                "injection_attempt": injection_attempt,
                "screening": screening,
            },
        )

    def answer_failed(self, who: Origin, detail: str) -> None:
        """A streamed answer that broke off after it started."""
        self.audit.append(
            who,
            action="chat.answer",
            object="message:",
            result="error",
            details={"detail": detail},
        )

    def searched(
        self,
        who: Origin,
        query: str,
        k: int,
        doc_ids: list[str] | None,
        hits: list[SearchHit],
        elapsed_ms: int,
        collections: list[str] | None = None,
    ) -> None:
        """A search without generation."""
        self.metrics.retrieval_seconds.observe(elapsed_ms / 1000)
        self.audit.append(
            who,
            action="search",
            object="index",
            result="success",
            details={
                "query": redact(query).text,
                "k": k,
                "doc_ids": doc_ids,
                "results": [hit.chunk_id for hit in hits],
                "timings_ms": {"retrieval": elapsed_ms, "total": elapsed_ms},
                "collections": collections or sorted({hit.collection for hit in hits}),
            },
        )

    def feedback_given(self, who: Origin, feedback: Feedback) -> None:
        """Thumbs up or down, a comment, or a reported problem (AI Act art. 72)."""
        for kind, present in (
            (feedback.rating, feedback.rating is not None),
            ("problem", feedback.problem),
            ("comment", bool(feedback.comment)),
        ):
            if present and kind:
                self.metrics.feedback.labels(kind).inc()
        self.audit.append(
            who,
            action="feedback.problem" if feedback.problem else "feedback.create",
            object=f"message:{feedback.message_id}",
            result="success",
            details={
                "feedback_id": feedback.id,
                "rating": feedback.rating,
                "problem": feedback.problem,
                "comment": redact(feedback.comment).text if feedback.comment else None,
            },
        )

    def request_refused(self, who: Origin, method: str, path: str, status: int) -> None:
        """A request that did not succeed: denied, rate-limited, invalid or failed. The
        first of a caller, address and status in a minute is audited on its own; the rest
        are counted, and audited as one entry when the minute is over."""
        on_its_own, repeated = self._refusals.record(who, path, status)
        self._audit_repeated(repeated)
        if on_its_own:
            self.audit.append(
                who,
                action=f"http.{method.lower()}",
                object=path,
                result="error" if status >= 500 else "denied",
                details={"status": status},
            )

    def flush_refusals(self) -> None:
        """Audit the counts of repeated refusals whose minute is over."""
        self._audit_repeated(self._refusals.due())

    def _audit_repeated(self, repeated: list[RepeatedRefusals]) -> None:
        for item in repeated:
            self.audit.append(
                item.who,
                action="http.refused.repeated",
                object=item.paths[0] if item.paths else "",
                result="error" if item.status >= 500 else "denied",
                details={
                    "status": item.status,
                    "repeated": item.count,
                    "first_at": item.started,
                    "last_at": item.last,
                    "paths": item.paths,
                },
            )

    def admin_action(
        self, who: Origin, action: str, object: str, details: dict | None = None
    ) -> None:
        """Something an administrator did or read: exports, handled incidents, keys."""
        self.audit.append(
            who,
            action=action,
            object=object,
            result="success",
            details=details or {},
        )


def _injection_attempt(result: AnswerResult) -> bool:
    return bool(
        result.screening.get("sentences_removed") or result.refusal_reason == "prompt_injection"
    )
