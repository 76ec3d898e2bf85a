"""`wegwijzer eval` for real: the CLI on the real index, the embedded model, a real crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.services import build_services
from assistant.settings import Settings
from evaluation.golden import GOLDEN_SET, load_golden
from evaluation.ragas_scores import JUDGED_METRICS, RagasScorer
from tests.conftest import SHARED_MODEL_DIR

pytestmark = pytest.mark.integration


def eval_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEGWIJZER_")}
    env.update(
        WEGWIJZER_DATA_DIR=str(settings.data_dir),
        WEGWIJZER_CORPUS_DIR=str(settings.corpus_dir),
        WEGWIJZER_MODEL_DIR=str(SHARED_MODEL_DIR),
        WEGWIJZER_EMBEDDING_THREADS="1",
        WEGWIJZER_LLM_THREADS="1",
    )
    return env


# the original set's file: the reports' machinery, not the set, is under test here (the
# whole folder is scored in test_golden.py)
ORIGINAL_SET = GOLDEN_SET / "golden-v1.jsonl"


def run_eval(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", "--golden", str(ORIGINAL_SET), *args],
        env=eval_env(settings),
        capture_output=True,
        text=True,
        timeout=1800,
    )


def test_retrieval_comparison_writes_three_reports_and_fails_under_a_threshold(
    ingested: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    configs = ["--config", "default", "--config", "vector:search_mode=vector"]
    missed = run_eval(
        ingested, "--retrieval-only", "--out", str(out), *configs, "--fail-under", "hit@5=1.01"
    )
    assert missed.returncode == 1, missed.stderr
    assert "threshold missed" in missed.stderr and "hit@5" in missed.stderr
    report = json.loads((out / "report.json").read_text())
    assert set(report["headline"]) == {"default", "vector"}
    assert report["golden"]["items"] == len(load_golden(ORIGINAL_SET))
    assert report["git_commit"] and report["corpus_version"]
    for figures in report["headline"].values():
        assert 0.0 < figures["hit@5"] <= 1.0 and 0.0 < figures["mrr"] <= figures["hit@5"]
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "vector" in html
    assert "| metric | default | vector |" in (out / "report.md").read_text()

    # the same run again is answered from results.jsonl, and passes a reachable threshold
    lines = (out / "results.jsonl").read_text().count("\n")
    passed = run_eval(
        ingested, "--retrieval-only", "--out", str(out), *configs, "--fail-under", "hit@5=0.5"
    )
    assert passed.returncode == 0, passed.stderr
    assert (out / "results.jsonl").read_text().count("\n") == lines, "nothing evaluated twice"


def test_bad_arguments_are_clear_errors(ingested: Settings, tmp_path: Path) -> None:
    unknown = run_eval(
        ingested, "--retrieval-only", "--config", "chunk_sise=5", "--out", str(tmp_path)
    )
    assert unknown.returncode == 2 and "unknown setting" in unknown.stderr
    bad_metric = run_eval(ingested, "--fail-under", "speed=9", "--out", str(tmp_path))
    assert bad_metric.returncode == 2 and "unknown metric" in bad_metric.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "g001", "question": "x?"}\n')
    invalid = run_eval(ingested, "--golden", str(broken), "--out", str(tmp_path))
    assert invalid.returncode == 2 and "line 1" in invalid.stderr


def test_a_crashed_run_resumes_without_losing_finished_items(
    ingested: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    args = ["--category", "single_fact", "--limit", "3", "--out", str(out)]
    results = out / "results.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "eval", *args],
        env=eval_env(ingested),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and process.poll() is None:
        if results.exists() and results.read_text().count("\n") >= 1:
            break
        time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    first = results.read_text().splitlines()
    assert 1 <= len(first) < 3, "killed halfway"

    resumed = run_eval(ingested, *args)
    assert resumed.returncode == 0, resumed.stderr
    lines = results.read_text().splitlines()
    assert len(lines) == 3 and lines[: len(first)] == first, "finished items kept, not redone"
    records = [json.loads(line) for line in lines]
    assert all(r["answer"] and r["answer"]["answer"] for r in records)
    assert all(r["answer"]["first_token_ms"] for r in records if not r["answer"]["refused"])
    report = json.loads((out / "report.json").read_text())
    figures = report["headline"]["default"]
    for metric in ("citation_precision", "key_fact_recall", "semantic_similarity", "rouge_score"):
        assert 0.0 <= figures[metric] <= 1.0


def test_judged_ragas_metrics_score_or_are_counted_as_missing(ingested: Settings) -> None:
    """The embedded model as RAGAS judge on one answered item: each judged metric gives a
    score in [0, 1] or a recorded failure (local judges do fail; they must be counted)."""
    services = build_services(ingested.model_copy(update={"answer_cache": False}))
    golden = next(i for i in load_golden(GOLDEN_SET) if i.category == "single_fact")
    result = services.answers.answer(golden.question)
    scorer = RagasScorer(services.embeddings, services.llm.current().model, timeout_s=300)
    contexts = [c["text"] for c in result.citations] or ["(geen)"]
    outcome = scorer.score(
        golden.question, result.answer, golden.reference, contexts, golden.reference_contexts
    )
    for metric in JUDGED_METRICS:
        assert metric in outcome.scores
        value = outcome.scores[metric]
        assert (value is not None and 0.0 <= value <= 1.0) or metric in outcome.failures
