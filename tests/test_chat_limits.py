"""Step 8's attacks that need real answers: a poisoned answer cache, a stream the client
closes halfway, one key holding the model. A real uvicorn server in this process (so
that the token quota can be read), the embedded model, one answer in flight per caller
and one waiting place for the model."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from assistant.api.app import create_app
from assistant.security.api_keys import KeyStore
from assistant.services import Services
from assistant.settings import Settings
from tests.support.inprocess import serving
from tests.support.sse import sse_events

pytestmark = pytest.mark.integration

# each test its own question: a cached answer would not need the model
LEAVER_QUESTION = "Wat is een DPIA en wanneer is die verplicht?"
HOG_QUESTION = "Welke rollen kunnen betrokken zijn bij AI-projecten?"
OTHER_QUESTION = "Welke drie componenten kan een gemeente inkopen bij AI?"
STREAMED_QUESTION = "Wat doet het bouwblok Security in de referentiearchitectuur?"


@dataclass
class Site:
    base: str
    keys: dict[str, str]
    ids: dict[str, str]
    services: Services

    def chat(self, key: str, message: str, **extra: object) -> httpx.Response:
        return httpx.post(
            f"{self.base}/api/chat",
            json={"message": message, **extra},
            headers=_bearer(self.keys[key]),
            timeout=300,
        )

    def audit(self) -> list[dict]:
        exported = httpx.get(
            f"{self.base}/api/admin/audit/export", headers=_bearer(self.keys["admin"]), timeout=60
        )
        return [json.loads(line) for line in exported.text.splitlines()]


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def site(ingested: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("chat-limits")
    settings = ingested.model_copy(
        update={
            "auth_mode": "keys",
            "api_keys_file": tmp / "keys.sqlite",
            "conversations_file": tmp / "conversations.sqlite",
            "audit_file": tmp / "audit.sqlite",
            "llm_backend": "embedded",
            "llm_threads": 2,
            "answer_mode": "write",  # these attacks need the model generating
            "answers_in_flight_per_caller": 1,
            "llm_queue_size": 1,
            "rate_limit": "600/minute",
        }
    )
    store = KeyStore(settings.api_keys_path)
    keys, ids = {}, {}
    for name in ("poisoner", "bystander", "hog", "other", "leaver", "streamer", "admin"):
        made, keys[name] = store.create(name, "admin" if name == "admin" else "user")
        ids[name] = made.id
    app = create_app(settings)
    with serving(app) as base:
        yield Site(base, keys, ids, app.state.services)


def test_a_follow_up_cannot_poison_the_cached_answer_of_a_question(site: Site) -> None:
    """Before, the cache key was the standalone question only, while retrieval also read
    the previous question: the answer to a follow-up, found with what the conversation
    put in front of it, was replayed to everyone who then asked the rewrite's words on
    their own (an attacker chooses both turns)."""
    opening = site.chat("poisoner", "Wat is de AI procesplaat?").json()
    follow_up = site.chat(
        "poisoner", "En welke rollen horen daarbij?", conversation_id=opening["conversation_id"]
    ).json()
    rewrite = follow_up["standalone_question"]
    # the precondition: the model rewrote the follow-up (retrieval read more than that)
    assert not rewrite.startswith("Wat is de AI procesplaat?"), rewrite
    assert not follow_up["refused"]
    asked_alone = site.chat("bystander", rewrite).json()
    assert asked_alone["cached"] is False


def test_a_written_answer_streams_its_tokens_as_they_are_generated(site: Site) -> None:
    with httpx.stream(
        "POST",
        f"{site.base}/api/chat",
        json={"message": STREAMED_QUESTION, "stream": True},
        headers=_bearer(site.keys["streamer"]),
        timeout=300,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(sse_events(response))
    kinds = [kind for kind, _ in events]
    texts = [data["text"] for kind, data in events if kind == "token"]
    done = events[-1][1]
    assert kinds[0] == "token" and kinds[-2:] == ["citations", "done"]
    assert kinds.count("token") > 3, "tokens arrive while the answer is generated"
    assert done["answer_mode"] == "write" and "".join(texts).strip()


def test_a_closed_stream_is_audited_and_charged(site: Site) -> None:
    """Before, an answer was booked only when the stream reached its end: a client that
    hung up after the first token was neither in the audit log nor charged."""
    identity = f"key:{site.ids['leaver']}"
    before = site.services.limits.tokens_left(identity)
    received = ""
    with httpx.stream(
        "POST",
        f"{site.base}/api/chat",
        json={"message": LEAVER_QUESTION, "stream": True},
        headers=_bearer(site.keys["leaver"]),
        timeout=300,
    ) as response:
        assert response.status_code == 200
        for kind, data in sse_events(response):
            if kind == "token":
                received = data["text"]
                break  # hang up after the first token
    assert received
    booked = _wait_for_answer(site, site.ids["leaver"])
    details = booked["details"]
    assert details["fallback"] == "cancelled"
    assert details["answer"].startswith(received.strip()[:10])
    used = details["usage"]["prompt_tokens"] + details["usage"]["completion_tokens"]
    assert details["usage"]["prompt_tokens"] > 0
    assert before - site.services.limits.tokens_left(identity) == used


def _wait_for_answer(site: Site, key_id: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answers = [
            e
            for e in site.audit()
            if e["action"] == "chat.answer" and e["actor"] == f"key:{key_id}"
        ]
        if answers:
            return answers[-1]
        time.sleep(1)
    raise AssertionError("the closed stream's answer never reached the audit log")


def test_one_key_cannot_hold_the_model_from_everyone_else(site: Site) -> None:
    """With one place to wait for the model, a second answer for the same key used to
    take that place and leave every other caller a 429 until it was done."""
    with httpx.stream(
        "POST",
        f"{site.base}/api/chat",
        json={"message": HOG_QUESTION, "stream": True},
        headers=_bearer(site.keys["hog"]),
        timeout=300,
    ) as generating:
        lines = generating.iter_lines()
        assert any(line == "event: token" for line in lines)  # the model is busy with it
        second = site.chat("hog", OTHER_QUESTION)
        assert second.status_code == 429 and "in behandeling" in second.json()["detail"]
        other: list[httpx.Response] = []
        waiter = threading.Thread(target=lambda: other.append(site.chat("other", OTHER_QUESTION)))
        waiter.start()
        time.sleep(2)  # the other caller now waits for the model
    waiter.join(timeout=300)
    assert other and other[0].status_code == 200, other[0].text if other else "no answer"
    assert not other[0].json()["refused"]
