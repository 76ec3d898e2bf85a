"""A document's full text rebuilt from its chunks, without the overlap they share."""

from __future__ import annotations

from dataclasses import dataclass, replace

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


def document_blocks(passages: list[SearchHit], highlight: str | None = None) -> list[TextBlock]:
    """Chunks in reading order as text blocks, each without the text its predecessor had.

    The ``highlight`` chunk keeps its whole text, so a cited passage is marked from its
    first word; the overlap is then cut from the end of the block before it instead.
    """
    blocks: list[TextBlock] = []
    previous = None
    for passage in passages:
        text, heading_moved = passage.text, False
        if previous is not None and previous.section == passage.section:
            overlap = shared_overlap(previous.text, text)
            if passage.chunk_id == highlight and overlap:
                before = blocks.pop()
                kept = before.text[: max(len(before.text) - overlap, 0)].rstrip()
                if kept:
                    blocks.append(replace(before, text=kept))
                else:
                    heading_moved = before.new_section
            else:
                text = text[overlap:].lstrip()
        new_section = heading_moved or previous is None or previous.section != passage.section
        blocks.append(TextBlock(passage.chunk_id, passage.section, passage.page, text, new_section))
        previous = passage
    return blocks
