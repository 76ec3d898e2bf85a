"""Compare retrieval configurations side by side on the dev question set.

    python -m evaluation.compare_retrieval "search_mode=vector" "chunk_size=600,chunk_overlap=100"

Each configuration gets its own temporary index of the corpus.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from assistant.retrieval.search_service import SearchService
from assistant.settings import Settings
from evaluation.retrieval_metrics import evaluate_retrieval, load_questions
from ingest.embeddings import create_embeddings
from ingest.pipeline import run_ingest
from ingest.store import ChunkStore


def parse_overrides(text: str) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    return {key.strip(): value.strip() for key, value in pairs}


def main(configs: list[str]) -> None:
    questions = load_questions()
    print(f"{len(questions)} questions")
    print(f"{'configuration':55s} hit@1  hit@3  hit@5  hit@10   MRR  chunks")
    for config in configs or ["default"]:
        overrides = {} if config == "default" else parse_overrides(config)
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(_env_file=None, data_dir=Path(tmp), **overrides)
            embeddings = create_embeddings(settings)
            report = run_ingest(settings, embeddings)
            service = SearchService(settings, ChunkStore(settings), embeddings)
            scores = evaluate_retrieval(service.search, questions)
        h = scores.hit_at
        print(
            f"{config[:55]:55s} {h[1]:.2f}   {h[3]:.2f}   {h[5]:.2f}   {h[10]:.2f}   "
            f"{scores.mrr:.3f}  {report.total_chunks}"
        )
        print(f"    misses@5: {' '.join(scores.misses)}")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
