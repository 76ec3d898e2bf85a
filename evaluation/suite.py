"""``wegwijzer eval`` end to end: golden set → runs → figures → reports → verdict."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from assistant.settings import Settings
from evaluation.configs import EvalConfig
from evaluation.golden import (
    GOLDEN_SET,
    corpus_texts,
    golden_digest,
    load_golden,
    validate_golden,
)
from evaluation.report import build_report, git_commit, write_reports
from evaluation.runner import ProgressCallback, RunOptions, evaluate
from evaluation.splits import SPLIT_FILE, in_half, load_split
from evaluation.summary import compare_to_baseline, headline, summarise, threshold_failures

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = Path(__file__).parent / "baseline.json"


class GoldenSetInvalid(ValueError):
    """The golden set does not pass its own validation; nothing was evaluated."""


@dataclass
class EvalRequest:
    golden: Path = GOLDEN_SET
    out_dir: Path = Path("reports")
    configs: list[EvalConfig] = field(default_factory=lambda: [EvalConfig("default")])
    options: RunOptions = field(default_factory=RunOptions)
    limit: int | None = None
    categories: list[str] = field(default_factory=list)
    half: str | None = None  # "dev" or "test": only that half of the set
    thresholds: dict[str, float] = field(default_factory=dict)
    baseline: Path | None = DEFAULT_BASELINE
    save_baseline: Path | None = None


@dataclass
class EvalOutcome:
    reports: list[Path]
    headline: dict[str, dict[str, float]]
    failures: list[str]
    regressions: list[str]


def run_suite(
    settings: Settings, request: EvalRequest, on_item: ProgressCallback | None = None
) -> EvalOutcome:
    """Validate the golden set, run every configuration, write the three reports."""
    items = load_golden(request.golden)
    problems = validate_golden(items, corpus_texts(settings.corpus_dir), complete=False)
    if problems:
        raise GoldenSetInvalid("; ".join(problems[:10]))
    split = load_split(request.golden / SPLIT_FILE.name) if request.golden.is_dir() else {}
    if request.half is not None:
        items = in_half(items, request.half, split)
    if request.categories:
        items = [item for item in items if item.category in request.categories]
    if request.limit is not None:
        items = _spread(items, request.limit)

    records = evaluate(settings, request.configs, items, request.out_dir, request.options, on_item)
    for record in records:
        record["split"] = split.get(record["id"])
    summary = summarise(records)
    figures = headline(next(iter(summary.values()))["overall"])
    baseline_rows = None
    if request.baseline and request.baseline.exists():
        baseline = json.loads(request.baseline.read_text(encoding="utf-8"))
        baseline_rows = compare_to_baseline(figures, next(iter(baseline["headline"].values())))
    failures = threshold_failures(figures, request.thresholds)
    context = {
        "git_commit": git_commit(REPO),
        "golden": {
            "path": str(request.golden),
            "sha256": golden_digest(request.golden),
            "items": len(items),
            "half": request.half,
        },
        "mode": "retrieval only" if request.options.retrieval_only else "answers",
        "judge": request.options.judge,
        "corpus_version": sorted({str(r.get("corpus_version")) for r in records}),
        "models": sorted({r["answer"]["model"] for r in records if r.get("answer")}),
        "prompt_version": sorted(
            {r["answer"]["prompt_version"] for r in records if r.get("answer")}
        ),
        "baseline_path": str(request.baseline) if baseline_rows is not None else None,
        "thresholds": request.thresholds,
    }
    report = build_report(records, summary, context, baseline_rows, failures)
    paths = write_reports(report, request.out_dir, settings)
    if request.save_baseline:
        keep = {k: report[k] for k in ("created", "git_commit", "golden", "mode", "headline")}
        request.save_baseline.write_text(json.dumps(keep, indent=1) + "\n", encoding="utf-8")
    regressions = [row["metric"] for row in baseline_rows or [] if row["regression"]]
    return EvalOutcome(paths, report["headline"], failures, regressions)


def _spread(items: list, limit: int) -> list:
    """``limit`` items spread over the set: every category gets its share (round robin),
    taken evenly from across the category, so a small run is a fair sample."""
    if limit >= len(items):
        return items
    by_category: dict[str, list] = {}
    for item in items:
        by_category.setdefault(item.category, []).append(item)
    quota = dict.fromkeys(by_category, 0)
    while sum(quota.values()) < limit:
        for category, group in by_category.items():
            if quota[category] < len(group) and sum(quota.values()) < limit:
                quota[category] += 1
    chosen = []
    for category, group in by_category.items():
        step = len(group) / quota[category] if quota[category] else 0
        chosen += [group[int(i * step + step / 2)] for i in range(quota[category])]
    return sorted(chosen, key=lambda item: item.id)
