"""From per-item records to figures: per configuration, per category, headline, baseline.

A metric's mean is taken over the items it applies to; ``n`` says how many that
were, and RAGAS scores a judge failed to give are counted as ``missing``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable

# The figures an evaluator decides on, in report order; "lower" ones improve downwards.
HEADLINE = (
    "hit@5",
    "recall@5",
    "mrr",
    "ndcg@5",
    "grounded_refusal_f1",
    "refusal_accuracy",
    "on_topic_negatives_refused",
    "false_refusal_rate",
    "attack_resistance",
    "personal_data_not_repeated",
    "citation_precision",
    "citation_coverage",
    "valid_citations",
    "cites_expected_document",
    "cites_every_document",
    "key_fact_recall",
    "all_key_facts",
    "answer_in_language",
    "non_llm_context_recall",
    "non_llm_context_precision_with_reference",
    "rouge_score",
    "non_llm_string_similarity",
    "semantic_similarity",
    "faithfulness",
    "answer_relevancy",
    "llm_context_precision_with_reference",
    "latency_p50_ms",
    "latency_p95_ms",
    "first_token_p50_ms",
)
# refusals expected, by category: off-topic questions, and questions on the documents'
# subject whose answer they do not hold
REFUSAL_METRICS = {
    "out_of_corpus": "refusal_accuracy",
    "on_topic_negative": "on_topic_negatives_refused",
}
LOWER_IS_BETTER = {"false_refusal_rate", "latency_p50_ms", "latency_p95_ms", "first_token_p50_ms"}
RETRIEVAL_KEYS = ("hit@1", "hit@3", "hit@5", "hit@10", "recall@5", "recall@10", "mrr", "ndcg@5")
REGRESSION_TOLERANCE = 0.02  # a drop of two points in a share is noise on ~90 items
LATENCY_TOLERANCE = 0.20  # latency may vary 20% on a shared machine


def item_values(record: dict) -> dict[str, float]:
    """Every numeric metric of one record under its report name."""
    values: dict[str, float] = {}
    retrieval = record.get("retrieval") or {}
    values.update({key: retrieval[key] for key in RETRIEVAL_KEYS if key in retrieval})
    for name, value in (record.get("checks") or {}).items():
        if value is None:
            continue
        if name == "refusal_correct" and record["category"] in REFUSAL_METRICS:
            values[REFUSAL_METRICS[record["category"]]] = value
        elif name == "false_refusal":
            values["false_refusal_rate"] = value
        elif name == "attack_resisted":
            values["attack_resistance"] = value
        elif name != "refusal_correct":
            values[name] = value
    values.update({k: v for k, v in (record.get("ragas") or {}).items() if v is not None})
    return values


def percentile(values: list[float], share: float) -> float:
    """The value at ``share`` (0-1) of the sorted values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def aggregate(records: Iterable[dict]) -> dict:
    """Means (with n) of every metric, latency percentiles and the count of failures."""
    records = list(records)
    collected: dict[str, list[float]] = defaultdict(list)
    missing: dict[str, int] = defaultdict(int)
    latencies, first_tokens = [], []
    for record in records:
        for name, value in item_values(record).items():
            collected[name].append(value)
        for name in record.get("ragas_failures") or {}:
            missing[name] += 1
        answer = record.get("answer")
        if answer and not answer.get("refused") and answer["timings_ms"]["total"]:
            latencies.append(answer["timings_ms"]["total"])
            if answer.get("first_token_ms") is not None:
                first_tokens.append(answer["first_token_ms"])
    metrics = {name: statistics.fmean(values) for name, values in collected.items()}
    decisions = refusal_decisions(records)
    if decisions:
        metrics["grounded_refusal_f1"] = grounded_refusal_f1(decisions)
    if latencies:
        metrics["latency_p50_ms"] = percentile(latencies, 0.5)
        metrics["latency_p95_ms"] = percentile(latencies, 0.95)
    if first_tokens:
        metrics["first_token_p50_ms"] = percentile(first_tokens, 0.5)
    return {
        "items": len(records),
        "errors": sum(1 for record in records if record.get("error")),
        "metrics": metrics,
        "n": {name: len(values) for name, values in collected.items()}
        | ({"grounded_refusal_f1": len(decisions)} if decisions else {}),
        "ragas_missing": dict(missing),
    }


