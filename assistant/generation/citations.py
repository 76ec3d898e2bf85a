"""Check every citation after generation, repair what can be repaired, mark the rest.

A sentence's claimed source must be a passage that was given and that supports the
sentence: enough of the sentence's content words (stemmed) occur in the passage, or,
for an answer in another language than the documents, its embedding is close enough
to one of the passage's sentences or the passage holds enough of the words it adds to
the question.
A wrong number is replaced by the passage that does support the sentence; a
sentence no passage supports keeps no number and is marked as unsupported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.generation.context import Passage
from assistant.generation.sentences import ENGLISH_STOPWORDS, content_terms, overlap, word_stems
from assistant.generation.structured import DraftSentence

_NO_CONTENT = re.compile(r"^[\W\d_]*$|^(bron|bronnen|source|sources|referenties?)\W*$", re.I)


@dataclass
class CheckedSentence:
    """A sentence with the passages that support it (numbers as given to the model)."""

    text: str
    sources: list[int] = field(default_factory=list)
    supported: bool = True
    corrected: bool = False


@dataclass
class Citation:
    """One cited passage, numbered in the order the answer first cites it."""

    n: int
    passage: Passage


def verify_citations(
    sentences: list[DraftSentence],
    passages: list[Passage],
    threshold: float,
    similarity: list[dict[int, float]] | None = None,
    similarity_threshold: float = 1.0,
    asked: set[str] | None = None,
) -> list[CheckedSentence]:
    """Keep supported numbers, correct wrong ones, mark unsupported sentences.

    Support is the share of a sentence's content words found in the passage, against
    ``threshold``. For an answer in another language than the passages, two more ways:
    with ``similarity`` (per sentence, passage number -> cosine) a cosine of
    ``similarity_threshold``; with ``asked`` (the question's ``word_stems``) the share
    of the words a sentence adds to the question that the passage holds, since the
    names, numbers and Dutch terms an English answer carries over are its facts ("the
    two pillars are houding and governance")."""
    by_number = {p.n: p for p in passages}
    passage_terms = {p.n: content_terms(p.text + " " + p.hit.section) for p in passages}
    passage_stems = (  # only an answer in another language is checked on added words
        {n: {term[:4] for term in terms} for n, terms in passage_terms.items()}
        if asked is not None
        else {}
    )
    checked: list[CheckedSentence] = []
    for index, sentence in enumerate(sentences):
        text = sentence.text.strip()
        if not text or _NO_CONTENT.match(text):
            continue  # "[1]" alone, "Bron:" leftovers
        terms = content_terms(text)
        lexical = {n: overlap(terms, passage_terms[n]) for n in by_number}
        added = word_stems(text, ENGLISH_STOPWORDS) - asked if asked is not None else set()
        cosine = similarity[index] if similarity is not None else {}
        supports = {
            n: lexical[n] >= threshold
            or overlap(added, passage_stems.get(n, set())) >= threshold
            or cosine.get(n, 0.0) >= similarity_threshold
            for n in by_number
        }
        claimed = [n for n in dict.fromkeys(sentence.sources) if n in by_number]
        kept = [n for n in claimed if supports[n]]
        if kept:
            checked.append(CheckedSentence(text, kept, corrected=len(kept) != len(claimed)))
            continue
        supporting = [n for n in by_number if supports[n]]
        best = max(supporting, key=lambda n: (lexical[n], cosine.get(n, 0.0)), default=None)
        if best is not None:
            checked.append(CheckedSentence(text, [best], corrected=True))
        else:
            checked.append(CheckedSentence(text, [], supported=False, corrected=bool(claimed)))
    return checked


def render_answer(
    sentences: list[CheckedSentence], passages: list[Passage], unsupported_marker: str
) -> tuple[str, list[Citation]]:
    """Answer text with [n] markers renumbered by first use, and the cited passages."""
    parts, citations = rendered_sentences(sentences, passages, unsupported_marker)
    return " ".join(parts), citations


def rendered_sentences(
    sentences: list[CheckedSentence], passages: list[Passage], unsupported_marker: str
) -> tuple[list[str], list[Citation]]:
    """Each sentence with its [n] markers (renumbered by first use), and the cited passages."""
    by_number = {p.n: p for p in passages}
    renumber: dict[int, int] = {}
    parts: list[str] = []
    for sentence in sentences:
        numbers = [renumber.setdefault(n, len(renumber) + 1) for n in sentence.sources]
        markers = "".join(f"[{n}]" for n in numbers) if numbers else unsupported_marker
        parts.append(_attach(sentence.text, markers))
    citations = [Citation(new, by_number[old]) for old, new in renumber.items()]
    return parts, citations


def _attach(text: str, markers: str) -> str:
    """Put markers before the closing punctuation: "Zo is het [1]."; a sentence without
    one (a quoted heading or list line) gets a full stop, so that sentences do not run
    into each other."""
    match = re.search(r"[.!?:;]+$", text)
    if match:
        return f"{text[: match.start()]} {markers}{match.group()}"
    return f"{text} {markers}."
