"""Section splitting finds the headings users ask about."""

from __future__ import annotations

import pytest

from ingest.documents import Page
from ingest.structure import split_sections

pytestmark = pytest.mark.unit


def headings(text: str) -> list[str]:
    return [section.heading for section in split_sections([Page(None, text)])]


def test_markdown_headings_nest() -> None:
    text = "# Inkoop\n\nIntro tekst.\n\n## Contracten\n\nAfspraken maken."
    assert headings(text) == ["Inkoop", "Inkoop > Contracten"]


def test_numbered_outline_and_footnotes() -> None:
    text = (
        "1 Inleiding\n\n1.1 Aanleiding\nTekst over de aanleiding.\n"
        "1 Cases Viewer | Portal\n2 Het algoritmeregister van de overheid\n4 McKinsey\n"
        "1.2 Gemeenten en AI\nTekst over gemeenten.\n\n2 Resultaten\nMeer tekst."
    )
    result = headings(text)
    assert result[0] == "1 Inleiding > 1.1 Aanleiding"
    assert "1 Inleiding > 1.2 Gemeenten en AI" in result
    assert result[-1] == "2 Resultaten"
    assert not any("algoritmeregister" in heading for heading in result)


def test_slide_deck_building_blocks() -> None:
    text = (
        "BOUWBLOKKEN\n\nRetrieval Augmented Generation (RAG)\nVerbetert AI-generatie.\n\n"
        "Basis\n-\n\nGevorderd\nDocumenten in een vector database.\n\n"
        "BOUWBLOKKEN\n\nSecurity\nBeveiliging van de AI.\nExpert\nZero trust."
    )
    result = headings(text)
    assert result[0] == "BOUWBLOKKEN > Retrieval Augmented Generation (RAG)"
    assert "BOUWBLOKKEN > Security" in result
    assert not any(heading.endswith(("Basis", "Gevorderd", "Expert")) for heading in result)


def test_title_lines_stay_in_the_text_and_pages_are_kept() -> None:
    sections = split_sections(
        [Page(1, "Visie\n\nOnze insteek is samenwerken."), Page(2, "Scope\n\nAlle gemeenten.")]
    )
    assert [(s.heading, s.page) for s in sections] == [("Visie", 1), ("Scope", 2)]
    assert sections[0].text.startswith("Visie")
