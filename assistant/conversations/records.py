"""What every conversation store keeps, and the interface both stores implement."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol


class UnknownConversation(KeyError):
    """No conversation with this id exists."""


class UnknownMessage(KeyError):
    """No answer with this message id exists."""


class UnknownFeedback(KeyError):
    """No feedback with this id exists."""


@dataclass(frozen=True)
class Feedback:
    """A user's judgement of one answer, kept with its conversation for administrators."""

    id: str
    message_id: str
    conversation_id: str
    rating: str | None
    comment: str | None
    problem: bool
    created_at: float
    handled_at: float | None = None
    handled_by: str | None = None
    handling_note: str | None = None
    question: str | None = None
    answer: str | None = None

    @property
    def negative(self) -> bool:
        return self.rating == "down" or self.problem


@dataclass(frozen=True)
class Turn:
    """One earlier question and answer of a conversation."""

    question: str
    answer: str


@dataclass(frozen=True)
class Pruned:
    """What a retention run removed."""

    conversations: int
    messages: int
    feedback: int
    cached_answers: int


FEEDBACK_STATES = ("all", "open", "handled")


def feedback_matches(item: Feedback, status: str, negative_only: bool) -> bool:
    """The feedback filter both stores apply: ``status`` all/open/handled."""
    if status == "open" and item.handled_at is not None:
        return False
    if status == "handled" and item.handled_at is None:
        return False
    return item.negative or not negative_only


class ConversationStore(Protocol):
    """Conversations, their messages, feedback on answers, and the answer cache.

    ``dump`` and ``load`` carry conversations, messages and feedback (not the cache,
    which rebuilds itself) as plain records, for backups and moving between stores.
    ``prune`` is the retention: it removes what was made before a time.
    """

    def create(self, owner: str = "", collections: Iterable[str] = ()) -> str: ...

    def owner_of(self, conversation_id: str) -> str: ...

    def message_owner(self, message_id: str) -> str: ...

    def collections_of(self, conversation_id: str) -> list[str]: ...

    def exists(self, conversation_id: str) -> bool: ...

    def history(self, conversation_id: str, turns: int) -> list[Turn]: ...

    def add_exchange(
        self,
        conversation_id: str,
        question: str,
        standalone_question: str,
        answer: str,
        metadata: dict,
    ) -> str: ...

    def add_feedback(
        self, message_id: str, rating: str | None, comment: str | None, problem: bool
    ) -> Feedback: ...

    def feedback(
        self,
        limit: int = 100,
        *,
        status: str = "all",
        negative_only: bool = False,
        since: float | None = None,
    ) -> list[Feedback]: ...

    def iter_feedback(self, *, status: str = "all", page: int = 500) -> Iterator[Feedback]: ...

    def handle_feedback(self, feedback_id: str, note: str, handled_by: str) -> Feedback: ...

    def cached(self, key: str) -> dict | None: ...

    def cache(self, key: str, response: dict) -> None: ...

    def dump(self) -> Iterator[dict]: ...

    def load(self, records: Iterable[dict]) -> int: ...

    def prune(self, older_than: float) -> Pruned: ...
