"""An answer made of the passages' own best sentences, each with its citation.

Used when retrieval is confident but the model produced nothing usable, or said
the answer is not there although the passages hold it.
"""

from __future__ import annotations

from assistant.generation.citations import CheckedSentence
from assistant.generation.context import Passage, is_list_intro, list_items_after
from assistant.generation.evidence import Sentence
from assistant.generation.sentences import LIST_ITEM, content_terms, overlap

MIN_SENTENCE_CHARS = 25
MAX_SENTENCE_CHARS = 400


def extractive_answer(passages: list[Passage], max_sentences: int = 3) -> list[CheckedSentence]:
    """The passages' best-scored sentences, in passage order, each citing its passage; a
    list intro is quoted with its items ("Denk aan: projectleider; jurist")."""
    scored: list[tuple[float, int, int, str]] = []
    for passage in passages:
        for index, sentence in enumerate(passage.sentences):
            text = _quotable(passage.sentences, index)
            if text and MIN_SENTENCE_CHARS <= len(text) <= MAX_SENTENCE_CHARS:
                scored.append((sentence.score, passage.n, index, text))
    best = sorted(scored, key=lambda item: (-item[0], item[1], item[2]))[:max_sentences]
    best.sort(key=lambda item: (item[1], item[2]))
    return [CheckedSentence(text=text, sources=[n]) for _, n, _, text in best]


def _quotable(sentences: tuple[Sentence, ...], index: int) -> str:
    """A sentence as a quote: a list item is quoted with its intro, not alone; none for
    a question."""
    text = sentences[index].text
    if LIST_ITEM.match(text) or text.rstrip().endswith("?"):
        return ""  # an item without its intro, or a question the document asks
    if not is_list_intro(sentences[index]):
        return text
    items = [
        LIST_ITEM.sub("", sentences[p].text).strip().rstrip(";,.")
        for p in list_items_after(sentences, index)
    ]
    return f"{text} {'; '.join(items)}." if items else ""


def missing_evidence(
    passages: list[Passage],
    answer: list[CheckedSentence],
    limit: int,
    same_as: float = 0.6,
) -> list[CheckedSentence]:
    """Up to ``limit`` of the passages' best sentences that the answer does not already say.

    A 1.5B model tends to answer with one sentence and leave out what the passages list;
    these quoted, cited sentences put it back. A sentence counts as already said when
    ``same_as`` of its content words occur in one answer sentence.
    """
    if limit <= 0:
        return []
    said = [content_terms(s.text) for s in answer]
    extra: list[CheckedSentence] = []
    for sentence in extractive_answer(passages, max_sentences=limit + len(answer)):
        terms = content_terms(sentence.text)
        if any(overlap(terms, known) >= same_as for known in said):
            continue
        extra.append(sentence)
        said.append(terms)
        if len(extra) == limit:
            break
    return extra


def drop_non_answers(sentences: list[CheckedSentence]) -> list[CheckedSentence]:
    """Remove questions the model echoed and a dangling list intro ("De rollen zijn:")."""
    kept = [s for s in sentences if not s.text.rstrip().endswith("?")]
    while kept and kept[-1].text.rstrip().endswith(":"):
        kept.pop()
    return kept


def only_repeats_the_question(question: str, sentences: list[CheckedSentence]) -> bool:
    """True when no sentence says anything the question did not already say."""
    question_terms = content_terms(question)
    return all(content_terms(s.text) <= question_terms for s in sentences)
