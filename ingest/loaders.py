"""Read supported files into pages of text, with headings marked Markdown-style.

HTML and DOCX headings become ``#`` lines so that the section splitter sees one
format. Every failure is a ``LoadError`` with a message a user understands, and so is
a file over the size limit or a PDF over the page limit (checked before any page is read).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from charset_normalizer import from_bytes

from ingest.documents import Page

if TYPE_CHECKING:
    from pypdf import PdfReader

SUPPORTED_EXTENSIONS = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")


class LoadError(Exception):
    """A file that cannot be ingested; the message says why."""


@dataclass(frozen=True)
class LoadedDocument:
    """Pages of text plus a title found inside the document, if any."""

    pages: list[Page]
    title: str | None


def load_file(
    path: Path, max_bytes: int | None = None, max_pages: int | None = None
) -> LoadedDocument:
    """Load one file; raise ``LoadError`` for unsupported, empty or broken files, files
    larger than ``max_bytes`` and PDFs of more than ``max_pages`` pages."""
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        raise LoadError(
            f"unsupported file type '{suffix or '(none)'}'; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise LoadError(
            f"the file is too large: {_megabytes(size)}, the limit is {_megabytes(max_bytes)} "
            "(ingest_max_file_bytes)"
        )
    data = path.read_bytes()
    if not data.strip():
        raise LoadError("the file is empty")
    document = _load_pdf(data, max_pages) if loader is _load_pdf else loader(data)
    if not any(page.text.strip() for page in document.pages):
        raise LoadError("no text could be extracted from the file")
    return document


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size} bytes"


def _decode_text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise LoadError("this looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:  # Western European Windows text: the usual non-UTF-8 case for Dutch files
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            best = from_bytes(data).best()
            if best is None:
                raise LoadError("the text encoding could not be recognised") from None
            text = str(best)
    control = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if control > 0.05 * min(len(text), 8192):
        raise LoadError("this looks like a binary file, not text")
    return text


def _first_line_title(text: str) -> str | None:
    for line in text.splitlines():
        candidate = line.strip().lstrip("#").strip()
        if candidate:
            return candidate if len(candidate) <= 120 else None
    return None


def _load_text(data: bytes) -> LoadedDocument:
    text = _decode_text(data)
    return LoadedDocument(pages=[Page(None, text)], title=None)


def _load_markdown(data: bytes) -> LoadedDocument:
    text = _decode_text(data)
    match = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    return LoadedDocument(pages=[Page(None, text)], title=match.group(1).strip() if match else None)


def _load_html(data: bytes) -> LoadedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "lxml")
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header", "form"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    lines: list[str] = []
    body = soup.body or soup
    for element in body.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "pre"]):
        if element.find_parent(["li", "td"]) is not None and element.name in ("p",):
            continue
        text = element.get_text(" ", strip=True)
        if not text:
            continue
        if element.name.startswith("h"):
            lines.append("")
            lines.append("#" * int(element.name[1]) + " " + text)
            title = title or text
        elif element.name == "li":
            lines.append("- " + text)
        else:
            lines.append(text)
        lines.append("")
    return LoadedDocument(pages=[Page(None, "\n".join(lines))], title=title or None)


def _load_pdf(data: bytes, max_pages: int | None = None) -> LoadedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError("the PDF is encrypted")
        if max_pages is not None:
            _check_page_count(reader, max_pages)
        pages = [
            Page(number, page.extract_text() or "")
            for number, page in enumerate(reader.pages, start=1)
        ]
        meta_title = (reader.metadata.title if reader.metadata else None) or None
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"the PDF is damaged or unreadable ({exc.__class__.__name__})") from exc
    title = meta_title.strip() if meta_title and meta_title.strip() else None
    if title is None and pages:
        title = _first_line_title(pages[0].text)
    return LoadedDocument(pages=pages, title=title)


def _check_page_count(reader: PdfReader, max_pages: int) -> None:
    """Refuse a PDF of more than ``max_pages`` pages: the page tree's ``/Count`` first,
    which reads no page, then the pages the tree really lists (a ``/Count`` may lie)."""
    try:
        declared = int(reader.root_object["/Pages"]["/Count"])  # type: ignore[index, arg-type]
    except (KeyError, TypeError, ValueError):
        declared = 0
    count = declared if declared > max_pages else len(reader.pages)
    if count > max_pages:
        raise LoadError(
            f"the PDF has too many pages: {count}, the limit is {max_pages} (ingest_max_pages)"
        )


def _load_docx(data: bytes) -> LoadedDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, ValueError, KeyError, OSError) as exc:
        raise LoadError("the Word file is damaged or not a .docx file") from exc
    except Exception as exc:  # zipfile.BadZipFile and lxml errors
        raise LoadError(f"the Word file could not be read ({exc.__class__.__name__})") from exc
    lines: list[str] = []
    first_heading: str | None = None
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        level = _heading_level(style)
        if level:
            lines.extend(["", "#" * level + " " + text])
            first_heading = first_heading or text
        else:
            lines.append(text)
        lines.append("")
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells if cell.text.strip()]
            if cells:
                lines.append(" | ".join(cells))
        lines.append("")
    title = (document.core_properties.title or "").strip() or first_heading
    return LoadedDocument(pages=[Page(None, "\n".join(lines))], title=title)


def _heading_level(style_name: str) -> int:
    if style_name == "Title":
        return 1
    match = re.match(r"(?:Heading|Kop)\s*(\d)", style_name)
    return min(int(match.group(1)), 6) if match else 0


_LOADERS: dict[str, Callable[[bytes], LoadedDocument]] = {
    ".txt": _load_text,
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
    ".docx": _load_docx,
}
