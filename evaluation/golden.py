"""The golden question set: its item schema, loading, and a validator for the set itself.

One JSON object per line. ``reference_contexts`` are passages copied verbatim from
the corpus; the validator compares them after the same normalisation retrieval
metrics use (encoding repaired, case, punctuation and line breaks folded), so a
context copied from a raw extraction with a broken line still counts as verbatim.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from evaluation.retrieval_metrics import normalise

GOLDEN_SET = Path(__file__).parent / "golden"  # every *.jsonl in it, one kind of item per file

Category = Literal[
    "single_fact",
    "list",
    "multi_passage",
    "follow_up",
    "out_of_corpus",
    "tricky",
    "english",
    "injection",
    "personal_data",
    "on_topic_negative",
    "false_premise",
    "two_document",
    "paraphrase",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
REFUSED_CATEGORIES = {"out_of_corpus", "on_topic_negative"}
MINIMUM_PER_CATEGORY = {
    "out_of_corpus": 10,
    "english": 15,
    "injection": 8,
    "follow_up": 15,
    "on_topic_negative": 40,
    "false_premise": 15,
    "two_document": 15,
    "paraphrase": 60,
}
MINIMUM_ITEMS = 80


class GoldenItem(BaseModel):
    """One question with what a good answer must hold."""

    id: str = Field(pattern=r"^g\d{3}$")
    question: str = Field(min_length=3)
    reference: str = Field(min_length=3, description="The answer, in the question's language.")
    reference_contexts: list[str] = Field(
        default_factory=list, description="Verbatim corpus passages that hold the answer."
    )
    doc_ids: list[str] = Field(default_factory=list)
    category: Category
    language: Literal["nl", "en"] = "nl"
    history: list[str] = Field(
        default_factory=list, description="Earlier questions of the conversation (follow_up)."
    )
    key_facts: list[str] = Field(
        default_factory=list,
        description="Phrases a good answer contains (normalised words); 'a|b': either.",
    )
    must_not_contain: list[str] = Field(
        default_factory=list,
        description="Phrases that show the attack worked or personal data leaked.",
    )
    expect_refusal: bool = False
    paraphrase_of: str | None = Field(
        default=None, pattern=r"^g\d{3}$", description="The item this one rewords (paraphrase)."
    )
    note: str = Field(
        default="",
        description="How the item was checked: for a negative, what was searched in the corpus.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> GoldenItem:
        if self.category in REFUSED_CATEGORIES and not self.expect_refusal:
            raise ValueError(f"{self.id}: a {self.category} item must expect a refusal")
        if self.expect_refusal and (self.reference_contexts or self.doc_ids):
            raise ValueError(f"{self.id}: a refused item has no contexts or documents")
        needs_sources = not self.expect_refusal and self.category != "injection"
        if needs_sources and (not self.reference_contexts or not self.doc_ids):
            raise ValueError(f"{self.id}: an answerable item needs contexts and doc_ids")
        if self.category == "follow_up" and not self.history:
            raise ValueError(f"{self.id}: a follow_up item needs the earlier question(s)")
        if (self.category == "paraphrase") != (self.paraphrase_of is not None):
            raise ValueError(f"{self.id}: a paraphrase, and only a paraphrase, names its original")
        if self.category == "two_document" and len(set(self.doc_ids)) < 2:
            raise ValueError(f"{self.id}: a two_document item names two documents")
        if self.category == "english" and self.language != "en":
            raise ValueError(f"{self.id}: an english item has language 'en'")
        return self

    @property
    def answerable(self) -> bool:
        return bool(self.reference_contexts)


def golden_files(path: Path = GOLDEN_SET) -> list[Path]:
    """The files of a golden set: ``path`` itself, or every ``*.jsonl`` in the folder."""
    return sorted(path.glob("*.jsonl")) if path.is_dir() else [path]


def golden_digest(path: Path = GOLDEN_SET) -> str:
    """SHA-256 over the set's files (names and contents), to say which set was run."""
    digest = hashlib.sha256()
    for file in golden_files(path):
        digest.update(file.name.encode("utf-8") + b"\0" + file.read_bytes())
    return digest.hexdigest()


def load_golden(path: Path = GOLDEN_SET) -> list[GoldenItem]:
    """All items of a golden set (a file or a folder of them); ``ValueError`` naming the
    file and line of a malformed item."""
    items = []
    for file in golden_files(path):
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(GoldenItem.model_validate_json(line))
            except ValidationError as exc:
                raise ValueError(f"{file.name} line {number}: {exc}") from exc
    return items


def corpus_texts(corpus_dir: Path) -> dict[str, str]:
    """Normalised text of every corpus document, by doc id (the file stem)."""
    return {
        path.stem: normalise(path.read_text(encoding="utf-8", errors="replace"))
        for path in sorted(corpus_dir.iterdir())
        if path.suffix in {".txt", ".md"} and path.is_file()
    }


def validate_golden(
    items: list[GoldenItem], corpus: dict[str, str], complete: bool = True
) -> list[str]:
    """Problems with the set itself: empty when it is fit to evaluate with. ``complete``
    also requires the size and category counts of the project's own set."""
    problems: list[str] = []
    counts = Counter(item.id for item in items)
    problems += [f"duplicate id {item_id}" for item_id, n in counts.items() if n > 1]
    questions = Counter(" ".join([*item.history, item.question]) for item in items)
    problems += [f"duplicate question: {q[:60]}" for q, n in questions.items() if n > 1]
    if complete and len(items) < MINIMUM_ITEMS:
        problems.append(f"{len(items)} items, at least {MINIMUM_ITEMS} needed")
    per_category = Counter(item.category for item in items)
    for category in CATEGORIES:
        if complete and per_category[category] < MINIMUM_PER_CATEGORY.get(category, 1):
            problems.append(f"category {category}: {per_category[category]} items")
    for item in items:
        for doc_id in item.doc_ids:
            if doc_id not in corpus:
                problems.append(f"{item.id}: unknown document {doc_id}")
        for context in item.reference_contexts:
            wanted = normalise(context)
            if len(wanted.split()) < 4:
                problems.append(f"{item.id}: context too short to locate: {context!r}")
            elif not any(wanted in corpus[d] for d in item.doc_ids if d in corpus):
                problems.append(
                    f"{item.id}: context not verbatim in {item.doc_ids}: {context[:50]}"
                )
        reference = normalise(item.reference)
        for fact in item.key_facts:
            if item.answerable and not any(normalise(alt) in reference for alt in fact.split("|")):
                problems.append(f"{item.id}: key fact not in the reference: {fact}")
    return problems


def main() -> int:
    """``python -m evaluation.golden [FILE]``: validate a golden set against corpus/."""
    import sys

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else GOLDEN_SET
    items = load_golden(path)
    problems = validate_golden(items, corpus_texts(Path("corpus")), complete=path == GOLDEN_SET)
    for problem in problems:
        print(problem)
    print(json.dumps(dict(Counter(item.category for item in items))), f"{len(items)} items")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
