"""Searches over the real, fully ingested corpus find the passage that holds the answer."""

from __future__ import annotations

import pytest

from assistant.retrieval.search_service import SearchService
from evaluation.retrieval_metrics import RetrievalQuestion, answer_rank, load_questions
from tests.conftest import DECK, GUIDE, OTU, PAPER, TNO

pytestmark = pytest.mark.integration


# (question, document, a phrase from the passage that answers it)
QUESTIONS = [
    ("Welke drie componenten kun je inkopen bij AI?", DECK, "Data, Model en Applicatie of Dienst"),
    ("Wat is Retrieval Augmented Generation?", DECK, "relevante informatie uit externe bronnen"),
    ("Moet je retrieval los van het taalmodel evalueren?", DECK, "apart van de generatie"),
    ("Welk gegevensmodel helpt om data te standaardiseren?", DECK, "Gemeentelijk Gegevens Model"),
    ("Wordt er een Nederlands taalmodel ontwikkeld?", DECK, "In Nederland wordt GPT-NL ontwikkelt"),
    ("Is een DPIA verplicht voor een AI-assistent?", GUIDE, "Een DPIA is verplicht bij verwerking"),
    ("Moet onze chatbot in het algoritmeregister?", GUIDE, "altijd geregistreerd worden"),
    (
        "Wat is de eerste stap bij het invoeren van een AI-assistent?",
        GUIDE,
        "Inventariseer de behoeften",
    ),
    (
        "Hoeveel algoritmes van gemeenten staan in het algoritmeregister?",
        TNO,
        "waarvan 454 bij gemeenten",
    ),
    ("Over welke chatbot ging het gesprek met Montferland?", TNO, "voornamelijk op de chatbot Mai"),
    ("Hoeveel procent generiek en hoeveel lokaal maatwerk?", OTU, "80% generiek en 20% lokaal"),
    ("Wat vraagt de VNG aan de ALV met de opdracht tot uitwerking?", OTU, "steun en mandaat"),
    (
        "Hoe ziet het werk van een informatievoorzieningsprofessional eruit in 2035?",
        OTU,
        "Het is 2035",
    ),
    (
        "Hoe definieert de AI-verordening een AI-systeem?",
        PAPER,
        "Een op een machine gebaseerd systeem",
    ),
    ("Wat wordt bedoeld met algorithmic governance?", PAPER, "complexiteit van de organisatie"),
    (
        "Wat moet een gemeente in contracten met AI-leveranciers vastleggen?",
        PAPER,
        "expliciete contractuele eisen",
    ),
]


@pytest.mark.parametrize(("question", "doc_id", "phrase"), QUESTIONS, ids=[q[0] for q in QUESTIONS])
def test_answer_passage_in_top_5(
    search_service: SearchService, question: str, doc_id: str, phrase: str
) -> None:
    probe = RetrievalQuestion("t", question, doc_id, phrase)
    hits = search_service.search(question, k=5)
    rank = answer_rank(probe, hits)
    assert rank is not None, [f"{h.doc_id}: {h.text[:80]}" for h in hits]


def test_procurement_components_passage_is_first(search_service: SearchService) -> None:
    hits = search_service.search("Welke drie componenten kun je inkopen bij AI?", k=5)
    assert "Data, Model en Applicatie of Dienst" in hits[0].text


def test_document_filter_keeps_results_inside_the_documents(search_service: SearchService):
    hits = search_service.search("algoritmeregister", k=10, doc_ids=[GUIDE, OTU])
    assert hits and {hit.doc_id for hit in hits} <= {GUIDE, OTU}


def test_exact_terms_are_found_by_keyword_search(search_service: SearchService) -> None:
    for term in ("NEN 7510", "IAMA", "Lmarena"):
        assert any(term.lower() in hit.text.lower() for hit in search_service.search(term, 5)), term


def test_dev_question_set_retrieval_floor(search_service: SearchService) -> None:
    """The 48-question dev set: hit@5 must stay at or above the measured level minus slack."""
    questions = load_questions()
    found = sum(1 for q in questions if answer_rank(q, search_service.search(q.question, 5)))
    # measured 0.94 with the defaults (see README); fail on a real regression
    assert found / len(questions) >= 0.85
