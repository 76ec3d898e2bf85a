"""A follow-up's ordinal ("die derde stap", "de laatste daarvan") resolved against the
lists of the passages the earlier question found."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.conversations import open_conversation_store
from assistant.generation.list_reference import (
    joined,
    list_reference,
    list_runs,
    referenced_item,
    with_item,
)
from assistant.services import build_services
from assistant.settings import Settings

STEPS = (
    "Stappenplan: van idee tot livegang\n"
    "- Inventariseer de behoeften – Welke processen kunnen worden ondersteund?\n"
    "- Betrek stakeholders – Organiseer sessies met I&A en juridische zaken.\n"
    "- Voer een risicoanalyse (DPIA) uit – Bepaal welke risico's gelden.\n"
    "- Train medewerkers en informeer burgers.\n"
    "- Evalueer en verbeter continu."
)


@pytest.mark.parametrize(
    ("question", "phrase", "position"),
    [
        ("Kun je die derde stap wat uitgebreider toelichten?", "die derde stap", 3),
        ("En wat is het antwoord op de laatste daarvan?", "de laatste daarvan", -1),
        ("Wat moet een gemeente bij de voorlaatste stap doen?", "de voorlaatste stap", -2),
        ("Hoe luidt de tweede daarvan?", "de tweede daarvan", 2),
        ("En bij het laatstgenoemde traject: welke?", "het laatstgenoemde traject", -1),
        ("What does the second one say?", "the second one", 2),
        ("Is the last step required?", "the last step", -1),
    ],
)
def test_an_ordinal_after_an_article_is_a_reference(question, phrase, position) -> None:
    reference = list_reference(question)
    assert reference is not None
    assert (reference.phrase, reference.position) == (phrase, position)


@pytest.mark.parametrize(
    "question",
    [
        "Welke stappen doorloop je van idee tot livegang?",
        "Wat staat er in hoofdstuk 3?",
        "Is een DPIA verplicht bij de inzet van AI?",
        "Eerste vraag: wat is een algoritmeregister?",
    ],
)
def test_no_ordinal_after_an_article_is_no_reference(question: str) -> None:
    assert list_reference(question) is None


def test_list_runs_need_two_items_and_drop_their_markers() -> None:
    text = "Inleiding\n- alleen\nTekst\n1. een\n2) twee\n3. drie\nSlot"
    assert list_runs(text) == [["een", "twee", "drie"]]
    assert list_runs(STEPS)[0][2].startswith("Voer een risicoanalyse (DPIA) uit")


SHORT = "Twee punten:\n- een\n- twee"


def test_labelled_paragraphs_are_a_list_of_their_labels() -> None:
    text = (
        "Onderwerpen voor AI inkoopprocessen\n"
        "Data: Een succesvol AI project begint bij data.\nData vormt een voorwaarde.\n\n"
        "Model: AI modellen zijn een belangrijk onderwerp.\n\n"
        "Applicatie of dienst: Gemeentes kunnen ook applicaties inkopen."
    )
    assert list_runs(text) == [["Data", "Model", "Applicatie of dienst"]]


def test_neighbouring_chunks_are_joined_without_their_overlap() -> None:
    first = "Stappen:\n- een\n- twee"
    second = "- twee\n- drie"  # the chunk overlap repeats "- twee"
    assert list_runs(joined([first, second])) == [["een", "twee", "drie"]]


@pytest.mark.parametrize(
    ("question", "item"),
    [
        ("Kun je die derde stap toelichten?", "Voer een risicoanalyse (DPIA) uit"),
        ("En de eerste daarvan?", "een"),
        ("En de laatste daarvan?", "twee"),
        ("Wat houdt de voorlaatste stap in?", "een"),
        ("Wat houdt de vijfde stap in?", "Evalueer en verbeter continu."),
    ],
)
def test_the_item_comes_from_the_first_list_long_enough(question: str, item: str) -> None:
    """Passages best first: the two-item list answers "the first" and "the last", the
    five steps the third and the fifth."""
    reference = list_reference(question)
    assert reference is not None
    found = referenced_item(reference, ["Geen lijst hier.", SHORT, STEPS])
    assert found is not None and found.startswith(item)


def test_a_list_of_sources_is_not_what_a_follow_up_points_at() -> None:
    sources = (
        "Bronnen\n- ISO/IEC (2022). ISO/IEC 27001:2022 Information security.\n"
        "- VNG (2024). Trendanalyse AI en algoritmen.\n- TNO (2024). Monitor."
    )
    reference = list_reference("Wat houdt die tweede richting in?")
    assert reference is not None
    assert referenced_item(reference, [sources]) is None
    assert referenced_item(reference, [sources, STEPS]) is not None


def test_a_list_too_short_for_the_place_gives_nothing() -> None:
    reference = list_reference("Wat is het tiende punt?")
    assert reference is not None
    assert referenced_item(reference, [STEPS]) is None


def test_the_item_is_written_after_the_words_that_point() -> None:
    question = "Kun je die derde stap wat uitgebreider toelichten?"
    reference = list_reference(question)
    assert reference is not None
    assert with_item(question, reference, "Voer een DPIA uit") == (
        "Kun je die derde stap (Voer een DPIA uit) wat uitgebreider toelichten?"
    )


@pytest.mark.integration
def test_a_follow_up_is_searched_and_answered_with_the_item_it_points_at(
    ingested: Settings, tmp_path: Path
) -> None:
    """The real index; quote mode, so that no model is needed to show the effect: the
    follow-up's own words ("die derde stap") find nothing of the third step, the item
    written in from the earlier question's passages does."""
    settings = ingested.model_copy(
        update={
            "answer_mode": "quote",
            "follow_up_list_reference": True,
            "answer_cache": False,
            "conversations_file": tmp_path / "c.sqlite",
        }
    )
    services = build_services(settings)
    store = open_conversation_store(settings)
    conversation = store.create("local", [settings.default_collection])
    earlier = "Welke stappen doorloop je volgens de praktijkgids van idee tot livegang?"
    store.add_exchange(conversation, earlier, earlier, "Er zijn acht stappen.", {})
    result = services.answers.answer("Kun je die derde stap toelichten?", conversation)
    assert "(Voer een risicoanalyse (DPIA) uit" in result.standalone_question
    assert "risicoanalyse" in result.search_query
    assert any("risicoanalyse" in c["text"] for c in result.citations)
