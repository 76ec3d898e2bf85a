"""Precision and recall of the personal-data filter on a labelled sentence set."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from assistant.security.pii import find_personal_data

PII_SET = Path(__file__).parent / "security" / "pii-sentences-v1.jsonl"


@dataclass(frozen=True)
class PiiScores:
    """Entity-level scores: a finding counts when its kind matches a labelled span
    of the same sentence that it overlaps."""

    sentences: int
    precision: float
    recall: float
    per_kind: dict[str, dict[str, float]]
    misses: list[str]
    false_alarms: list[str]


def score_pii(path: Path = PII_SET) -> PiiScores:
    """Run the filter over every labelled sentence and count hits, misses, false alarms."""
    counts: Counter[tuple[str, str]] = Counter()
    misses, false_alarms = [], []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for item in lines:
        text, expected = item["text"], [(kind, span) for kind, span in item["pii"]]
        found = find_personal_data(text)
        spans = [(kind, text.index(span), text.index(span) + len(span)) for kind, span in expected]
        matched = set()
        for finding in found:
            hit = next(
                (
                    i
                    for i, (kind, start, end) in enumerate(spans)
                    if kind == finding.kind and finding.start < end and start < finding.end
                ),
                None,
            )
            if hit is None:
                counts[(finding.kind, "fp")] += 1
                false_alarms.append(f"{finding.kind}: {finding.text!r} in {text!r}")
            else:
                matched.add(hit)
        for i, (kind, start, end) in enumerate(spans):
            counts[(kind, "tp" if i in matched else "fn")] += 1
            if i not in matched:
                misses.append(f"{kind}: {text[start:end]!r} in {text!r}")
    kinds = sorted({kind for kind, _ in counts})
    per_kind = {kind: _pr(counts, [kind]) for kind in kinds}
    overall = _pr(counts, kinds)
    return PiiScores(
        len(lines), overall["precision"], overall["recall"], per_kind, misses, false_alarms
    )


def _pr(counts: Counter, kinds: list[str]) -> dict[str, float]:
    tp = sum(counts[(k, "tp")] for k in kinds)
    fp = sum(counts[(k, "fp")] for k in kinds)
    fn = sum(counts[(k, "fn")] for k in kinds)
    return {
        "precision": round(tp / (tp + fp), 3) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 3) if tp + fn else 1.0,
        "support": tp + fn,
    }
