"""Ingest and search figures on this machine (part of ``make bench``).

Prints, and writes to ``$WEGWIJZER_DATA_DIR/bench/retrieval.json``:
cold ingest of the corpus, re-ingest with nothing changed (in-process and as the
CLI), chunks/s, search latency p50/p95 over 100 queries on the corpus and on a
synthetic 10,000-chunk index, and peak RSS.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.retrieval.search_service import SearchService
from assistant.settings import Settings
from benchmarks.report import REPO, run_cli, write_report
from evaluation.retrieval_metrics import load_questions
from evaluation.summary import percentile
from ingest.chunking import PIPELINE_VERSION
from ingest.documents import Chunk, sha256_text
from ingest.embeddings import create_embeddings
from ingest.pipeline import run_ingest
from ingest.store import ChunkStore, DocumentState, IndexState

SYNTHETIC_CHUNKS = 10_000
WINDOWS_PER_CHUNK = 3
QUERIES = 100


def search_latency(service: SearchService, questions: list[str]) -> dict[str, float]:
    service.search(questions[0], 5)  # load the snapshot outside the measurement
    timings = []
    for i in range(QUERIES):
        started = time.perf_counter()
        service.search(questions[i % len(questions)], 5)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "max_ms": round(max(timings), 1),
    }


def build_synthetic_index(settings: Settings, source: Settings, rng: random.Random) -> int:
    """10,000 chunks made of corpus sentences, with perturbed copies of real vectors."""
    source_store = ChunkStore(source)
    source_collection = source_store.collection(source_store.active_state().collection)
    real = source_collection.get(include=["embeddings", "documents"])
    vectors = np.array(real["embeddings"], dtype=np.float32)
    sentences = [s for doc in real["documents"] for s in doc.split(". ") if len(s) > 30]
    store = ChunkStore(settings)
    generation = store.create_generation()
    batch_chunks: list[Chunk] = []
    batch_windows: list[tuple[Chunk, int, str]] = []
    documents: dict[str, DocumentState] = {}

    def noisy(count: int) -> list[list[float]]:
        picked = vectors[[rng.randrange(len(vectors)) for _ in range(count)]]
        picked = picked + np.random.default_rng(rng.randrange(1 << 30)).normal(
            0, 0.02, picked.shape
        ).astype(np.float32)
        return (picked / np.linalg.norm(picked, axis=1, keepdims=True)).tolist()

    for i in range(SYNTHETIC_CHUNKS):
        doc_id = f"synthetic-{i // 100:03d}"
        text = ". ".join(rng.sample(sentences, 6))[:800]
        chunk = Chunk(
            chunk_id=f"{doc_id}:{i:05d}",
            doc_id=doc_id,
            title=f"Synthetisch document {i // 100}",
            section="Sectie",
            page=None,
            position=i % 100,
            text=text,
            content_hash=sha256_text(text),
        )
        batch_chunks.append(chunk)
        batch_windows.extend((chunk, w, text[w * 250 : w * 250 + 300]) for w in range(3))
        state = documents.setdefault(
            doc_id, DocumentState(doc_id, f"{doc_id}.txt", "synthetic", chunk.title, 0)
        )
        state.chunks += 1
        if len(batch_chunks) == 1000:
            store.add_chunks(generation, batch_chunks, noisy(len(batch_chunks)))
            store.add_windows(generation, batch_windows, noisy(len(batch_windows)))
            batch_chunks, batch_windows = [], []
    store.activate(
        IndexState(
            collection=generation.name,
            embedding=settings.embedding_id,
            chunking=settings.chunking_id,
            pipeline_version=PIPELINE_VERSION,
            documents=documents,
        )
    )
    return SYNTHETIC_CHUNKS


def main() -> None:
    results: dict[str, object] = {}
    questions = [q.question for q in load_questions()]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None, data_dir=Path(tmp) / "corpus", corpus_dir=REPO / "corpus"
        )
        embeddings = create_embeddings(settings)

        started = time.perf_counter()
        report = run_ingest(settings, embeddings)
        cold = time.perf_counter() - started
        results["cold_ingest_s"] = round(cold, 1)
        results["chunks"] = report.total_chunks
        results["chunks_per_s"] = round(report.total_chunks / cold, 1)

        started = time.perf_counter()
        again = run_ingest(settings, embeddings)
        results["reingest_unchanged_s"] = round(time.perf_counter() - started, 3)
        assert not again.changed

        env = {
            **os.environ,
            "WEGWIJZER_DATA_DIR": str(settings.data_dir),
            "WEGWIJZER_CORPUS_DIR": str(REPO / "corpus"),
        }
        started = time.perf_counter()
        run_cli(env, "ingest")
        results["reingest_unchanged_cli_s"] = round(time.perf_counter() - started, 2)

        service = SearchService(settings, ChunkStore(settings), embeddings)
        results["search_corpus"] = search_latency(service, questions)

        large = Settings(_env_file=None, data_dir=Path(tmp) / "large", corpus_dir=REPO / "corpus")
        started = time.perf_counter()
        build_synthetic_index(large, settings, random.Random(7))
        results["synthetic_index_build_s"] = round(time.perf_counter() - started, 1)
        large_service = SearchService(large, ChunkStore(large), embeddings)
        started = time.perf_counter()
        large_service.search("warmup", 5)
        results["synthetic_snapshot_load_s"] = round(time.perf_counter() - started, 2)
        results["search_10k_chunks"] = search_latency(large_service, questions)

    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    write_report(Settings().data_dir, "retrieval", results)


if __name__ == "__main__":
    main()
