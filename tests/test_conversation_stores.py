"""Both conversation stores, SQLite (one server) and Redis (replicas), behave alike;
a dump of one loads into the other, and both prune what is past its retention. Redis
is a real server on loopback."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from assistant.conversations import (
    ConversationStore,
    Pruned,
    RedisConversationStore,
    SqliteConversationStore,
    Turn,
    UnknownConversation,
    UnknownFeedback,
    UnknownMessage,
    open_conversation_store,
)
from assistant.settings import Settings
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


DAY = 86400.0


def _old_exchange(conversation: str, name: str, at: float) -> list[dict]:
    return [
        {
            "kind": "message",
            "id": f"q-{name}",
            "conversation_id": conversation,
            "role": "user",
            "content": f"vraag {name}",
            "standalone_question": f"vraag {name}",
            "metadata": {},
            "created_at": at,
        },
        {
            "kind": "message",
            "id": f"m-{name}",
            "conversation_id": conversation,
            "role": "assistant",
            "content": f"antwoord {name}",
            "standalone_question": None,
            "metadata": {},
            "created_at": at + 1,
        },
    ]


def _feedback_record(feedback_id: str, name: str, conversation: str, at: float) -> dict:
    return {
        "kind": "feedback",
        "id": feedback_id,
        "message_id": f"m-{name}",
        "conversation_id": conversation,
        "rating": "down",
        "comment": f"klopt niet {name}",
        "problem": False,
        "created_at": at,
        "handled_at": None,
        "handled_by": None,
        "handling_note": None,
    }


def test_prune_removes_what_is_older_and_keeps_the_rest(store: ConversationStore) -> None:
    now = time.time()
    old, cutoff = now - 100 * DAY, now - 90 * DAY
    store.load(
        [
            {"kind": "conversation", "id": "a", "created_at": old},  # old, no feedback
            *_old_exchange("a", "a1", old),
            {"kind": "conversation", "id": "b", "created_at": old},  # old, newer feedback
            *_old_exchange("b", "b1", old + 10),
            *_old_exchange("b", "b2", old + 20),
            _feedback_record("fb-b", "b1", "b", now - DAY),
            {"kind": "conversation", "id": "c", "created_at": old},  # old, old feedback
            *_old_exchange("c", "c1", old + 30),
            _feedback_record("fb-c", "c1", "c", old + 40),
            {"kind": "conversation", "id": "e", "created_at": old},  # old and empty
        ]
    )
    recent = store.create()
    answer = store.add_exchange(recent, "vraag d", "vraag d", "antwoord d", {})
    liked = store.add_feedback(answer, "up", None, False)
    empty = store.create()
    store.cache("recent", {"answer": "Antwoord [1]."})

    removed = store.prune(cutoff)

    assert removed == Pruned(conversations=3, messages=6, feedback=1, cached_answers=0)
    assert [store.exists(c) for c in ("a", "b", "c", "e", recent, empty)] == [
        False,
        True,
        False,
        False,
        True,
        True,
    ]
    assert store.history("b", 10) == [Turn("vraag b1", "antwoord b1")]  # kept for fb-b
    assert store.history(recent, 10) == [Turn("vraag d", "antwoord d")]
    kept = store.feedback()
    assert [f.id for f in kept] == [liked.id, "fb-b"]
    assert (kept[1].question, kept[1].answer) == ("vraag b1", "antwoord b1")
    assert store.cached("recent") == {"answer": "Antwoord [1]."}
    ids = {record["id"] for record in store.dump()}
    assert not ids & {"a", "q-a1", "m-a1", "q-b2", "m-b2", "c", "q-c1", "m-c1", "fb-c", "e"}
    assert store.prune(cutoff) == Pruned(0, 0, 0, 0)


def test_sqlite_prune_removes_old_cached_answers(tmp_path: Path) -> None:
    store = SqliteConversationStore(tmp_path / "conversations.sqlite")
    store.cache("old", {"answer": "Oud."})
    store.cache("recent", {"answer": "Nieuw."})
    with sqlite3.connect(tmp_path / "conversations.sqlite") as db:
        db.execute(
            "UPDATE answer_cache SET created_at = created_at - 100 * 86400 WHERE key = 'old'"
        )
    assert store.prune(time.time() - 90 * DAY) == Pruned(0, 0, 0, cached_answers=1)
    assert store.cached("old") is None
    assert store.cached("recent") == {"answer": "Nieuw."}


def test_redis_keeps_a_cached_answer_no_longer_than_the_retention(
    tmp_path: Path, redis_url: str
) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        conversation_store="redis",
        redis_url=redis_url,
        collection_prefix=f"test-{tmp_path.name}",
        answer_cache_ttl_s=7 * 86400,
        conversation_retention_days=2,
    )
    open_conversation_store(settings).cache("key", {"answer": "Antwoord."})
    ttl = redis.Redis.from_url(redis_url).ttl(f"test-{tmp_path.name}:conversations:cache:key")
    assert 2 * 86400 - 60 < ttl <= 2 * 86400


def test_iter_feedback_reads_everything_in_pages(store: ConversationStore) -> None:
    """What an export streams: all feedback, newest first, the same as ``feedback``,
    read a few at a time (here pages of 3 over 10 items)."""
    _, answers = _fill(store)
    given = [
        store.add_feedback(answers[n % 4], "down" if n % 3 else "up", f"opmerking {n}", n == 5)
        for n in range(10)
    ]
    store.handle_feedback(given[2].id, "opgelost", "beheerder")
    pages = store.iter_feedback(page=3)
    assert next(pages).id == store.feedback(1)[0].id, "lazy: the first page comes first"
    for status in ("all", "open", "handled"):
        paged = list(store.iter_feedback(status=status, page=3))
        assert paged == store.feedback(100, status=status), status
    assert len(list(store.iter_feedback(page=3))) == 10


def test_a_conversation_keeps_its_owner_and_collections(
    store: ConversationStore, tmp_path: Path, redis_url: str
) -> None:
    conversation = store.create("key:abc", ["utrecht", "algemeen"])
    answer = store.add_exchange(conversation, "vraag", "vraag", "antwoord", {})
    assert store.owner_of(conversation) == "key:abc"
    assert store.message_owner(answer) == "key:abc"
    assert store.collections_of(conversation) == ["utrecht", "algemeen"]
    with pytest.raises(UnknownConversation):
        store.owner_of("nope")
    with pytest.raises(UnknownMessage):
        store.message_owner("nope")
    # and a backup carries them into the other kind of store
    (tmp_path / "o").mkdir()
    other = _open(
        "redis" if isinstance(store, SqliteConversationStore) else "sqlite",
        tmp_path / "o",
        redis_url,
    )
    other.load(store.dump())
    assert other.owner_of(conversation) == "key:abc"
    assert other.collections_of(conversation) == ["utrecht", "algemeen"]


def test_a_conversation_from_before_owners_has_none(tmp_path: Path) -> None:
    """A file made by an older version gains the columns; its conversations belong to
    nobody, so nobody can continue them (a new conversation is one click away)."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY, created_at REAL NOT NULL)")
        db.execute("INSERT INTO conversations VALUES ('oud', 1.0)")
    store = SqliteConversationStore(path)
    assert store.owner_of("oud") == "" and store.collections_of("oud") == []


def test_a_cached_answer_expires_in_sqlite_too(tmp_path: Path) -> None:
    """Before, only Redis gave cached answers a time to live; SQLite replayed them forever."""
    store = SqliteConversationStore(tmp_path / "c.sqlite", cache_ttl_s=60)
    store.cache("fresh", {"answer": "nieuw"})
    store.cache("stale", {"answer": "oud"})
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        db.execute(
            "UPDATE answer_cache SET created_at = ? WHERE key = 'stale'", (time.time() - 61,)
        )
    assert store.cached("fresh") == {"answer": "nieuw"}
    assert store.cached("stale") is None
