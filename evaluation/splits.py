"""The golden set's dev and test halves, fixed by id in ``golden/split.json``.

Rules are tuned on ``dev``; ``test`` is looked at only to report. An item keeps its
half once it has one. A new item is assigned when it is added (``python -m
evaluation.splits``): within its category, in an order fixed by a hash of its id, to
whichever half has fewer of that category, so both halves hold every kind. A
paraphrase goes where its original is: a reworded test question in dev would leak
the test half into tuning.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Literal

from evaluation.golden import GOLDEN_SET, GoldenItem, load_golden

SPLIT_FILE = GOLDEN_SET / "split.json"
Half = Literal["dev", "test"]
HALVES: tuple[Half, ...] = ("dev", "test")


def load_split(path: Path = SPLIT_FILE) -> dict[str, Half]:
    """Item id → half."""
    halves = json.loads(path.read_text(encoding="utf-8"))
    return {item_id: half for half in HALVES for item_id in halves.get(half, [])}


def assign(items: list[GoldenItem], known: dict[str, Half]) -> dict[str, Half]:
    """``known`` plus a half for every item that has none."""
    split = dict(known)
    originals = [item for item in items if item.paraphrase_of is None]
    for category in sorted({item.category for item in originals}):
        group = [item for item in originals if item.category == category]
        counts = Counter(split[item.id] for item in group if item.id in split)
        for item in sorted(group, key=lambda i: hashlib.sha256(i.id.encode()).hexdigest()):
            if item.id not in split:
                half: Half = "dev" if counts["dev"] <= counts["test"] else "test"
                split[item.id] = half
                counts[half] += 1
    for item in items:
        if item.paraphrase_of is not None:
            split[item.id] = split[item.paraphrase_of]
    return split


def split_problems(items: list[GoldenItem], split: dict[str, Half]) -> list[str]:
    """Items without a half, and paraphrases in another half than their original."""
    problems = [f"{item.id}: in neither half" for item in items if item.id not in split]
    for item in items:
        original = item.paraphrase_of
        if original is not None and split.get(item.id) != split.get(original):
            problems.append(f"{item.id}: not in the half of {original}")
    return problems


def in_half(items: list[GoldenItem], half: Half, split: dict[str, Half]) -> list[GoldenItem]:
    return [item for item in items if split.get(item.id) == half]


def write_split(split: dict[str, Half], path: Path = SPLIT_FILE) -> None:
    halves = {half: sorted(i for i, h in split.items() if h == half) for half in HALVES}
    path.write_text(json.dumps(halves, indent=1) + "\n", encoding="utf-8")


def main() -> int:
    """``python -m evaluation.splits``: give new golden items a half, keep the rest."""
    items = load_golden()
    known = load_split() if SPLIT_FILE.exists() else {}
    split = assign(items, {i: h for i, h in known.items() if i in {x.id for x in items}})
    write_split(split)
    counts = Counter(split.values())
    print(f"dev {counts['dev']}, test {counts['test']} ({len(split) - len(known)} new)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
