"""What an administrator may see: every tenant's activity, or only their collections'."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from assistant.conversations import ConversationStore, Feedback
from assistant.governance.audit_log import AuditEntry


@dataclass(frozen=True)
class AdminScope:
    """An admin bound to collections sees the questions, answers and feedback of those
    collections only: what read nothing but them. An unbound admin sees everything."""

    collections: frozenset[str] | None = None

    @classmethod
    def bound_to(cls, collections: Iterable[str] | None) -> AdminScope:
        return cls(frozenset(collections) if collections else None)

    def covers(self, collections: Iterable[str]) -> bool:
        if self.collections is None:
            return True
        names = set(collections)
        return bool(names) and names <= self.collections

    def entries(self, entries: Iterable[AuditEntry]) -> Iterator[AuditEntry]:
        """The audit entries in scope (for a bound admin: those naming its collections)."""
        for entry in entries:
            if self.covers(entry.details.get("collections") or []):
                yield entry

    def feedback(
        self, items: Iterable[Feedback], conversations: ConversationStore
    ) -> Iterator[Feedback]:
        """The feedback on conversations in scope."""
        for item in items:
            if self.collections is None or self.covers(
                conversations.collections_of(item.conversation_id)
            ):
                yield item
