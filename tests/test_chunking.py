"""Chunks respect sections, sizes and carry citation metadata."""

from __future__ import annotations

import pytest

from ingest.chunking import chunk_sections
from ingest.documents import DocumentMeta, Section, sha256_text

pytestmark = pytest.mark.unit

META = DocumentMeta(id="doc", title="Titel", file="doc.txt")


def test_long_sections_are_split_with_overlap_and_metadata() -> None:
    sentences = " ".join(f"Zin nummer {i} over AI bij gemeenten." for i in range(80))
    chunks = chunk_sections(META, [Section("H1 > H2", sentences, 3)], 400, 80)
    assert len(chunks) > 5
    assert all(len(chunk.text) <= 400 for chunk in chunks)
    assert [chunk.position for chunk in chunks] == list(range(len(chunks)))
    first, second = chunks[0], chunks[1]
    assert first.text[-40:].split()[-1] in second.text  # overlap
    assert first.section == "H1 > H2" and first.page == 3 and first.doc_id == "doc"
    assert first.content_hash == sha256_text(first.text)
    assert first.chunk_id.startswith("doc:00000:")


def test_small_sections_under_one_top_heading_are_merged() -> None:
    sections = [
        Section("ROLLEN > Inkoper", "Koopt in.", None),
        Section("ROLLEN > Projectleider", "Leidt het project.", None),
        Section("ANDERS", "Ander onderwerp.", None),
    ]
    chunks = chunk_sections(META, sections, 1000, 100)
    assert len(chunks) == 2
    assert chunks[0].section == "ROLLEN"
    assert "Projectleider\nLeidt het project." in chunks[0].text
    assert chunks[1].section == "ANDERS"


def test_chunk_ids_are_stable() -> None:
    sections = [Section("A", "Tekst die niet verandert.", None)]
    first = chunk_sections(META, sections, 500, 50)
    again = chunk_sections(META, sections, 500, 50)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
