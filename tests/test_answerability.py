"""The answerability decision: what a question asks for, and whether passages state it."""

from __future__ import annotations

import pytest

from assistant.generation.answerability import AnswerabilityJudge, asked_for, states
from assistant.generation.context import Passage
from assistant.generation.evidence import Sentence
from assistant.retrieval.hits import SearchHit

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Hoeveel kost een AI-assistent per jaar?", "amount"),
        ("Welk bedrag reserveert de VNG voor het collectief?", "amount"),
        ("How much does the platform cost?", "amount"),
        ("Hoeveel procent van de taken is generiek?", "percentage"),
        ("Hoe lang duurt een DPIA?", "duration"),
        ("Hoeveel weken neemt de specificeringsfase in beslag?", "duration"),
        ("Hoe vaak moet het model opnieuw getraind worden?", "frequency"),
        ("Per wanneer moeten hoog-risicosystemen geregistreerd zijn?", "date"),
        ("When did the AI Act enter into force?", "date"),
        ("Bij hoeveel gemeenten zijn interviews gehouden?", "count"),
        ("Met welke leverancier werkt WerkSaam samen?", "name"),
        ("Welk bedrijf levert het taalmodel van Mai?", "name"),
        # in which case, by whom: answered by a condition or a role, not a date or a name
        ("Wanneer is een DPIA verplicht?", None),
        ("When should a municipality register an algorithm?", None),
        ("Wie is eindverantwoordelijk voor ingekochte AI?", None),
        ("Kun je een aantal voorbeelden geven?", None),
        ("Hoeveel aandacht besteedt de gids aan privacy?", None),
        ("Welke componenten kan een gemeente inkopen?", None),
        ("Waarom wil de VNG AI collectief organiseren?", None),
        ("Hoe werkt RAG volgens de referentiearchitectuur?", None),
    ],
)
def test_what_a_question_asks_for(question: str, kind: str | None) -> None:
    assert asked_for(question) == kind


@pytest.mark.parametrize(
    ("sentence", "kind", "held"),
    [
        ("Het project kost 2 miljoen euro.", "amount", True),
        ("De kosten moeten vooraf in beeld zijn.", "amount", False),
        ("80% van de taken is generiek.", "percentage", True),
        ("Een DPIA duurt meestal zes weken.", "duration", True),
        ("Een DPIA is verplicht bij hoog risico.", "duration", False),
        ("De AI act is sinds augustus 2024 in werking.", "date", True),
        ("Het model wordt jaarlijks geëvalueerd.", "frequency", True),
        ("Er is met vier gemeenten gesproken.", "count", True),
        ("Er is met gemeenten gesproken.", "count", False),
        ("Zie paragraaf 2.3 en bron [3].", "count", False),
        ("Microsoft 365 Copilot wordt veel gebruikt.", "count", False),
        ("Het model heeft 7 miljard parameters.", "amount", False),
        ("Zie de richtlijnen van de Autoriteit Persoonsgegevens (2025).", "date", False),
    ],
)
def test_whether_a_sentence_holds_it(sentence: str, kind: str, held: bool) -> None:
    assert states(sentence, kind) is held


def test_a_name_is_a_capitalised_word_the_question_does_not_say() -> None:
    question = "Met welke leverancier werkt WerkSaam samen?"
    assert states("WerkSaam werkt samen met Microsoft aan de chatbot.", "name", question)
    assert not states("WerkSaam werkt samen met een leverancier.", "name", question)
    common = frozenset({"gemeente", "samen"})
    said = "Het gesprek met de Gemeente Montferland ging over de chatbot Mai."
    asked = "Met welke leverancier maakt Montferland de chatbot Mai?"
    assert not states(said, "name", asked, common)


def _passage(*sentences: tuple[str, float]) -> Passage:
    text = " ".join(t for t, _ in sentences)
    hit = SearchHit("c1", "doc", "Titel", "Sectie", None, 0, text, 1.0)
    scored = tuple(Sentence(i, text, score) for i, (text, score) in enumerate(sentences))
    return Passage(1, hit, hit.text, scored)


def test_a_question_for_an_amount_is_not_answered_by_sentences_without_one() -> None:
    judge = AnswerabilityJudge(min_score=0.0, min_coverage=0.0)
    passages = [
        _passage(
            ("De kosten van een AI-assistent moeten vooraf in beeld worden gebracht.", 0.9),
            ("Een AI-assistent vraagt om goede governance.", 0.8),
        )
    ]
    verdict = judge.run("Hoeveel kost een AI-assistent?", passages)
    assert not verdict.answerable
    assert verdict.evidence.asked_for == "amount" and not verdict.evidence.stated
    priced = [_passage(("Een AI-assistent kost ongeveer 40.000 euro per jaar.", 0.9))]
    assert judge.run("Hoeveel kost een AI-assistent?", priced).answerable


def test_an_open_question_needs_a_sentence_with_its_rarer_words() -> None:
    judge = AnswerabilityJudge(min_score=0.5, min_coverage=0.3)
    about = [_passage(("Gemeenten gebruiken AI voor dienstverlening.", 0.86))]
    verdict = judge.run("Welke vectordatabase raadt de VNG gemeenten aan?", about)
    assert not verdict.answerable and verdict.evidence.best_coverage < 0.3
    held = [_passage(("De VNG raadt gemeenten de vectordatabase Qdrant aan.", 0.9))]
    assert judge.run("Welke vectordatabase raadt de VNG gemeenten aan?", held).answerable
