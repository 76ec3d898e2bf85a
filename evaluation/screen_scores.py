"""Precision and recall of the injection screen alone (no model answers), per half of
attack set v2: questions go through ``screen_question`` as in the app (personal data
redacted first), documents through the passage screen the ingest uses. The attacks'
family "benign" marks the look-alikes: ordinary text that mentions rules, instructions
or ignoring something, so that precision means something."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.security.injection import AttackSimilarity, screen
from assistant.security.question_screen import screen_question
from assistant.settings import Settings

ATTACK_SET_V2 = Path(__file__).parent / "security" / "attacks-v2.jsonl"
ATTACK_SET_V1 = Path(__file__).parent / "security" / "attacks-v1.jsonl"
GOLDEN = Path(__file__).parent / "golden" / "golden-v1.jsonl"


@dataclass(frozen=True)
class HalfScores:
    """One half of the attack set: attacks found, look-alikes flagged."""

    attacks: int
    detected: int
    benign: int
    false_alarms: int
    recall: float
    precision: float
    missed: list[str]
    false_alarm_ids: list[str]


def flagged(item: dict, settings: Settings, known_attacks: AttackSimilarity | None) -> bool:
    """Whether the screen catches ``item`` (a question, or a planted document passage)."""
    if item["kind"] == "document":
        return screen(item["text"]).flagged(settings.injection_threshold)
    screened = screen_question(item["text"], settings, known_attacks)
    return screened.injection_score >= settings.injection_threshold


def score_halves(
    settings: Settings, known_attacks: AttackSimilarity | None = None, path: Path = ATTACK_SET_V2
) -> dict[str, HalfScores]:
    """Scores of the ``tune`` and the held-out ``test`` half."""
    items = _jsonl(path)
    scores = {}
    for half in ("tune", "test"):
        rows = [
            (item, flagged(item, settings, known_attacks))
            for item in items
            if item["split"] == half
        ]
        attacks = [(i, f) for i, f in rows if i["family"] != "benign"]
        benign = [(i, f) for i, f in rows if i["family"] == "benign"]
        detected = sum(f for _, f in attacks)
        alarms = [i["id"] for i, f in benign if f]
        scores[half] = HalfScores(
            attacks=len(attacks),
            detected=detected,
            benign=len(benign),
            false_alarms=len(alarms),
            recall=round(detected / len(attacks), 3),
            precision=round(detected / max(1, detected + len(alarms)), 3),
            missed=[i["id"] for i, f in attacks if not f],
            false_alarm_ids=alarms,
        )
    return scores


def golden_false_positives(
    settings: Settings, known_attacks: AttackSimilarity | None = None
) -> list[str]:
    """Golden questions (other than the injection items) the screen flags."""
    return [
        g["id"]
        for g in _jsonl(GOLDEN)
        if g["category"] != "injection"
        and flagged({"kind": "question", "text": g["question"]}, settings, known_attacks)
    ]


def v1_recall(settings: Settings, known_attacks: AttackSimilarity | None = None) -> float:
    """Share of attack set v1 the screen catches."""
    items = _jsonl(ATTACK_SET_V1)
    return round(sum(flagged(i, settings, known_attacks) for i in items) / len(items), 3)


def screen_figures(settings: Settings, known_attacks: AttackSimilarity | None) -> dict:
    """The figures of ``make bench``: both halves with the rules alone and with the
    similarity signal, false positives on the golden questions, recall on v1."""
    figures: dict[str, object] = {}
    for label, similarity in (("rules", None), ("rules+similarity", known_attacks)):
        for half, scores in score_halves(settings, similarity).items():
            figures[f"{label} {half}"] = (
                f"recall {scores.recall:.3f} ({scores.detected}/{scores.attacks}), "
                f"precision {scores.precision:.3f} ({scores.false_alarms}/{scores.benign} "
                "look-alikes flagged)"
            )
            figures[f"{label} {half} detail"] = asdict(scores)
        figures[f"{label} golden false positives"] = golden_false_positives(settings, similarity)
        figures[f"{label} v1 recall"] = v1_recall(settings, similarity)
    return figures


def _jsonl(path: Path) -> list[dict]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
