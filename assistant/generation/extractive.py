"""An answer made of the passages' own best sentences, each with its citation.

Used when retrieval is confident but the model produced nothing usable, or said
the answer is not there although the passages hold it.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.generation.citations import CheckedSentence
from assistant.generation.context import Passage, is_short_item, list_items_after
from assistant.generation.evidence import Sentence
from assistant.generation.sentences import (
    ELABORATION,
    LIST_ITEM,
    asks_a_question,
    content_terms,
    is_heading,
    overlap,
    reads_as_a_sentence,
    refers_back,
    section_titles,
    word_stems,
)

MIN_SENTENCE_CHARS = 25
MAX_SENTENCE_CHARS = 400


@dataclass(frozen=True)
class Quote:
    score: float
    n: int  # the passage
    position: int  # the sentence within it
    parts: tuple[str, ...]  # one, or the sentence referred back to and the one referring
    start: int  # the first sentence quoted: the one before ``position`` when it refers back

    @property
    def text(self) -> str:
        return " ".join(self.parts)

    def checked(self) -> list[CheckedSentence]:
        """Each sentence cited on its own, so that every one can be checked."""
        return [CheckedSentence(text=part, sources=[self.n]) for part in self.parts]


def extractive_answer(
    passages: list[Passage], max_sentences: int = 3, per_document: bool = False
) -> list[CheckedSentence]:
    """The passages' best-scored sentences, in passage order, each citing its passage; a
    list intro is quoted with its items ("Denk aan: projectleider; jurist"). With
    ``per_document``, each document the passages come from gives its best sentence first
    (the documents with the best sentences, when there are more than places)."""
    ranked = ranked_quotes(passages)
    if per_document:
        ranked = _each_document_first(ranked, {p.n: p.hit.doc_id for p in passages})
    chosen = in_reading_order(_distinct(ranked, max_sentences))
    return [sentence for quote in chosen for sentence in quote.checked()]


def _each_document_first(quotes: list[Quote], document_of: dict[int, str]) -> list[Quote]:
    """The quotes reordered: each document's best one first, then the rest by score."""
    firsts: dict[str, Quote] = {}
    for quote in quotes:
        firsts.setdefault(document_of[quote.n], quote)
    leaders = list(firsts.values())
    return leaders + [quote for quote in quotes if quote not in leaders]


def best_quotes(passages: list[Passage], limit: int) -> list[Quote]:
    """The passages' ``limit`` best quotes that do not repeat each other, best first."""
    return _distinct(ranked_quotes(passages), limit)


def _distinct(quotes: list[Quote], limit: int) -> list[Quote]:
    """The first ``limit`` quotes that do not repeat each other: a sentence quoted together
    with the one it refers back to replaces that sentence quoted alone."""
    chosen: list[Quote] = []
    for quote in quotes:
        if len(chosen) == limit:
            break
        if any(quote.n == known.n and quote.text in known.text for known in chosen):
            continue
        chosen = [known for known in chosen if not _repeats(quote, known)]
        chosen.append(quote)
    return chosen


def _repeats(quote: Quote, other: Quote) -> bool:
    """True when one quote holds the other (a sentence and the pair it is part of)."""
    return quote.n == other.n and (quote.text in other.text or other.text in quote.text)


def ranked_quotes(passages: list[Passage]) -> list[Quote]:
    """Every quotable sentence of the passages, best-scored first; one that refers back
    ("Dit voorkomt ...") is quoted after the sentence it refers to."""
    quotes = []
    for passage in passages:
        titles = section_titles(passage.hit.section)
        for position, sentence in enumerate(passage.sentences):
            if is_heading(sentence.text, titles):
                continue
            text, score = _quotable(passage.sentences, position), sentence.score
            before = _antecedent(passage.sentences, position, text) if text else None
            parts, start = (text,), position
            if before:  # quoted together, and worth at least what the first one says
                parts, start = (before.text, text), position - 1
                score = max(score, before.score)
            if text and MIN_SENTENCE_CHARS <= len(" ".join(parts)) <= MAX_SENTENCE_CHARS:
                quotes.append(Quote(score, passage.n, position, parts, start))
    # of a sentence alone and the pair it starts, equally scored, the pair comes first
    return sorted(quotes, key=lambda q: (-q.score, q.n, q.start, -len(q.text)))


def in_reading_order(quotes: list[Quote]) -> list[Quote]:
    return sorted(quotes, key=lambda q: (q.n, q.start))


