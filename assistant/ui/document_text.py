"""A document's full text rebuilt from its chunks, without the overlap they share."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.retrieval.hits import SearchHit

MAX_OVERLAP_CHARS = 600


@dataclass(frozen=True)
class TextBlock:
    """A run of a document's text; ``chunk_id`` lets a link highlight a cited passage."""

    chunk_id: str
    section: str
    page: int | None
    text: str
    new_section: bool


def shared_overlap(previous: str, following: str) -> int:
    """Length of the longest end of ``previous`` that ``following`` starts with."""
    for size in range(min(len(previous), len(following), MAX_OVERLAP_CHARS), 0, -1):
        if following.startswith(previous[-size:]):
            return size
    return 0


def document_blocks(passages: list[SearchHit]) -> list[TextBlock]:
    """Chunks in reading order as text blocks, each without the text its predecessor had."""
    blocks: list[TextBlock] = []
    previous = None
    for passage in passages:
        text = passage.text
        if previous is not None and previous.section == passage.section:
            text = text[shared_overlap(previous.text, text) :].lstrip()
        new_section = previous is None or previous.section != passage.section
        blocks.append(TextBlock(passage.chunk_id, passage.section, passage.page, text, new_section))
        previous = passage
    return blocks
