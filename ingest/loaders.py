"""Read supported files into pages of text, with headings marked Markdown-style.

HTML and DOCX headings become ``#`` lines so that the section splitter sees one
format. Every failure is a ``LoadError`` with a message a user understands.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from ingest.documents import Page

SUPPORTED_EXTENSIONS = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")


class LoadError(Exception):
    """A file that cannot be ingested; the message says why."""


@dataclass(frozen=True)
class LoadedDocument:
    """Pages of text plus a title found inside the document, if any."""

    pages: list[Page]
    title: str | None


def load_file(path: Path) -> LoadedDocument:
    """Load one file; raise ``LoadError`` for unsupported, empty or broken files."""
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        raise LoadError(
            f"unsupported file type '{suffix or '(none)'}'; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    data = path.read_bytes()
    if not data.strip():
        raise LoadError("the file is empty")
    document = loader(data)
    if not any(page.text.strip() for page in document.pages):
        raise LoadError("no text could be extracted from the file")
    return document


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


def _load_pdf(data: bytes) -> LoadedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError("the PDF is encrypted")
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
