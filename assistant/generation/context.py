"""Pick what the model reads: the best-scored sentences of the retrieved chunks, as
numbered passages within a character and token budget."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.generation.evidence import RankedHit, Sentence
from assistant.generation.sentences import LIST_ITEM, refers_back
from assistant.retrieval.hits import SearchHit

SOURCE_LABEL_CHARS = 40


@dataclass(frozen=True)
class Passage:
    """A numbered source passage as the model sees it, with the hit it came from."""

    n: int
    hit: SearchHit
    text: str
    sentences: tuple[Sentence, ...] = ()  # what ``text`` is made of, with their scores

    def source_label(self) -> str:
        """Where the passage comes from, short: every prompt token delays the first word of
        the answer, and the citation shows the full title and section to the user."""
        where = (self.hit.section or self.hit.title).split(">")[-1].strip()
        return where if len(where) <= SOURCE_LABEL_CHARS else where[: SOURCE_LABEL_CHARS - 1] + "…"

    def prompt_block(self) -> str:
        """The passage fenced as data: a document cannot close the fence or open another."""
        where = _unfenced(self.source_label()).replace('"', "'")
        return f'<passage n="{self.n}" bron="{where}">\n{_unfenced(self.text)}\n</passage>'


def _unfenced(text: str) -> str:
    return re.sub(r"<(/?)passage", r"‹\1passage", text, flags=re.IGNORECASE)


def select_passages(
    ranked: list[RankedHit],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    max_chars: int = 1200,
) -> list[Passage]:
    """The best sentences of all hits, each with the sentence after it for context (and a
    list intro with its items), until ``max_chars``; grouped into one passage per hit in
    rank order, numbered from 1, while the token budget lasts."""
    chosen: dict[int, set[int]] = {}
    used = 0
    best_first = sorted(
        ((sentence.score, r.rank, sentence.position) for r in ranked for sentence in r.sentences),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    by_rank = {r.rank: r for r in ranked}
    for _, rank, position in best_first:
        if used >= max_chars:
            break
        sentences = by_rank[rank].sentences
        taken = chosen.setdefault(rank, set())
        intro = is_list_intro(sentences, position)
        limit = max_chars * (1.5 if intro else 1)
        wanted = [p for p in _with_context(sentences, position) if p not in taken]
        cost = sum(len(sentences[p].text) + 1 for p in wanted)
        if used and used + cost > limit and not intro and position not in taken:
            # the sentence without its context, rather than not at all
            wanted, cost = [position], len(sentences[position].text) + 1
        if used and used + cost > limit:
            continue
        taken.update(wanted)
        used += cost
    passages: list[Passage] = []
    spent = 0
    for r in ranked:
        positions = sorted(chosen.get(r.rank, ()))
        if not positions:
            continue
        sentences = tuple(r.sentences[p] for p in positions)
        text = "\n".join(sentence.text for sentence in sentences)
        passage = Passage(n=len(passages) + 1, hit=r.hit, text=text, sentences=sentences)
        cost = count_tokens(passage.prompt_block()) + 4
        if passages and spent + cost > budget_tokens:
            break
        passages.append(passage)
        spent += cost
    return passages


LIST_ITEMS_WITH_INTRO = 12
SHORT_ITEM_WORDS = 5


def is_list_intro(sentences: tuple[Sentence, ...], position: int) -> bool:
    """True for a sentence that announces a list: it ends with a colon ("Denk aan:"), or
    short items follow it, the way a flattened PDF shows a sub-list ("Wat is de kwaliteit
    van het model?" / "- Accuraatheid" / "- Transparantie")."""
    if sentences[position].text.rstrip().endswith(":"):
        return True
    return bool(list_items_after(sentences, position))


def list_items_after(
    sentences: tuple[Sentence, ...], position: int, limit: int | None = None
) -> list[int]:
    """Positions of the list items that belong to the sentence at ``position`` (at most
    ``limit``): after a colon every item that follows; after another sentence only a run
    of at least two short items, when that sentence is not a short item itself."""
    after_colon = sentences[position].text.rstrip().endswith(":")
    if not after_colon and is_short_item(sentences[position].text):
        return []
    items: list[int] = []
    for follow in range(position + 1, len(sentences)):
        text = sentences[follow].text
        if not LIST_ITEM.match(text) or len(items) == limit:
            break
        if not after_colon and not is_short_item(text):
            break
        items.append(follow)
    return items if after_colon or len(items) >= 2 else []


def is_short_item(text: str) -> bool:
    """A list item of a few words ("- Accuraatheid"): a part of a list, not a statement."""
    return bool(LIST_ITEM.match(text)) and len(text.split()) - 1 <= SHORT_ITEM_WORDS


def _with_context(sentences: tuple[Sentence, ...], position: int) -> list[int]:
    """The sentence and the one after it; a list intro ("Denk aan:") brings its items,
    which rarely share words with the question but are the answer; a sentence that refers
    back ("Dit voorkomt ...") brings the one before it instead, which says what "dit" is."""
    if is_list_intro(sentences, position):
        return [position, *list_items_after(sentences, position, LIST_ITEMS_WITH_INTRO)]
    if position > 0 and refers_back(sentences[position].text):
        return [position - 1, position]
    return [p for p in (position, position + 1) if p < len(sentences)]
