"""The data that flows through ingestion: document metadata, pages, sections, chunks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of raw bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (a large file is not held in memory)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a text, UTF-8 encoded."""
    return sha256_bytes(text.encode("utf-8"))


@dataclass(frozen=True)
class DocumentMeta:
    """What citations show about a document; from the manifest or derived."""

    id: str
    title: str
    file: str
    publisher: str = ""
    year: int | None = None
    type: str = ""
    language: str = "nl"


@dataclass(frozen=True)
class Page:
    """Text of one page (PDF) or of the whole file (``number`` is None)."""

    number: int | None
    text: str


@dataclass(frozen=True)
class Section:
    """A run of body text under one heading path, on one page."""

    heading: str
    text: str
    page: int | None


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage with everything a citation needs."""

    chunk_id: str
    doc_id: str
    title: str
    section: str
    page: int | None
    position: int
    text: str
    content_hash: str
    injection_score: float = 0.0  # prompt-injection screening of the text at ingest

    def metadata(self) -> dict[str, str | int | float]:
        """Flat metadata as a vector store accepts it (no None values)."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "page": self.page if self.page is not None else -1,
            "position": self.position,
            "content_hash": self.content_hash,
            "injection_score": self.injection_score,
            "kind": "chunk",
        }


@dataclass
class SourceFile:
    """A file found for ingestion, with its metadata and raw-byte hash."""

    path: Path
    meta: DocumentMeta
    file_hash: str
    extra: dict[str, str] = field(default_factory=dict)
