"""Ingest the corpus: load, clean, chunk, embed, store; incremental and crash-safe.

``run_ingest`` compares the corpus with the active index state. Unchanged
documents (same file hash, same metadata, same pipeline settings) are copied
with their vectors; changed and new ones are chunked and embedded; removed ones
are left out. The new generation becomes active in one step at the end.
A file that fails to load is reported and skipped; if an earlier version of it
was indexed, that version is kept rather than lost.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from langchain_core.embeddings import Embeddings

from assistant.generation.sentences import source_sentences
from assistant.retrieval.sentence_vectors import SentenceVectors
from assistant.security.injection import screen
from assistant.settings import Settings
from ingest.catalog import discover, with_derived_title
from ingest.chunking import PIPELINE_VERSION, chunk_sections, split_windows
from ingest.cleaning import clean_text
from ingest.documents import Chunk, Page, SourceFile
from ingest.loaders import SUPPORTED_EXTENSIONS, LoadError, load_file
from ingest.store import ChunkStore, DocumentState, IndexState
from ingest.structure import split_sections

ProgressCallback = Callable[[str, int, int], None]


@dataclass
class IngestReport:
    """What an ingest did; ``problems`` maps a file to a readable reason."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    flagged: dict[str, list[str]] = field(default_factory=dict)  # chunk id -> signals
    chunks_embedded: int = 0
    sentences_embedded: int = 0
    total_chunks: int = 0
    documents: int = 0
    seconds: float = 0.0
    changed: bool = False


def chunk_document(source: SourceFile, settings: Settings) -> tuple[SourceFile, list[Chunk]]:
    """Load, clean and chunk one file; raises ``LoadError`` with a readable reason."""
    loaded = load_file(source.path, settings.ingest_max_file_bytes, settings.ingest_max_pages)
    pages = [Page(page.number, clean_text(page.text)) for page in loaded.pages]
    meta = with_derived_title(source.meta, loaded.title)
    sections = split_sections(pages)
    chunks = chunk_sections(meta, sections, settings.chunk_size, settings.chunk_overlap)
    if not chunks:
        raise LoadError("no text left after cleaning")
    chunks = [replace(chunk, injection_score=screen(chunk.text).score) for chunk in chunks]
    return SourceFile(source.path, meta, source.file_hash), chunks


def search_text(chunk: Chunk) -> str:
    """What is embedded and keyword-indexed: document title, section and text."""
    return "\n".join(part for part in (chunk.title, chunk.section, chunk.text) if part)


def add_to_corpus(paths: list[Path], corpus_dir: Path) -> dict[str, str]:
    """Copy files (or the supported files in folders) into the corpus; returns problems."""
    problems: dict[str, str] = {}
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for path in paths:
        if not path.exists():
            problems[str(path)] = "file not found"
            continue
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if file.suffix.lower() not in SUPPORTED_EXTENSIONS:
                problems[str(file)] = f"unsupported file type '{file.suffix or '(none)'}'"
                continue
            target = corpus_dir / file.name
            if file.resolve() != target.resolve():
                shutil.copy2(file, target)
    return problems


