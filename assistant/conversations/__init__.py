"""Conversation stores: SQLite for one server (default), Redis for replicas."""

from __future__ import annotations

from assistant.conversations.records import (
    FEEDBACK_STATES,
    ConversationStore,
    Feedback,
    Pruned,
    Turn,
    UnknownConversation,
    UnknownFeedback,
    UnknownMessage,
)
from assistant.conversations.redis_store import RedisConversationStore
from assistant.conversations.sqlite_store import SqliteConversationStore
from assistant.settings import Settings

__all__ = [
    "FEEDBACK_STATES",
    "ConversationStore",
    "Feedback",
    "Pruned",
    "RedisConversationStore",
    "SqliteConversationStore",
    "Turn",
    "UnknownConversation",
    "UnknownFeedback",
    "UnknownMessage",
    "open_conversation_store",
]


def open_conversation_store(settings: Settings) -> ConversationStore:
    """The store the settings name (``WEGWIJZER_CONVERSATION_STORE``)."""
    # a cached answer is kept no longer than the conversations it came from
    cache_ttl_s = min(settings.answer_cache_ttl_s, settings.conversation_retention_days * 86400)
    if settings.conversation_store == "redis":
        return RedisConversationStore(
            settings.redis_url, f"{settings.collection_prefix}:conversations", cache_ttl_s
        )
    return SqliteConversationStore(settings.conversations_path, cache_ttl_s)