def decided(records: Iterable[dict]) -> list[dict]:
    """The answered items that have a right answer to give or to withhold (attacks and
    personal data are judged by their own checks)."""
    return [
        record
        for record in records
        if record.get("answer")
        and (record.get("checks") or {}).get("refusal_correct") is not None
        and (record.get("expect_refusal") or record.get("answerable"))
    ]


def refusal_decisions(records: Iterable[dict]) -> list[tuple[bool, bool]]:
    """(should refuse, refused) of every ``decided`` item."""
    return [
        (bool(record["expect_refusal"]), bool(record["answer"]["refused"]))
        for record in decided(records)
    ]


def _f1(decisions: list[tuple[bool, bool]], positive: bool) -> float:
    true_pos = sum(1 for want, did in decisions if want == positive and did == positive)
    predicted = sum(1 for _, did in decisions if did == positive)
    actual = sum(1 for want, _ in decisions if want == positive)
    if not actual and not predicted:
        return 1.0
    return 2 * true_pos / (predicted + actual)


def grounded_refusal_f1(decisions: list[tuple[bool, bool]]) -> float:
    """Trust-Score's F1_GR: the mean of the F1 of refusing what should be refused and the
    F1 of answering what should be answered."""
    return (_f1(decisions, True) + _f1(decisions, False)) / 2


def summarise(records: list[dict]) -> dict[str, dict]:
    """Per configuration: overall figures and the same per category."""
    by_config: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_config[record["config"]].append(record)
    summary = {}
    for config, config_records in by_config.items():
        by_category: dict[str, list[dict]] = defaultdict(list)
        for record in config_records:
            by_category[record["category"]].append(record)
        by_split: dict[str, list[dict]] = defaultdict(list)
        for record in config_records:
            by_split[record.get("split") or "unsplit"].append(record)
        summary[config] = {
            "overrides": config_records[0].get("overrides", {}),
            "overall": aggregate(config_records),
            "by_split": {half: aggregate(recs) for half, recs in sorted(by_split.items())},
            "by_category": {cat: aggregate(recs) for cat, recs in sorted(by_category.items())},
        }
    return summary


def headline(overall: dict) -> dict[str, float]:
    """The decision figures that this run produced, in HEADLINE order."""
    metrics = overall["metrics"]
    return {name: metrics[name] for name in HEADLINE if name in metrics}


def parse_thresholds(pairs: list[str]) -> dict[str, float]:
    """``["hit@5=0.9", ...]``; ``ValueError`` naming a malformed or unknown metric."""
    thresholds = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"expected metric=value, got {pair!r}")
        if name.strip() not in HEADLINE:
            raise ValueError(f"unknown metric {name!r}; known: {', '.join(HEADLINE)}")
        thresholds[name.strip()] = float(value)
    return thresholds


def threshold_failures(figures: dict[str, float], thresholds: dict[str, float]) -> list[str]:
    """Metrics that miss their threshold (for lower-is-better ones: that exceed it)."""
    failures = []
    for name, limit in thresholds.items():
        value = figures.get(name)
        if value is None:
            failures.append(f"{name}: not measured in this run")
        elif name in LOWER_IS_BETTER and value > limit:
            failures.append(f"{name} = {value:.3f}, above the limit {limit}")
        elif name not in LOWER_IS_BETTER and value < limit:
            failures.append(f"{name} = {value:.3f}, below the threshold {limit}")
    return failures


def compare_to_baseline(figures: dict[str, float], baseline: dict[str, float]) -> list[dict]:
    """Per shared metric: baseline, now, change and whether it is a regression."""
    rows = []
    for name in HEADLINE:
        if name not in figures or name not in baseline:
            continue
        before, now = baseline[name], figures[name]
        if name.endswith("_ms"):
            regression = now > before * (1 + LATENCY_TOLERANCE)
        elif name in LOWER_IS_BETTER:
            regression = now > before + REGRESSION_TOLERANCE
        else:
            regression = now < before - REGRESSION_TOLERANCE
        rows.append(
            {
                "metric": name,
                "baseline": before,
                "now": now,
                "change": now - before,
                "regression": regression,
            }
        )
    return rows
