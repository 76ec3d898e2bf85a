"""The Ollama backend through the real `ollama`/langchain-ollama client.

The server is tests/ollama_standin.py, which stands in for Ollama (no Ollama binary
exists on this machine) and answers with the embedded model.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assistant.api.app import create_app
from assistant.services import build_services
from assistant.settings import Settings
from tests.conftest import SHARED_MODEL_DIR, free_port
from tests.ollama_standin import MODEL_NAME, StandinServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ollama() -> Iterator[StandinServer]:
    from assistant.llm.model_file import ensure_model_file

    with StandinServer(ensure_model_file(SHARED_MODEL_DIR), free_port()) as server:
        yield server


def settings_for(ingested: Settings, **overrides: object) -> Settings:
    """Written answers (the model's own text): the backend is what is tested."""
    return ingested.model_copy(update={"answer_cache": False, "answer_mode": "write", **overrides})


def test_answers_through_ollama(ingested: Settings, ollama: StandinServer) -> None:
    settings = settings_for(
        ingested,
        llm_backend="ollama",
        ollama_host=ollama.url,
        ollama_model=MODEL_NAME,
        ollama_num_ctx=4096,
    )
    services = build_services(settings)
    result = services.answers.answer("Is een DPIA verplicht voor een AI-assistent?")
    assert result.model == MODEL_NAME
    assert not result.refused and result.citations
    request = ollama.app.state.requests[-1]
    assert request["options"]["num_ctx"] == 4096, "num_ctx is set explicitly"
    assert request["format"]["required"] == ["sentences"], "output held to the JSON schema"
    assert services.llm.status()["active"] == "ollama"


def test_auto_prefers_ollama_when_it_answers(ingested: Settings, ollama: StandinServer) -> None:
    settings = settings_for(
        ingested, llm_backend="auto", ollama_host=ollama.url, ollama_model=MODEL_NAME
    )
    assert build_services(settings).llm.current().backend == "ollama"


def test_configured_ollama_down_is_a_clear_503(ingested: Settings) -> None:
    settings = settings_for(
        ingested,
        llm_backend="ollama",
        ollama_host=f"http://127.0.0.1:{free_port()}",
        auth_mode="single_user",
    )
    with TestClient(create_app(settings)) as client:
        health = client.get("/api/health").json()
        assert health["status"] == "degraded" and health["llm"]["available"] is False
        response = client.post("/api/chat", json={"message": "Is een DPIA verplicht?"})
        assert response.status_code == 503
        assert "taalmodel is op dit moment niet bereikbaar" in response.json()["detail"]
        assert client.post("/api/search", json={"query": "DPIA"}).status_code == 200
        # a question the documents do not answer needs no model: refused, not a 503
        outside = client.post("/api/chat", json={"message": "Hoe laat vertrekt de laatste trein?"})
        assert outside.status_code == 200 and outside.json()["refused"] is True
        assert outside.json()["fallback"] is None


def test_auto_falls_back_to_the_embedded_model(ingested: Settings) -> None:
    settings = settings_for(
        ingested, llm_backend="auto", ollama_host=f"http://127.0.0.1:{free_port()}"
    )
    services = build_services(settings)
    assert services.llm.current().backend == "embedded"
    result = services.answers.answer("Is een DPIA verplicht voor een AI-assistent?")
    assert not result.refused and result.citations


def test_quoted_answers_go_on_while_ollama_is_down(ingested: Settings) -> None:
    """The default quote mode needs no model for a Dutch question: with the configured
    Ollama unreachable, it is still answered, from the passages, cited."""
    settings = settings_for(
        ingested,
        answer_mode="quote",
        llm_backend="ollama",
        ollama_host=f"http://127.0.0.1:{free_port()}",
    )
    services = build_services(settings)
    result = services.answers.answer("Is een DPIA verplicht voor een AI-assistent?")
    assert not result.refused and result.citations and "[1]" in result.answer
    assert result.fallback == "extractive" and result.usage["completion_tokens"] == 0
