"""Between the question's language and the documents' Dutch, with the model.

A question in another language than the documents is searched in Dutch as well: the
model's Dutch version of it is put before the question, so that the keyword search
and the sentence scores find the documents' own words.

When the model gave no supported answer in that language, the passages' sentences are
quoted instead, each translated by the model. A translation is kept only when it says
what its source says: its embedding is close to the Dutch sentence and it names no
number the source does not. Otherwise the Dutch sentence is quoted as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from assistant.generation.citations import CheckedSentence
from assistant.generation.evidence import EvidenceRanker
from assistant.generation.language import detect_language

Complete = Callable[[str, int], str]
"""Asks the model: (prompt, most tokens to write) -> its reply ("" when it cannot)."""

_LABEL = re.compile(r"^\s*[\w ]{0,30}(vertaling|translation|vraag|question)\s*:\s*", re.I)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Translation:
    """Quotes in the question's language: the sentences and how many were translated."""

    sentences: list[CheckedSentence]
    translated: int


class Translator:
    """Translates questions into Dutch and quoted Dutch sentences into the question's
    language, with the prompts ``question_prompt`` ({question}) and ``sentence_prompt``
    ({language}, {text})."""

    def __init__(
        self,
        question_prompt: str,
        sentence_prompt: str,
        evidence: EvidenceRanker,
        min_similarity: float,
    ) -> None:
        self._question_prompt = question_prompt
        self._sentence_prompt = sentence_prompt
        self._evidence = evidence
        self._min_similarity = min_similarity

    def search_question(self, question: str, complete: Complete) -> str:
        """The question in Dutch, or "" when the model's reply is not a Dutch question
        (the small model sometimes explains why it cannot translate instead)."""
        reply = _first_line(complete(self._question_prompt.format(question=question), 80))
        usable = (
            8 <= len(reply) <= 400
            and reply.endswith("?") == question.rstrip().endswith("?")
            and detect_language(reply) == "nl"
        )
        return reply if usable else ""

    def quotes(
        self,
        sentences: list[CheckedSentence],
        language_name: str,
        complete: Complete,
        in_time: Callable[[], bool] = lambda: True,
    ) -> Translation:
        """Each sentence translated into ``language_name`` ("Engels") when the translation
        holds up, else as it was; none are translated once ``in_time`` says no."""
        drafts = []
        for sentence in sentences:
            prompt = self._sentence_prompt.format(language=language_name, text=sentence.text)
            draft = _first_line(complete(prompt, len(sentence.text) // 2 + 16)) if in_time() else ""
            drafts.append(draft)
        faithful = self._faithful([s.text for s in sentences], drafts)
        translated = [
            replace(sentence, text=draft) if keep else sentence
            for sentence, draft, keep in zip(sentences, drafts, faithful, strict=True)
        ]
        return Translation(translated, sum(faithful))

    def _faithful(self, sources: list[str], drafts: list[str]) -> list[bool]:
        """Whether each draft says what its source says (by meaning and by numbers)."""
        candidates = [
            i
            for i, (source, draft) in enumerate(zip(sources, drafts, strict=True))
            if draft
            and draft != source
            and _LETTER.search(draft)
            and set(_NUMBER.findall(draft)) <= set(_NUMBER.findall(source))
        ]
        similarity = self._evidence.best_similarities(
            [drafts[i] for i in candidates], {i: [sources[i]] for i in candidates}
        )
        close = {
            i
            for i, row in zip(candidates, similarity, strict=True)
            if row.get(i, 0.0) >= self._min_similarity
        }
        return [i in close for i in range(len(sources))]


def _first_line(reply: str) -> str:
    """The reply's first non-empty line, without quotes or a label ("Vertaling: ")."""
    for line in reply.splitlines():
        line = _LABEL.sub("", line.strip()).strip().strip('"“”').strip()
        if line:
            return line
    return ""
