"""Choose the answerability thresholds on the dev half; report them on the test half.

Input: ``results.jsonl`` of an evaluation run with ``answerability_check=false``, so
that every answer was given and carries its signals (``answer.answerability``).
Each pair of thresholds is simulated on those records: an answer is refused when it
was refused anyway (the retrieval gate) or when its signals miss a threshold. The
pair kept is the one with the best grounded-refusal F1 on dev among those that
refuse at most ``--max-false-refusals`` of dev's answerable items.

    python -m evaluation.answerability_fit reports/results.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from evaluation.splits import load_split
from evaluation.summary import decided, grounded_refusal_f1

SCORES = [round(0.70 + 0.01 * i, 2) for i in range(41)]  # best evidence sentence
COVERAGES = [round(0.05 * i, 2) for i in range(15)]  # the question's rarer words held


def refused(record: dict, min_score: float, min_coverage: float, typed: bool) -> bool:
    answer = record["answer"]
    if answer["refused"]:
        return True
    signals = answer.get("answerability") or {}
    if not signals:
        return False
    if typed and signals["asked_for"] is not None and not signals["stated"]:
        return True
    return signals["best_score"] < min_score or signals["best_coverage"] < min_coverage


def figures(records: list[dict], min_score: float, min_coverage: float, typed: bool) -> dict:
    pairs = [
        (bool(r["expect_refusal"]), refused(r, min_score, min_coverage, typed)) for r in records
    ]
    answerable = [did for want, did in pairs if not want]
    by_kind: dict[str, list[bool]] = {}
    for record, (want, did) in zip(records, pairs, strict=True):
        if want:
            by_kind.setdefault(record["category"], []).append(did)
    return {
        "grounded_refusal_f1": grounded_refusal_f1(pairs),
        "false_refusal_rate": sum(answerable) / len(answerable) if answerable else 0.0,
        **{f"refused_{kind}": sum(v) / len(v) for kind, v in sorted(by_kind.items())},
        "items": len(pairs),
    }


def fit(records: list[dict], max_false_refusals: float) -> tuple[dict, dict]:
    """The thresholds that do best on these records, and their figures."""
    best: tuple[float, dict, dict] | None = None
    for typed, score, coverage in itertools.product((True, False), SCORES, COVERAGES):
        result = figures(records, score, coverage, typed)
        if result["false_refusal_rate"] > max_false_refusals:
            continue
        rank = result["grounded_refusal_f1"]
        if best is None or rank > best[0] + 1e-9:
            best = (rank, {"typed": typed, "min_score": score, "min_coverage": coverage}, result)
    assert best is not None, "no thresholds keep false refusals within the limit"
    return best[1], best[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--max-false-refusals", type=float, default=0.05)
    parser.add_argument(
        "--rejudge", action="store_true", help="Compute the signals again with the current code."
    )
    args = parser.parse_args()
    lines = args.results.read_text(encoding="utf-8").splitlines()
    split = load_split()
    records = decided([json.loads(line) for line in lines if line.strip()])
    if args.rejudge:
        records = rejudge(records)
    dev = [r for r in records if split.get(r["id"]) == "dev"]
    test = [r for r in records if split.get(r["id"]) == "test"]
    chosen, on_dev = fit(dev, args.max_false_refusals)
    on_test = figures(test, chosen["min_score"], chosen["min_coverage"], chosen["typed"])
    untouched = {"dev": figures(dev, -9, 0, False), "test": figures(test, -9, 0, False)}
    print(
        json.dumps(
            {"chosen": chosen, "dev": on_dev, "test": on_test, "without": untouched}, indent=1
        )
    )
    return 0


def rejudge(records: list[dict]) -> list[dict]:
    """The records with their answerability signals computed again by the current code,
    from the same searches (``searched_as`` and the parts), without the model: for trying
    a change to the decision on dev in seconds instead of an evaluation run. The judge's
    thresholds are the settings' (``WEGWIJZER_ANSWERABILITY_*``); tokens are estimated
    as characters / 3 instead of counted by the model."""
    from assistant.generation.answer_service import QueryPlan
    from assistant.retrieval.question_parts import question_parts
    from assistant.services import build_services
    from assistant.settings import Settings

    settings = Settings()
    services = build_services(settings)
    for record in records:
        answer = record["answer"]
        if answer["refused"] or not answer.get("answerability"):
            continue
        question = record.get("standalone_question") or record["question"]
        parts = tuple(record.get("search_parts") or question_parts(question))
        plan = QueryPlan(question, record["searched_as"], question, "nl", "nl", parts)
        hits = services.search.search(plan.search_query, settings.answer_passages, parts=parts)
        passages = services.answers.passages_to_read(
            plan.search_query, hits, lambda text: len(text) // 3
        )
        verdict = services.answers.answerability(plan, passages)
        if verdict is not None:
            answer["answerability"] = verdict.record()
    return records


if __name__ == "__main__":
    raise SystemExit(main())
