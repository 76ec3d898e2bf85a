"""A follow-up that points into a list the previous answer was drawn from.

"Welke stappen doorloop je van idee tot livegang?" is answered from a list of eight
steps; "Kun je die derde stap toelichten?" then means the third item of that list, which
the follow-up does not name. The small model's rewrite rarely recovers it (it repeats
the earlier question), and the earlier question's words find the list again, not the
third step's own passage. So the list is found in the passages the earlier question
retrieves, and its item is written into the follow-up: "Kun je die derde stap (Voer een
risicoanalyse (DPIA) uit) toelichten?" is searched and answered like any question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.generation.sentences import LIST_ITEM
from assistant.retrieval.question_parts import ORDINALS

# from the end of the list: -1 the last, -2 the one before it
_FROM_THE_END = {
    "laatste": -1,
    "laatstgenoemde": -1,
    "voorlaatste": -2,
    "last": -1,
    "penultimate": -2,
    "second-to-last": -2,
}
_POSITIONS = ORDINALS | _FROM_THE_END
# "die derde stap", "het laatste punt", "de tweede daarvan", "the last one": an ordinal
# after an article or demonstrative, then a noun or "daarvan"/"of them"
_REFERENCE = re.compile(
    r"\b(?:de|het|die|dat|deze|dit|the|that|this)\s+("
    + "|".join(sorted(_POSITIONS, key=len, reverse=True))
    + r")\b(?:\s+(?:[a-zà-ÿ][\w-]{1,}))?",
    re.IGNORECASE,
)
MIN_LIST_ITEMS = 2
# "ISO/IEC (2022). ISO/IEC 27001:2022 ...": an entry of a list of sources, which names
# where something is written; no one asks what "the second" of those means
_SOURCE_ENTRY = re.compile(r"\((?:19|20)\d\d[a-z]?\)[.,]")
MAX_ITEM_CHARS = 200


@dataclass(frozen=True)
class ListReference:
    """The words that point ("die derde stap") and the place: 1-based, or from the end."""

    phrase: str
    position: int

    def item_of(self, items: Sequence[str]) -> str | None:
        """The item this reference means, if the list is long enough."""
        if len(items) < max(MIN_LIST_ITEMS, abs(self.position)):
            return None
        return items[self.position - 1 if self.position > 0 else self.position]


def list_reference(question: str) -> ListReference | None:
    """The first ordinal reference in ``question``, or None."""
    match = _REFERENCE.search(question)
    if match is None:
        return None
    return ListReference(match.group(0), _POSITIONS[match.group(1).lower()])


# "Data: Een succesvol AI project begint bij data." a labelled paragraph: a short label
# (one to four words, capitalised) and a colon, then its text
_LABEL = re.compile(r"^([A-Z][\w'’&/-]*(?: [\w'’&/-]+){0,3}):\s+\S")
MAX_LINES_BETWEEN_LABELS = 6


def list_runs(text: str) -> list[list[str]]:
    """Every list of two or more items in ``text``: consecutive list items ("- ...",
    "1. ...", their markers removed), and labelled paragraphs ("Data: ...", "Model: ...",
    their labels), which may have a few lines of their own between them."""
    return _runs(text, _bulleted, 0) + _runs(text, _labelled, MAX_LINES_BETWEEN_LABELS)


def _bulleted(line: str) -> str | None:
    return LIST_ITEM.sub("", line, count=1).strip() if LIST_ITEM.match(line) else None


def _labelled(line: str) -> str | None:
    match = _LABEL.match(line)
    return match.group(1) if match else None


def _runs(text: str, item: Callable[[str], str | None], max_between: int) -> list[list[str]]:
    runs: list[list[str]] = []
    current: list[str] = []
    between = 0
    for line in [*text.splitlines(), *[""] * (max_between + 1)]:
        found = item(line.strip())
        if found is not None:
            current.append(found)
            between = 0
            continue
        between += 1
        if between > max_between:
            if len(current) >= MIN_LIST_ITEMS:
                runs.append(current)
            current = []
    return runs


def referenced_item(reference: ListReference, passages: Sequence[str]) -> str | None:
    """The item meant, from the first list long enough for it in the passages (best
    first), shortened to its first ``MAX_ITEM_CHARS`` characters."""
    for text in passages:
        for items in list_runs(text):
            if sum(bool(_SOURCE_ENTRY.search(i)) for i in items) * 2 > len(items):
                continue
            item = reference.item_of(items)
            if item:
                return item[:MAX_ITEM_CHARS].rstrip()
    return None


def joined(texts: Sequence[str]) -> str:
    """Neighbouring chunks as one text, the lines their overlap repeats left out."""
    seen: set[str] = set()
    lines = []
    for line in "\n".join(texts).splitlines():
        key = line.strip()
        if key and key in seen:
            continue
        seen.add(key)
        lines.append(line)
    return "\n".join(lines)


def with_item(question: str, reference: ListReference, item: str) -> str:
    """The follow-up with the item written after the words that point at it."""
    return question.replace(reference.phrase, f"{reference.phrase} ({item})", 1)
