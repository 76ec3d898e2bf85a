"""The golden set's dev and test halves, and the refusal figures computed over them."""

from __future__ import annotations

from collections import Counter

import pytest

from evaluation.answer_checks import answer_checks
from evaluation.golden import GOLDEN_SET, GoldenItem, load_golden
from evaluation.splits import SPLIT_FILE, assign, load_split, split_problems
from evaluation.summary import aggregate, grounded_refusal_f1, summarise
from tests.conftest import DECK

pytestmark = pytest.mark.unit
PAPER = "vng-position-paper-ai-en-algoritmen"


def _item(item_id: str, category: str = "single_fact", **fields: object) -> GoldenItem:
    refused = category in ("out_of_corpus", "on_topic_negative")
    values: dict[str, object] = {
        "id": item_id,
        "question": f"Vraag {item_id} over het inkopen van AI?",
        "reference": "Data, Model en Applicatie of Dienst.",
        "reference_contexts": [] if refused else ["Data, Model en Applicatie of Dienst"],
        "doc_ids": [] if refused else [DECK],
        "category": category,
        "expect_refusal": refused,
    }
    return GoldenItem.model_validate(values | fields)


def test_every_golden_item_has_a_half_and_paraphrases_share_their_originals() -> None:
    items = load_golden(GOLDEN_SET)
    split = load_split(SPLIT_FILE)
    assert split_problems(items, split) == []
    halves = Counter(split[item.id] for item in items)
    assert abs(halves["dev"] - halves["test"]) <= len({i.category for i in items})
    for category in {item.category for item in items}:
        in_category = Counter(split[i.id] for i in items if i.category == category)
        assert abs(in_category["dev"] - in_category["test"]) <= 1, category


def test_a_new_item_gets_a_half_and_old_ones_keep_theirs() -> None:
    old = [_item("g001"), _item("g002")]
    known = {"g001": "test", "g002": "test"}
    new = _item("g003")
    paraphrase = _item("g004", "paraphrase", paraphrase_of="g001")
    split = assign([*old, new, paraphrase], known)
    assert split["g001"] == split["g002"] == "test"  # never moved, though unbalanced
    assert split["g003"] == "dev"  # to the half with fewer of its category
    assert split["g004"] == "test"  # with its original
    assert split_problems([*old, paraphrase], {"g001": "dev", "g004": "test"}) == [
        "g002: in neither half",
        "g004: not in the half of g001",
    ]


def test_grounded_refusal_f1_is_the_mean_of_both_f1s() -> None:
    # 4 to refuse (3 refused), 6 to answer (1 refused): F1 refuse = 6/8, F1 answer = 10/12
    decisions = [(True, True)] * 3 + [(True, False)] + [(False, True)] + [(False, False)] * 5
    assert grounded_refusal_f1(decisions) == pytest.approx((6 / 8 + 10 / 12) / 2)
    assert grounded_refusal_f1([(False, False)] * 3) == 1.0  # nothing to refuse, none refused
    assert grounded_refusal_f1([(False, True)]) == 0.0


def _record(item: GoldenItem, refused: bool, split: str, citations: list[dict]) -> dict:
    answer = {"answer": "Data, Model en Applicatie of Dienst [1].", "refused": refused}
    answer |= {"citations": citations, "timings_ms": {"total": 0}}
    return {
        "id": item.id,
        "config": "default",
        "category": item.category,
        "split": split,
        "expect_refusal": item.expect_refusal,
        "answerable": item.answerable,
        "answer": answer,
        "checks": answer_checks(item, answer, "systeem", 0.3),
    }


def test_figures_per_half_with_refusals_by_kind_and_two_document_citations() -> None:
    deck = {"n": 1, "doc_id": DECK, "text": "Data, Model en Applicatie of Dienst", "section": ""}
    negative = _item("g100", "on_topic_negative")
    off_topic = _item("g036", "out_of_corpus")
    two_docs = _item("g170", "two_document", doc_ids=[DECK, PAPER])
    answerable = _item("g001")
    records = [
        _record(negative, refused=False, split="dev", citations=[deck]),
        _record(off_topic, refused=True, split="dev", citations=[]),
        _record(two_docs, refused=False, split="test", citations=[deck]),
        _record(answerable, refused=False, split="test", citations=[deck]),
    ]
    figures = aggregate(records)["metrics"]
    assert figures["on_topic_negatives_refused"] == 0.0
    assert figures["refusal_accuracy"] == 1.0  # off-topic
    assert figures["cites_every_document"] == 0.0  # the position paper is not cited
    assert figures["cites_expected_document"] == 1.0
    # refuse: 1 of 2 refused, no wrong refusal → F1 2/3; answer: 2 of 2 and 1 wrong → 4/5
    assert figures["grounded_refusal_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    halves = summarise(records)["default"]["by_split"]
    assert set(halves) == {"dev", "test"}
    assert halves["test"]["metrics"]["false_refusal_rate"] == 0.0
    assert "on_topic_negatives_refused" not in halves["test"]["metrics"]
