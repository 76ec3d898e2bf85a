"""Loaders read every supported format and refuse bad input with a clear reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import LoadError, load_file
from tests.helpers import write_docx, write_pdf

pytestmark = pytest.mark.unit


def test_pdf_keeps_page_numbers_and_title(tmp_path: Path) -> None:
    path = tmp_path / "gids.pdf"
    write_pdf(path, [["Inkoop van AI", "Vraag naar de data."], ["Tweede pagina: DPIA."]], "Gids")
    document = load_file(path)
    assert [page.number for page in document.pages] == [1, 2]
    assert "Vraag naar de data." in document.pages[0].text
    assert "DPIA" in document.pages[1].text
    assert document.title == "Gids"


def test_docx_headings_become_markdown(tmp_path: Path) -> None:
    path = tmp_path / "beleid.docx"
    write_docx(path, "AI-beleid", [("Heading 1", "Doel"), ("Normal", "We gebruiken AI veilig.")])
    document = load_file(path)
    assert document.title == "AI-beleid"
    assert "# Doel" in document.pages[0].text
    assert "We gebruiken AI veilig." in document.pages[0].text


def test_html_drops_scripts_and_marks_headings(tmp_path: Path) -> None:
    path = tmp_path / "pagina.html"
    path.write_text(
        "<html><head><title>Register</title><script>var x = 1;</script></head>"
        "<body><h2>Publiceren</h2><p>Zet het in het register.</p></body></html>",
        encoding="utf-8",
    )
    document = load_file(path)
    text = document.pages[0].text
    assert "## Publiceren" in text and "Zet het in het register." in text
    assert "var x" not in text
    assert document.title == "Register"


def test_markdown_title_from_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "notitie.md"
    path.write_text("Intro\n\n# Werkwijze AI\n\nTekst.", encoding="utf-8")
    assert load_file(path).title == "Werkwijze AI"


def test_latin1_text_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "oud.txt"
    path.write_bytes("Technologieën en privacy zijn één geheel.".encode("cp1252"))
    assert "Technologieën" in load_file(path).pages[0].text


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "verslag.txt"
    path.write_text("Een verslag. " * 200, encoding="utf-8")
    with pytest.raises(LoadError, match=r"too large: 2600 bytes.*ingest_max_file_bytes"):
        load_file(path, max_bytes=2599)
    assert "verslag" in load_file(path, max_bytes=2600).pages[0].text


def test_a_pdf_over_the_page_limit_is_refused_before_a_page_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pypdf import PageObject

    path = tmp_path / "dik.pdf"
    write_pdf(path, [[f"Pagina {n}."] for n in range(1, 6)])
    assert len(load_file(path, max_pages=5).pages) == 5

    def no_reading(*args: object, **kwargs: object) -> str:
        raise AssertionError("a page was read")

    monkeypatch.setattr(PageObject, "extract_text", no_reading)
    with pytest.raises(LoadError, match=r"too many pages: 5, the limit is 4 \(ingest_max_pages\)"):
        load_file(path, max_pages=4)
    lying = tmp_path / "liegt.pdf"  # a page tree that claims fewer pages than it lists
    lying.write_bytes(path.read_bytes().replace(b"/Count 5", b"/Count 1"))
    with pytest.raises(LoadError, match="too many pages: 5"):
        load_file(lying, max_pages=4)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("leeg.txt", b"", "empty"),
        ("spaties.md", b"  \n\n ", "empty"),
        ("plaatje.txt", bytes(range(256)) * 8, "binary"),
        ("kapot.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage\n%%EOF", "PDF"),
        ("kapot.docx", b"PK\x03\x04 not really a zip", "Word"),
        ("tabel.xlsx", b"PK\x03\x04", "unsupported"),
    ],
)
def test_bad_input_gives_a_clear_error(tmp_path: Path, name: str, content: bytes, reason: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=reason):
        load_file(path)
