"""Conversations in Redis, shared by API replicas: an answer given by one replica can
be followed up, rated and handled through any other.

Keys (all under ``<prefix>:``):
``conv:<id>`` hash (created_at, owner, collections); ``conv:<id>:messages`` list of message ids;
``msg:<id>`` hash; ``feedback:<id>`` hash; ``feedback-by-time`` sorted set;
``cache:<key>`` the cached answer, with a time to live.
Run Redis with persistence (appendonly) when it holds conversations.

Retention: ``prune`` removes old conversations, messages and feedback (whether a message
may go depends on feedback given later, which a time to live fixed when it is written
cannot follow); cached answers expire by their time to live.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from itertools import islice

import redis

from assistant.conversations.records import (
    Feedback,
    Pruned,
    Turn,
    UnknownConversation,
    UnknownFeedback,
    UnknownMessage,
    feedback_matches,
)

_FEEDBACK_FIELDS = (
    "id",
    "message_id",
    "conversation_id",
    "rating",
    "comment",
    "problem",
    "created_at",
    "handled_at",
    "handled_by",
    "handling_note",
)


class RedisConversationStore:
    """The conversation store on a Redis server (``redis://host:port/db``)."""

    def __init__(self, url: str, prefix: str, cache_ttl_s: int) -> None:
        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._cache_ttl_s = cache_ttl_s

    def _key(self, *parts: str) -> str:
        return ":".join((self._prefix, *parts))

    def ping(self) -> None:
        """Raise ``redis.ConnectionError`` when the server cannot be reached."""
        self._redis.ping()

    def create(self, owner: str = "", collections: Iterable[str] = ()) -> str:
        conversation_id = uuid.uuid4().hex
        self._redis.hset(
            self._key("conv", conversation_id),
            mapping={
                "created_at": time.time(),
                "owner": owner,
                "collections": json.dumps(list(collections)),
            },
        )
        return conversation_id

    def owner_of(self, conversation_id: str) -> str:
        """Who started the conversation ("" for one from before owners were kept)."""
        created_at, owner = self._redis.hmget(
            self._key("conv", conversation_id), "created_at", "owner"
        )
        if created_at is None:
            raise UnknownConversation(conversation_id)
        return owner or ""

    def collections_of(self, conversation_id: str) -> list[str]:
        """The collections the conversation reads ([] if unknown or from before)."""
        raw = self._redis.hget(self._key("conv", conversation_id), "collections")
        return json.loads(raw) if raw else []

    def message_owner(self, message_id: str) -> str:
        """Who started the conversation an answer belongs to; ``UnknownMessage`` if none."""
        role, conversation_id = self._redis.hmget(
            self._key("msg", message_id), "role", "conversation_id"
        )
        if role != "assistant":
            raise UnknownMessage(message_id)
        return self._redis.hget(self._key("conv", conversation_id), "owner") or ""

    def exists(self, conversation_id: str) -> bool:
        return bool(self._redis.exists(self._key("conv", conversation_id)))

    def history(self, conversation_id: str, turns: int) -> list[Turn]:
        """The last ``turns`` question/answer pairs, oldest first."""
        if not self.exists(conversation_id):
            raise UnknownConversation(conversation_id)
        if turns <= 0:
            return []
        ids = self._redis.lrange(self._key("conv", conversation_id, "messages"), -2 * turns, -1)
        pipe = self._redis.pipeline()
        for message_id in ids:
            pipe.hmget(self._key("msg", message_id), "role", "content")
        pairs: list[Turn] = []
        question: str | None = None
        for role, content in pipe.execute():
            if role == "user":
                question = content
            elif role == "assistant" and question is not None:
                pairs.append(Turn(question, content))
                question = None
        return pairs

    def add_exchange(
        self,
        conversation_id: str,
        question: str,
        standalone_question: str,
        answer: str,
        metadata: dict,
    ) -> str:
        """Store a question and its answer; returns the answer's message id."""
        now = time.time()
        question_id, message_id = uuid.uuid4().hex, uuid.uuid4().hex
        self._add_messages(
            [
                _message(
                    question_id, conversation_id, "user", question, standalone_question, {}, now
                ),
                _message(
                    message_id, conversation_id, "assistant", answer, None, metadata, now + 1e-6
                )
                | {"question_id": question_id},
            ]
        )
        return message_id

    def _add_messages(self, messages: list[dict]) -> None:
        pipe = self._redis.pipeline(transaction=True)
        for message in messages:
            fields = {k: v for k, v in message.items() if v is not None}
            pipe.hset(self._key("msg", message["id"]), mapping=fields)
            pipe.rpush(self._key("conv", message["conversation_id"], "messages"), message["id"])
        pipe.execute()

    # --- feedback ------------------------------------------------------------
    def add_feedback(
        self, message_id: str, rating: str | None, comment: str | None, problem: bool
    ) -> Feedback:
        """Store feedback on an answer; ``UnknownMessage`` when there is no such answer."""
        role, conversation_id = self._redis.hmget(
            self._key("msg", message_id), "role", "conversation_id"
        )
        if role != "assistant":
            raise UnknownMessage(message_id)
        feedback = Feedback(
            uuid.uuid4().hex, message_id, conversation_id, rating, comment, problem, time.time()
        )
        self._put_feedback(feedback)
        return feedback

    def _put_feedback(self, feedback: Feedback) -> None:
        fields = {name: getattr(feedback, name) for name in _FEEDBACK_FIELDS}
        fields["problem"] = int(feedback.problem)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(
            self._key("feedback", feedback.id),
            mapping={k: v for k, v in fields.items() if v is not None},
        )
        pipe.zadd(self._key("feedback-by-time"), {feedback.id: feedback.created_at})
        pipe.execute()

    def feedback(
        self,
        limit: int = 100,
        *,
        status: str = "all",
        negative_only: bool = False,
        since: float | None = None,
    ) -> list[Feedback]:
        """The latest feedback, newest first, with the question and answer it is about."""
        ids = self._redis.zrevrangebyscore(
            self._key("feedback-by-time"), "+inf", since if since is not None else "-inf"
        )
        found: list[Feedback] = []
        for feedback_id in ids:
            item = self._read_feedback(feedback_id)
            if item is not None and feedback_matches(item, status, negative_only):
                found.append(item)
                if len(found) >= limit:
                    break
        return found

    def iter_feedback(self, *, status: str = "all", page: int = 500) -> Iterator[Feedback]:
        """All feedback, newest first, a page of ids at a time (by score, so feedback
        given meanwhile shifts nothing)."""
        by_time = self._key("feedback-by-time")
        high: float | str = "+inf"
        seen: set[str] = set()  # already given, at score ``high``
        while True:
            batch = self._redis.zrevrangebyscore(
                by_time, high, "-inf", start=0, num=page + len(seen), withscores=True
            )
            fresh = [(member, score) for member, score in batch if member not in seen]
            if not fresh:
                return
            for feedback_id, _ in fresh:
                item = self._read_feedback(feedback_id)
                if item is not None and feedback_matches(item, status, False):
                    yield item
            high = fresh[-1][1]
            seen = {member for member, score in batch if score == high}

    def _read_feedback(self, feedback_id: str, with_texts: bool = True) -> Feedback | None:
        raw = self._redis.hgetall(self._key("feedback", feedback_id))
        if not raw:
            return None
        question = answer = None
        if with_texts:
            answer, question_id = self._redis.hmget(
                self._key("msg", raw["message_id"]), "content", "question_id"
            )
            if question_id:
                question = self._redis.hget(self._key("msg", question_id), "content")
        return Feedback(
            id=raw["id"],
            message_id=raw["message_id"],
            conversation_id=raw["conversation_id"],
            rating=raw.get("rating"),
            comment=raw.get("comment"),
            problem=raw.get("problem") == "1",
            created_at=float(raw["created_at"]),
            handled_at=float(raw["handled_at"]) if "handled_at" in raw else None,
            handled_by=raw.get("handled_by"),
            handling_note=raw.get("handling_note"),
            question=question,
            answer=answer,
        )

    def handle_feedback(self, feedback_id: str, note: str, handled_by: str) -> Feedback:
        """Mark feedback as handled with a note; ``UnknownFeedback`` if there is none."""
        key = self._key("feedback", feedback_id)
        if not self._redis.exists(key):
            raise UnknownFeedback(feedback_id)
        self._redis.hset(
            key,
            mapping={"handled_at": time.time(), "handled_by": handled_by, "handling_note": note},
        )
        item = self._read_feedback(feedback_id)
        assert item is not None
        return item

    # --- answer cache ------------------------------------------------------
    def cached(self, key: str) -> dict | None:
        raw = self._redis.get(self._key("cache", key))
        return json.loads(raw) if raw else None

    def cache(self, key: str, response: dict) -> None:
        self._redis.set(
            self._key("cache", key),
            json.dumps(response, ensure_ascii=False),
            ex=self._cache_ttl_s,
        )

    # --- retention ---------------------------------------------------------
    def prune(self, older_than: float) -> Pruned:
        """Remove what was made before ``older_than``, as the SQLite store does: feedback,
        messages (except the question and answer that newer feedback is about) and
        conversations left without messages. Cached answers expire by themselves."""
        by_time = self._key("feedback-by-time")
        old = self._redis.zrangebyscore(by_time, "-inf", f"({older_than!r}")
        pipe = self._redis.pipeline(transaction=False)
        for feedback_id in old:
            pipe.delete(self._key("feedback", feedback_id))
        pipe.zremrangebyscore(by_time, "-inf", f"({older_than!r}")
        feedback = sum(pipe.execute()[: len(old)])
        messages = self._prune_messages(older_than, self._messages_with_feedback())
        return Pruned(self._prune_conversations(older_than), messages, feedback, 0)

    def _messages_with_feedback(self) -> set[str]:
        """The answers that feedback is about, and their questions."""
        pipe = self._redis.pipeline(transaction=False)
        for feedback_id in self._redis.zrange(self._key("feedback-by-time"), 0, -1):
            pipe.hget(self._key("feedback", feedback_id), "message_id")
        answers = {message_id for message_id in pipe.execute() if message_id}
        for message_id in answers:
            pipe.hget(self._key("msg", message_id), "question_id")
        return answers | {question_id for question_id in pipe.execute() if question_id}

    def _prune_messages(self, older_than: float, keep: set[str]) -> int:
        removed = 0
        for keys in _batches(self._redis.scan_iter(match=self._key("msg", "*"), count=500)):
            pipe = self._redis.pipeline(transaction=False)
            for key in keys:
                pipe.hmget(key, "id", "conversation_id", "created_at")
            for message_id, conversation_id, created_at in pipe.execute():
                if message_id is None or message_id in keep:
                    continue
                if float(created_at or 0.0) < older_than:
                    pipe.delete(self._key("msg", message_id))
                    pipe.lrem(self._key("conv", conversation_id, "messages"), 0, message_id)
                    removed += 1
            pipe.execute()
        return removed

    def _prune_conversations(self, older_than: float) -> int:
        """Conversations made before ``older_than`` whose messages have all gone."""
        start = len(self._key("conv", ""))
        removed = 0
        conversations = self._redis.scan_iter(match=self._key("conv", "*"), count=500)
        for keys in _batches(key for key in conversations if ":" not in key[start:]):
            pipe = self._redis.pipeline(transaction=False)
            for key in keys:
                pipe.hget(key, "created_at")
                pipe.exists(f"{key}:messages")
            found = pipe.execute()
            for key, created_at, has_messages in zip(keys, found[::2], found[1::2], strict=True):
                if not has_messages and float(created_at or 0.0) < older_than:
                    pipe.delete(key)
                    removed += 1
            pipe.execute()
        return removed

    # --- backup ------------------------------------------------------------
    def dump(self) -> Iterator[dict]:
        """Conversations, messages and feedback as records, in an order ``load`` accepts."""
        conversations = []
        for key in self._redis.scan_iter(match=self._key("conv", "*"), count=500):
            if key.endswith(":messages"):
                continue
            conversation_id = key.rsplit(":", 1)[1]
            created_at, owner, collections = self._redis.hmget(
                key, "created_at", "owner", "collections"
            )
            conversations.append(
                (float(created_at or 0.0), conversation_id, owner or "", collections or "[]")
            )
        conversations.sort()
        for created_at, conversation_id, owner, collections in conversations:
            yield {
                "kind": "conversation",
                "id": conversation_id,
                "created_at": created_at,
                "owner": owner,
                "collections": json.loads(collections),
            }
        for _, conversation_id, _, _ in conversations:
            ids = self._redis.lrange(self._key("conv", conversation_id, "messages"), 0, -1)
            for message_id in ids:
                raw = self._redis.hgetall(self._key("msg", message_id))
                if raw:
                    yield {"kind": "message", **_message_record(raw)}
        for feedback_id in self._redis.zrange(self._key("feedback-by-time"), 0, -1):
            item = self._read_feedback(feedback_id, with_texts=False)
            if item is not None:
                fields = {name: getattr(item, name) for name in _FEEDBACK_FIELDS}
                yield {"kind": "feedback", **fields}

    def load(self, records: Iterable[dict]) -> int:
        """Add dumped records (existing ids are replaced); returns how many were loaded."""
        count = 0
        last_question: dict[str, str] = {}
        for record in records:
            kind = record["kind"]
            if kind == "conversation":
                key = self._key("conv", record["id"])
                self._redis.delete(key, f"{key}:messages")
                self._redis.hset(
                    key,
                    mapping={
                        "created_at": record["created_at"],
                        "owner": record.get("owner", ""),
                        "collections": json.dumps(record.get("collections", [])),
                    },
                )
            elif kind == "message":
                message = _message(
                    record["id"],
                    record["conversation_id"],
                    record["role"],
                    record["content"],
                    record.get("standalone_question"),
                    record.get("metadata") or {},
                    record["created_at"],
                )
                if record["role"] == "user":
                    last_question[record["conversation_id"]] = record["id"]
                elif record["conversation_id"] in last_question:
                    message["question_id"] = last_question[record["conversation_id"]]
                self._add_messages([message])
            elif kind == "feedback":
                self._put_feedback(Feedback(**{k: record.get(k) for k in _FEEDBACK_FIELDS}))
            else:
                raise ValueError(f"unknown record kind: {kind!r}")
            count += 1
        return count


def _batches(keys: Iterable[str], size: int = 500) -> Iterator[list[str]]:
    iterator = iter(keys)
    while batch := list(islice(iterator, size)):
        yield batch


def _message(
    message_id: str,
    conversation_id: str,
    role: str,
    content: str,
    standalone_question: str | None,
    metadata: dict,
    created_at: float,
) -> dict:
    return {
        "id": message_id,
        "conversation_id": conversation_id,
        "role": role,
        "content": content,
        "standalone_question": standalone_question,
        "metadata": json.dumps(metadata, ensure_ascii=False),
        "created_at": created_at,
    }


def _message_record(raw: dict) -> dict:
    return {
        "id": raw["id"],
        "conversation_id": raw["conversation_id"],
        "role": raw["role"],
        "content": raw["content"],
        "standalone_question": raw.get("standalone_question"),
        "metadata": json.loads(raw.get("metadata") or "{}"),
        "created_at": float(raw["created_at"]),
    }