def _quotable(sentences: tuple[Sentence, ...], index: int) -> str:
    """A sentence as a quote, without a list bullet: a list intro with its items, a
    sentence with the examples that follow it ("Denk aan: innovatieteam, jurist"); none
    for an intro without them ("Denk aan:"), for a question the document asks on its own
    (but "Een centrale vraag is: wie mag welke data inzien?" states one) or for a short
    item, which needs its intro."""
    text = LIST_ITEM.sub("", sentences[index].text).strip()
    if is_short_item(sentences[index].text) or not reads_as_a_sentence(text):
        return ""
    if ELABORATION.match(text) and _follows_directly(sentences, index - 1):
        return ""  # quoted with the sentence it gives examples of
    items = [
        LIST_ITEM.sub("", sentences[p].text).strip().rstrip(";,.")
        for p in list_items_after(sentences, index)
    ]
    if items:
        return f"{text} {'; '.join(items)}."
    if text.endswith(":") or asks_a_question(text):
        return ""
    if _follows_directly(sentences, index) and ELABORATION.match(sentences[index + 1].text):
        return f"{text} {sentences[index + 1].text}"
    return text


def _antecedent(sentences: tuple[Sentence, ...], index: int, quote: str) -> Sentence | None:
    """The sentence a quote refers back to ("Leveranciers ... open standaarden." for "Dit
    voorkomt ..."), when it directly precedes it and is a plain statement."""
    if not refers_back(quote) or not _follows_directly(sentences, index - 1):
        return None
    before = sentences[index - 1]
    fits = len(before.text) + len(quote) < MAX_SENTENCE_CHARS
    return before if fits and _is_statement(before.text) else None


def _is_statement(text: str) -> bool:
    """A plain sentence: not a list item, a list intro or a question."""
    return (
        not LIST_ITEM.match(text)
        and reads_as_a_sentence(text)
        and not text.rstrip().endswith(":")
        and not asks_a_question(text)
    )


def _follows_directly(sentences: tuple[Sentence, ...], index: int) -> bool:
    """True when the sentence after ``index`` is also the next one in the source."""
    return 0 <= index < len(sentences) - 1 and (
        sentences[index + 1].position == sentences[index].position + 1
    )


def missing_evidence(
    passages: list[Passage],
    answer: list[CheckedSentence],
    question: str,
    limit: int,
    same_as: float = 0.6,
) -> list[CheckedSentence]:
    """Up to ``limit`` of the passages' best sentences that the answer does not already say.

    A 1.5B model tends to answer with one sentence and leave out what the passages list;
    these quoted, cited sentences put it back. A sentence counts as already said when
    ``same_as`` of its content words beyond the question's occur in one answer sentence:
    an answer that only repeats the question ("Alle negen gemeenten deden mee omdat ...")
    has not said "De VNG heeft negen gemeenten benaderd om deel te nemen".
    """
    if limit <= 0:
        return []
    asked = content_terms(question)
    said = [content_terms(s.text) for s in answer]
    extra: list[Quote] = []
    for quote in ranked_quotes(passages):
        news = content_terms(quote.text) - asked
        if not news or any(overlap(news, known) >= same_as for known in said):
            continue
        if any(_repeats(quote, known) for known in extra):
            continue
        extra.append(quote)
        said.append(news)
        if len(extra) == limit:
            break
    return [sentence for quote in in_reading_order(extra) for sentence in quote.checked()]


def drop_non_answers(sentences: list[CheckedSentence]) -> list[CheckedSentence]:
    """Remove questions the model echoed and a dangling list intro ("De rollen zijn:")."""
    kept = [s for s in sentences if not s.text.rstrip().endswith("?")]
    while kept and kept[-1].text.rstrip().endswith(":"):
        kept.pop()
    return kept


# "Ja, het klopt dat ...": a verdict, not a fact; the stems (``word_stems``) of the words a
# restatement may add: nee, klopt, correct, juist, inderdaad, goed ("ja" is a stopword)
_YES_OR_NO = frozenset({"nee", "klop", "corr", "juis", "inde", "goed"})


def without_restatements(question: str, sentences: list[CheckedSentence]) -> list[CheckedSentence]:
    """Remove sentences that only repeat the question (words compared by their first four
    letters, so that "organises" repeats "organise"). A passage cannot support what the
    question itself put in, and a restated false premise ("... hoeven gemeenten toch niet
    mee te nemen [1]." for "... hoeven gemeenten toch niet mee te nemen?", also after
    "Ja, het klopt dat") would carry a citation for the opposite of what the passage
    says."""
    asked = word_stems(question) | _YES_OR_NO
    return [s for s in sentences if not word_stems(s.text) <= asked]
