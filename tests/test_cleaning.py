"""Cleaning repairs what the raw extractions broke, and keeps headings on their own line."""

from __future__ import annotations

import pytest

from ingest.cleaning import clean_text, repair_encoding

pytestmark = pytest.mark.unit


def test_latin_extended_mojibake_is_repaired() -> None:
    raw = "zonder onnodige risicoās Ʃn technologieƫn ā Welke processen"
    assert repair_encoding(raw) == "zonder onnodige risico's én technologieën – Welke processen"


def test_clean_text_leaves_correct_text_alone() -> None:
    text = "Een DPIA is verplicht bij hoog risico.\n\nDe AI Act geldt ook voor gemeenten."
    assert clean_text(text) == text


def test_words_hyphenated_over_lines_are_joined_when_the_document_knows_the_word() -> None:
    raw = (
        "De referentiearchitectuur helpt.\n"
        "Dit is een eerste referentie-\narchitectuur voor gemeenten."
    )
    assert "eerste referentiearchitectuur voor gemeenten" in clean_text(raw)


def test_real_compound_hyphens_are_kept() -> None:
    raw = "Dit vraagt politiek-\nbestuurlijke keuzes van de raad."
    assert "politiek-bestuurlijke keuzes" in clean_text(raw)


def test_sentences_wrapped_over_blank_lines_are_joined() -> None:
    raw = "Er \n\nzijn bijvoorbeeld 1342 casussen vastgelegd.\n\nNieuwe alinea."
    assert clean_text(raw) == "Er zijn bijvoorbeeld 1342 casussen vastgelegd.\n\nNieuwe alinea."


def test_page_furniture_and_lone_page_numbers_are_dropped() -> None:
    page = "VNG AI\nInhoud van pagina {n} over inkoop.\n{n}\n"
    raw = "\n".join(page.format(n=n) for n in range(1, 6))
    cleaned = clean_text(raw)
    assert "VNG AI" not in cleaned
    assert not any(line.strip().isdigit() for line in cleaned.splitlines())
    assert cleaned.count("over inkoop.") == 5


def test_headings_and_labels_survive_furniture_removal() -> None:
    block = "BOUWBLOKKEN\n\nRAG\nTekst {n}.\n\nBasis\nMeer tekst {n}.\n"
    cleaned = clean_text("\n".join(block.format(n=n) for n in range(6)))
    assert cleaned.count("BOUWBLOKKEN") == 6
    assert cleaned.count("Basis") == 6


def test_links_urls_and_footnote_markers_are_removed() -> None:
    raw = (
        "Bron: [Autoriteit Persoonsgegevens – DPIA](https://example.org/dpia)\n"
        "Vastgelegd in de Public Sector Tech Watch.1 In Nederland kijk op https://x.nl/a."
    )
    cleaned = clean_text(raw)
    assert "Bron: Autoriteit Persoonsgegevens – DPIA" in cleaned
    assert "http" not in cleaned
    assert "Tech Watch. In Nederland" in cleaned


def test_a_footnote_marker_glued_to_a_word_is_removed_but_not_a_version_number() -> None:
    raw = (
        "Blurring as a Service17 is een project.\n"
        "Het Onderzoekskader Algoritmes3 en de handreiking non-discriminatie by design4.\n"
        "Het model Qwen2.5-Coder en gpt4 blijven staan."
    )
    cleaned = clean_text(raw)
    assert "Blurring as a Service is een project." in cleaned
    assert "Onderzoekskader Algoritmes en de handreiking non-discriminatie by design." in cleaned
    assert "Qwen2.5-Coder en gpt4 blijven staan" in cleaned


def test_bullets_are_normalised_and_duplicates_dropped() -> None:
    raw = "•\tEen punt\n❑ Tweede punt\nZelfde regel\nZelfde regel"
    assert clean_text(raw).splitlines() == ["- Een punt", "- Tweede punt", "Zelfde regel"]
