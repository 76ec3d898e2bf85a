"""Structure-aware chunking: sections first, then by size with overlap."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.documents import Chunk, DocumentMeta, Section, sha256_text
from ingest.structure import SECTION_SEPARATOR

# Bump when cleaning, structure detection or chunking changes what chunks contain:
# the ingest manifest records it, and a change forces a re-chunk of every document.
PIPELINE_VERSION = "3"  # 2: chunks carry their injection score; 3: glued footnote markers go


@dataclass(frozen=True)
class _Block:
    heading: str
    text: str
    page: int | None


def chunk_sections(
    meta: DocumentMeta, sections: list[Section], chunk_size: int, chunk_overlap: int
) -> list[Chunk]:
    """Merge small neighbouring sections, split large ones, and number the chunks."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
        strip_whitespace=True,
    )
    chunks: list[Chunk] = []
    for block in _merge_small_sections(sections, chunk_size):
        for piece in splitter.split_text(block.text):
            if not piece.strip():
                continue
            position = len(chunks)
            content_hash = sha256_text(piece)
            chunks.append(
                Chunk(
                    chunk_id=f"{meta.id}:{position:05d}:{content_hash[:10]}",
                    doc_id=meta.id,
                    title=meta.title,
                    section=block.heading,
                    page=block.page,
                    position=position,
                    text=piece,
                    content_hash=content_hash,
                )
            )
    return chunks


def split_windows(text: str, window_chars: int) -> list[str]:
    """Sub-passages of a chunk for sharper vector matches; none for short chunks."""
    if window_chars <= 0 or len(text) <= window_chars * 1.5:
        return []
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=window_chars,
        chunk_overlap=window_chars // 5,
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
    )
    return [piece for piece in splitter.split_text(text) if piece.strip()]


def _merge_small_sections(sections: list[Section], chunk_size: int) -> list[_Block]:
    """Join consecutive sections on one page and under one top heading while they fit."""
    blocks: list[_Block] = []
    for section in sections:
        if blocks and _can_merge(blocks[-1], section, chunk_size):
            previous = blocks[-1]
            heading = _common_heading(previous.heading, section.heading)
            text = previous.text + "\n\n" + _with_own_heading(section, heading)
            blocks[-1] = _Block(heading=heading, text=text, page=previous.page)
        else:
            blocks.append(_Block(section.heading, section.text, section.page))
    return blocks


def _can_merge(block: _Block, section: Section, chunk_size: int) -> bool:
    same_top = _top(block.heading) == _top(section.heading)
    fits = len(block.text) + len(section.text) + 2 <= chunk_size
    return same_top and fits and block.page == section.page


def _top(heading: str) -> str:
    return heading.split(SECTION_SEPARATOR, 1)[0]


def _common_heading(first: str, second: str) -> str:
    if first == second:
        return first
    common: list[str] = []
    for a, b in zip(first.split(SECTION_SEPARATOR), second.split(SECTION_SEPARATOR), strict=False):
        if a != b:
            break
        common.append(a)
    return SECTION_SEPARATOR.join(common)


def _with_own_heading(section: Section, merged_heading: str) -> str:
    """Keep a merged section's own heading as a line, so its label is not lost."""
    own = section.heading[len(merged_heading) :].strip(" >")
    if not own or section.text.startswith(own.split(SECTION_SEPARATOR)[-1]):
        return section.text
    return own.split(SECTION_SEPARATOR)[-1] + "\n" + section.text