def run_ingest(
    settings: Settings,
    embeddings: Embeddings,
    store: ChunkStore | None = None,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
    sentence_vectors: SentenceVectors | None = None,
) -> IngestReport:
    """Bring the index in line with ``settings.corpus_dir``; with ``sentence_vectors``,
    also embed into its store the active index's sentences it lacks, so that questions
    need not."""
    started = time.perf_counter()
    store = store or ChunkStore(settings)
    report = IngestReport()
    catalog = discover(settings.corpus_dir)
    report.problems.update(catalog.skipped)

    previous = store.active_state()
    compatible = (
        previous is not None
        and not rebuild
        and previous.embedding == settings.embedding_id
        and previous.chunking == settings.chunking_id
        and previous.pipeline_version == PIPELINE_VERSION
    )
    old_docs = previous.documents if (previous and compatible) else {}

    keep: dict[str, DocumentState] = {}
    todo: list[SourceFile] = []
    for source in catalog.sources:
        old = old_docs.get(source.meta.id)
        if old and old.file_hash == source.file_hash and _same_meta(old, source):
            keep[source.meta.id] = old
        else:
            todo.append(source)
    current_ids = {source.meta.id for source in catalog.sources}
    report.removed = sorted(set(old_docs) - current_ids)
    report.unchanged = sorted(keep)

    prepared: list[tuple[SourceFile, list[Chunk]]] = []
    for source in todo:
        try:
            prepared.append(chunk_document(source, settings))
        except (LoadError, OSError) as exc:
            report.problems[source.meta.file] = str(exc)
            old = old_docs.get(source.meta.id)
            if old is not None:  # keep the version we had rather than lose it
                keep[old.doc_id] = old

    if previous is not None and compatible and not prepared and not report.removed:
        store.remove_stale_generations(keep=previous.collection)
        _fill_sentence_vectors(report, store, previous, sentence_vectors)
        return _finish(report, previous, started)

    generation = store.create_generation()
    try:
        if previous is not None and keep:
            store.copy_documents(store.collection(previous.collection), generation, sorted(keep))
        new_docs = dict(keep)
        for index, (source, chunks) in enumerate(prepared, start=1):
            if progress:
                progress(source.meta.file, index, len(prepared))
            windows = [
                (chunk, index, text)
                for chunk in chunks
                for index, text in enumerate(split_windows(chunk.text, settings.window_chars))
            ]
            vectors = embeddings.embed_documents(
                [search_text(chunk) for chunk in chunks]
                + [search_text(replace(chunk, text=text)) for chunk, _, text in windows]
            )
            store.add_chunks(generation, chunks, vectors[: len(chunks)])
            report.flagged |= {
                chunk.chunk_id: screen(chunk.text).signals
                for chunk in chunks
                if chunk.injection_score >= settings.injection_threshold
            }
            store.add_windows(generation, windows, vectors[len(chunks) :])
            report.chunks_embedded += len(chunks)
            new_docs[source.meta.id] = _document_state(source, len(chunks))
            (report.updated if source.meta.id in old_docs else report.added).append(source.meta.id)
        state = IndexState(
            collection=generation.name,
            embedding=settings.embedding_id,
            chunking=settings.chunking_id,
            pipeline_version=PIPELINE_VERSION,
            documents=new_docs,
        )
        store.activate(state)
    except BaseException:
        store.drop(generation.name)
        raise
    report.changed = True
    store.remove_stale_generations(keep=generation.name)
    _fill_sentence_vectors(report, store, state, sentence_vectors)
    return _finish(report, state, started)


def _fill_sentence_vectors(
    report: IngestReport,
    store: ChunkStore,
    state: IndexState,
    sentence_vectors: SentenceVectors | None,
) -> None:
    """Embed the sentences of the active index that the store lacks: the new chunks',
    or all of them after the store was removed or the embedding model changed."""
    if sentence_vectors is None:
        return
    chunks = store.iter_chunks(store.collection(state.collection))
    report.sentences_embedded = sentence_vectors.fill(
        text for chunk in chunks for text in source_sentences(chunk.text)
    )


def _same_meta(old: DocumentState, source: SourceFile) -> bool:
    meta = source.meta
    return (
        old.file == meta.file
        and (not meta.title or old.title == meta.title)
        and old.publisher == meta.publisher
        and old.year == meta.year
        and old.type == meta.type
        and old.language == meta.language
    )


def _document_state(source: SourceFile, chunks: int) -> DocumentState:
    meta = source.meta
    return DocumentState(
        doc_id=meta.id,
        file=meta.file,
        file_hash=source.file_hash,
        title=meta.title,
        chunks=chunks,
        publisher=meta.publisher,
        year=meta.year,
        type=meta.type,
        language=meta.language,
    )


def _finish(report: IngestReport, state: IndexState, started: float) -> IngestReport:
    report.documents = len(state.documents)
    report.total_chunks = state.chunk_count
    report.seconds = time.perf_counter() - started
    return report
