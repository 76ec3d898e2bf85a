"""Pick what the model reads: a few short, numbered passages within a token budget."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.generation.sentences import content_terms, overlap, split_sentences
from assistant.retrieval.hits import SearchHit


@dataclass(frozen=True)
class Passage:
    """A numbered source passage as the model sees it, with the hit it came from."""

    n: int
    hit: SearchHit
    text: str

    def prompt_block(self) -> str:
        """The passage fenced as data: a document cannot close the fence or open another."""
        where = " — ".join(part for part in (self.hit.title, self.hit.section) if part)
        where = _unfenced(where).replace('"', "'")
        return f'<passage n="{self.n}" bron="{where}">\n{_unfenced(self.text)}\n</passage>'


def _unfenced(text: str) -> str:
    return re.sub(r"<(/?)passage", r"‹\1passage", text, flags=re.IGNORECASE)


def select_passages(
    question: str,
    hits: list[SearchHit],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    max_passages: int = 4,
    max_chars: int = 600,
) -> list[Passage]:
    """The best hits, each cut to its most relevant sentences, while the budget lasts."""
    question_terms = content_terms(question)
    passages: list[Passage] = []
    used = 0
    for hit in hits[:max_passages]:
        text = _most_relevant_sentences(hit.text, question_terms, max_chars)
        passage = Passage(n=len(passages) + 1, hit=hit, text=text)
        cost = count_tokens(passage.prompt_block()) + 4
        if passages and used + cost > budget_tokens:
            break
        passages.append(passage)
        used += cost
    return passages


LIST_ITEM = re.compile(r"^(?:[-•*]|\d{1,2}[.)])\s")


def _most_relevant_sentences(text: str, question_terms: set[str], max_chars: int) -> str:
    """The sentences sharing most words with the question, in their own order; a list
    intro ("Denk aan:") brings the list items after it, which rarely share those words."""
    if len(text) <= max_chars:
        return text
    sentences = split_sentences(text)
    scored = sorted(
        range(len(sentences)),
        key=lambda i: (-overlap(question_terms, content_terms(sentences[i])), i),
    )
    chosen: list[int] = []
    length = 0
    for index in scored:
        if length + len(sentences[index]) > max_chars and chosen:
            continue
        chosen.append(index)
        length += len(sentences[index]) + 1
    for index in sorted(chosen):
        if not sentences[index].rstrip().endswith(":"):
            continue
        follow = index + 1
        while follow < len(sentences) and LIST_ITEM.match(sentences[follow]):
            if follow not in chosen:
                if length + len(sentences[follow]) > max_chars * 1.5:
                    break
                chosen.append(follow)
                length += len(sentences[follow]) + 1
            follow += 1
    return "\n".join(sentences[i] for i in sorted(chosen))[: int(max_chars * 1.5) + 200]
