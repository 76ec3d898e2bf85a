"""The corpus catalog: which files to ingest, with the metadata citations show.

Metadata comes from ``corpus/manifest.yaml``; a file the manifest does not list
gets derived metadata (title from the document, else the file name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ingest.documents import DocumentMeta, SourceFile, sha256_file
from ingest.loaders import SUPPORTED_EXTENSIONS

MANIFEST_NAMES = ("manifest.yaml", "manifest.yml")
IGNORED_NAMES = {*MANIFEST_NAMES, "synonyms.yaml", "README.md", ".gitkeep"}


class ManifestError(Exception):
    """The corpus manifest is malformed."""


@dataclass
class Catalog:
    """Files found in the corpus, plus files that were skipped and why."""

    sources: list[SourceFile] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def read_manifest(corpus_dir: Path) -> dict[str, dict]:
    """Manifest entries keyed by file name; empty when there is no manifest."""
    for name in MANIFEST_NAMES:
        path = corpus_dir / name
        if path.exists():
            break
    else:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML ({exc})") from exc
    entries = data.get("documents") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ManifestError(f"{path}: expected a top-level 'documents' list")
    by_file: dict[str, dict] = {}
    for entry in entries:
        if not isinstance(entry, dict) or "file" not in entry or "id" not in entry:
            raise ManifestError(f"{path}: every document needs at least 'id' and 'file'")
        by_file[str(entry["file"])] = entry
    return by_file


def discover(corpus_dir: Path) -> Catalog:
    """List the ingestible files under ``corpus_dir`` with their metadata and hashes."""
    manifest = read_manifest(corpus_dir)
    catalog = Catalog()
    used_ids: set[str] = set()
    for path in sorted(p for p in corpus_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(corpus_dir).as_posix()
        if path.name in IGNORED_NAMES or path.name.startswith("."):
            continue
        if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            catalog.skipped[relative] = (
                f"unsupported file type '{path.suffix or '(none)'}'; "
                f"supported: {', '.join(SUPPORTED_EXTENSIONS)}"
            )
            continue
        entry = manifest.get(relative) or manifest.get(path.name)
        meta = _meta_from_entry(entry, relative) if entry else None
        doc_id = meta.id if meta else _unique_id(slugify(path.stem), used_ids)
        used_ids.add(doc_id)
        if meta is None:
            meta = DocumentMeta(id=doc_id, title="", file=relative, language="")
        catalog.sources.append(SourceFile(path=path, meta=meta, file_hash=sha256_file(path)))
    return catalog


def with_derived_title(meta: DocumentMeta, found_title: str | None) -> DocumentMeta:
    """Fill a missing title from the document itself, else from the file name."""
    if meta.title:
        return meta
    title = (found_title or "").strip() or title_from_filename(meta.file)
    return DocumentMeta(**{**meta.__dict__, "title": title[:200]})


def title_from_filename(file: str) -> str:
    stem = Path(file).stem
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else file


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "document"


def _unique_id(candidate: str, used: set[str]) -> str:
    doc_id, counter = candidate, 2
    while doc_id in used:
        doc_id = f"{candidate}-{counter}"
        counter += 1
    return doc_id


def _meta_from_entry(entry: dict, relative: str) -> DocumentMeta:
    year = entry.get("year")
    return DocumentMeta(
        id=str(entry["id"]),
        title=str(entry.get("title") or ""),
        file=relative,
        publisher=str(entry.get("publisher") or ""),
        year=int(year) if year is not None else None,
        type=str(entry.get("type") or ""),
        language=str(entry.get("language") or "nl"),
    )
