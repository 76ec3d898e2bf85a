"""An answer made of the passages' own best sentences, each with its citation.

Used when retrieval is confident but the model produced nothing usable, or said
the answer is not there although the passages hold it.
"""

from __future__ import annotations

from assistant.generation.citations import CheckedSentence
from assistant.generation.context import Passage
from assistant.generation.sentences import content_terms, overlap, split_sentences

MIN_SENTENCE_CHARS = 25


def extractive_answer(
    question: str, passages: list[Passage], max_sentences: int = 3
) -> list[CheckedSentence]:
    """The sentences that share most words with the question, in passage order."""
    question_terms = content_terms(question)
    scored: list[tuple[float, int, int, str]] = []
    for passage in passages:
        for index, sentence in enumerate(split_sentences(passage.text)):
            if len(sentence) < MIN_SENTENCE_CHARS:
                continue
            score = overlap(question_terms, content_terms(sentence))
            if score > 0:
                scored.append((score, passage.n, index, sentence))
    best = sorted(scored, key=lambda item: (-item[0], item[1], item[2]))[:max_sentences]
    best.sort(key=lambda item: (item[1], item[2]))
    return [CheckedSentence(text=sentence, sources=[n]) for _, n, _, sentence in best]
