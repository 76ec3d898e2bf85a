"""What happens to a question before retrieval and the model see it: personal data
is redacted (or the question refused) and prompt-injection sentences are removed."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.security.injection import AttackSimilarity, clean_question
from assistant.security.pii import redact
from assistant.settings import Settings


@dataclass(frozen=True)
class ScreenedQuestion:
    """The question as the rest of the system may see it."""

    original_redacted: str  # what is stored: the user's text, personal data replaced
    text: str  # what is answered: also without the injection sentences ("" = nothing left)
    personal_data: list[str] = field(default_factory=list)
    injection_score: float = 0.0
    injection_signals: list[str] = field(default_factory=list)
    removed_sentences: int = 0

    @property
    def is_attack_only(self) -> bool:
        return not self.text

    def report(self) -> dict:
        """What the API returns about the screening (no personal data in it)."""
        return {
            "personal_data_redacted": self.personal_data,
            "injection_score": self.injection_score,
            "injection_signals": self.injection_signals,
            "sentences_removed": self.removed_sentences,
        }


def screen_question(
    question: str, settings: Settings, known_attacks: AttackSimilarity | None = None
) -> ScreenedQuestion:
    """Redact personal data first (so nothing downstream sees it), then remove attacks
    (``known_attacks``: sentences close to known attacks count as attacks too)."""
    redaction = redact(question) if settings.pii_filter else None
    redacted = redaction.text if redaction else question
    cleaned = clean_question(redacted, settings.injection_threshold, known_attacks)
    return ScreenedQuestion(
        original_redacted=redacted,
        text=cleaned.text,
        personal_data=redaction.kinds if redaction else [],
        injection_score=cleaned.screening.score,
        injection_signals=cleaned.screening.signals,
        removed_sentences=len(cleaned.removed),
    )
