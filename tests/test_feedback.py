"""Feedback on answers through a real server, stored with the conversation."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from assistant.conversations import SqliteConversationStore
from tests.conftest import CORPUS, make_settings
from tests.test_api import server_env, start_server, stop

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, SqliteConversationStore]]:
    """A server on a data dir without an index: feedback needs only the conversations."""
    settings = make_settings(tmp_path_factory.mktemp("feedback"), CORPUS)
    store = SqliteConversationStore(settings.conversations_path)
    process, base = start_server(server_env(settings))
    yield base, store
    stop(process)


def _answer(store: SqliteConversationStore) -> tuple[str, str]:
    conversation_id = store.create()
    message_id = store.add_exchange(conversation_id, "Vraag?", "Vraag?", "Antwoord [1].", {})
    return conversation_id, message_id


def test_thumbs_and_reported_problems_are_stored_with_the_conversation(served) -> None:
    base, store = served
    conversation_id, message_id = _answer(store)
    up = httpx.post(f"{base}/api/feedback", json={"message_id": message_id, "rating": "up"})
    assert up.status_code == 201
    assert up.json()["conversation_id"] == conversation_id
    problem = httpx.post(
        f"{base}/api/feedback",
        json={
            "message_id": message_id,
            "rating": "down",
            "comment": "  Het antwoord noemt een verkeerde wet.  ",
            "report_problem": True,
        },
    )
    assert problem.status_code == 201
    latest = store.feedback(limit=2)
    assert [f.rating for f in latest] == ["down", "up"]
    assert latest[0].problem and latest[0].comment == "Het antwoord noemt een verkeerde wet."
    assert {f.conversation_id for f in latest} == {conversation_id}


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        ({"message_id": "bestaat-niet", "rating": "up"}, 404, "bestaat niet"),
        ({"message_id": "x"}, 422, "duim"),
        ({"message_id": "x", "rating": "meh"}, 422, "Ongeldige aanvraag"),
        ({"message_id": "x", "comment": "a" * 2001}, 422, "Ongeldige aanvraag"),
    ],
)
def test_bad_feedback_gets_a_clear_dutch_error(served, payload: dict, status: int, words: str):
    base, _ = served
    response = httpx.post(f"{base}/api/feedback", json=payload)
    assert response.status_code == status and words in response.json()["detail"]
