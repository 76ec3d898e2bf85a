"""Both conversation stores, SQLite (one server) and Redis (replicas), behave alike;
a dump of one loads into the other. Redis is a real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.conversations import (
    ConversationStore,
    RedisConversationStore,
    SqliteConversationStore,
    UnknownConversation,
    UnknownFeedback,
    UnknownMessage,
)
from tests.services import running_redis

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


def _open(kind: str, tmp_path: Path, redis_url: str) -> ConversationStore:
    if kind == "sqlite":
        return SqliteConversationStore(tmp_path / "conversations.sqlite")
    return RedisConversationStore(redis_url, f"test-{tmp_path.name}", cache_ttl_s=60)


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> ConversationStore:
    return _open(request.param, tmp_path, redis_url)


def _fill(store: ConversationStore) -> tuple[str, list[str]]:
    conversation = store.create()
    answers = [
        store.add_exchange(
            conversation, f"vraag {n}", f"losse vraag {n}", f"antwoord {n}", {"n": n}
        )
        for n in range(4)
    ]
    return conversation, answers


def test_history_is_the_latest_turns_oldest_first(store: ConversationStore) -> None:
    conversation, _ = _fill(store)
    assert store.exists(conversation) and not store.exists("nope")
    history = store.history(conversation, 2)
    assert [(t.question, t.answer) for t in history] == [
        ("vraag 2", "antwoord 2"),
        ("vraag 3", "antwoord 3"),
    ]
    with pytest.raises(UnknownConversation):
        store.history("nope", 2)


def test_feedback_filters_and_handling(store: ConversationStore) -> None:
    _, answers = _fill(store)
    up = store.add_feedback(answers[0], "up", None, False)
    down = store.add_feedback(answers[1], "down", "klopt niet", False)
    problem = store.add_feedback(answers[2], None, "schadelijk", True)
    with pytest.raises(UnknownMessage):
        store.add_feedback("no-such-message", "up", None, False)
    everything = store.feedback()
    assert [f.id for f in everything] == [problem.id, down.id, up.id], "newest first"
    assert (everything[1].question, everything[1].answer) == ("vraag 1", "antwoord 1")
    assert {f.id for f in store.feedback(negative_only=True)} == {down.id, problem.id}
    handled = store.handle_feedback(problem.id, "tekst aangepast", "key:beheer")
    assert handled.handled_by == "key:beheer" and handled.handling_note == "tekst aangepast"
    assert [f.id for f in store.feedback(status="open", negative_only=True)] == [down.id]
    assert [f.id for f in store.feedback(status="handled")] == [problem.id]
    assert [f.id for f in store.feedback(limit=1)] == [problem.id]
    assert store.feedback(since=problem.created_at + 1) == []
    with pytest.raises(UnknownFeedback):
        store.handle_feedback("nope", "x", "y")


def test_answer_cache(store: ConversationStore) -> None:
    assert store.cached("key") is None
    store.cache("key", {"answer": "Data, model en applicatie [1]."})
    assert store.cached("key") == {"answer": "Data, model en applicatie [1]."}


@pytest.mark.parametrize(("source", "target"), [("sqlite", "redis"), ("redis", "sqlite")])
def test_a_dump_loads_into_the_other_store(
    source: str, target: str, tmp_path: Path, redis_url: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _open(source, tmp_path / "a", redis_url)
    conversation, answers = _fill(first)
    first.add_feedback(answers[3], "down", "mist de bron", False)
    records = list(first.dump())
    assert [r["kind"] for r in records].count("message") == 8

    second = _open(target, tmp_path / "b", redis_url)
    assert second.load(records) == len(records)
    assert second.history(conversation, 10) == first.history(conversation, 10)
    assert second.feedback() == first.feedback()
    assert list(second.dump()) == records
