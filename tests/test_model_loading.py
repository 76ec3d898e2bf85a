"""The model is loaded only to write: a refusal or a Dutch quote answer goes without it,
and the prompt budget is counted with the model's own tokens before it is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.llm.provider import LLMProvider
from assistant.services import build_services
from assistant.settings import Settings

pytestmark = pytest.mark.integration

TEXTS = [
    "Welke drie componenten kan een gemeente inkopen bij AI?",
    "De VNG wil AI collectief organiseren: 80% generiek, 20% lokaal maatwerk.",
    "",
]


def test_tokens_are_counted_as_the_loaded_model_counts_them(ingested: Settings) -> None:
    provider = LLMProvider(ingested.model_copy(update={"llm_backend": "embedded"}))
    before = [provider.count_tokens(text) for text in TEXTS]
    assert not provider.loaded(), "counting needs the vocabulary, not the model"
    model = provider.current()
    assert before == [model.count_tokens(text) for text in TEXTS]
    assert before[0] > 5


def test_a_refusal_and_a_dutch_quote_answer_do_not_load_the_model(
    ingested: Settings, tmp_path: Path
) -> None:
    settings = ingested.model_copy(
        update={
            "llm_backend": "embedded",
            "answer_mode": "quote",
            "answer_cache": False,
            "conversations_file": tmp_path / "c.sqlite",
        }
    )
    services = build_services(settings)
    refused = services.answers.answer(
        "Hoeveel kost een AI-assistent per maand voor een middelgrote gemeente?"
    )
    assert refused.refused and refused.refusal_reason == "not_in_documents"
    quoted = services.answers.answer("Welke drie componenten kan een gemeente inkopen bij AI?")
    assert not quoted.refused and quoted.citations and quoted.fallback == "extractive"
    assert quoted.model == refused.model != ""
    assert not services.llm.loaded()
