"""Do the passages state what is asked? Decided from the passages, not from the topic.

Retrieval being confident says that the documents are about the question's subject;
it does not say that they hold the answer. Two signals decide:

- **What the question asks for.** "Hoeveel kost ...", "Wanneer ...", "Hoe lang ...",
  "Welke leverancier ..." ask for an amount, a date, a duration, a name. The passages
  answer only when one of their best sentences holds such a thing *and* shares the
  question's words: a sentence with a year about another subject is no date for this one.
- **Whether the best sentences hold the question's rarer words** (weighted by how few
  of the candidate sentences hold them), on top of how well they score against it.

The thresholds are chosen on the golden set's dev half (``evaluation/answerability_fit``)
and reported on its test half.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from assistant.generation.context import Passage
from assistant.generation.evidence import rare_word_overlap
from assistant.generation.sentences import content_terms

# question → what it asks for; the first that matches decides (order: specific first).
# A bare "wanneer"/"when" usually asks in which case ("Wanneer is een DPIA verplicht?"),
# and "wie"/"who" is answered by a role as often as by a name: neither is typed.
_ASKS = (
    (
        "amount",
        r"\b(wat kost(en)?|hoeveel (kost|kosten|geld|budget|euro)|welke? \w*(bedrag|budget|prijs|"
        r"tarief|subsidie)|hoe ?(hoog|duur) (is|zijn|was|wordt) (de|het)( \w+)? (kosten|prijs|"
        r"budget|boete|bedrag|subsidie)|wat (zijn|is) de (kosten|prijs)|how much (does|do|is|are|"
        r"money|will)|what does .{1,40} cost|"
        r"what (is|are) the (\w+ )?(price|costs?|budget|fine))\b",
    ),
    ("percentage", r"\b(welk percentage|hoeveel procent|what percentage|how many percent)\b"),
    (
        "duration",
        r"\b(hoe lang|hoeveel (tijd|seconden|minuten|uur|uren|dagen|weken|maanden|jaar|jaren) "
        r"(duurt|kost|neemt|heb|hebben|zit)|binnen (hoeveel|welke termijn)|how long|how many "
        r"(days|weeks|months|years|hours))\b",
    ),
    ("frequency", r"\b(hoe vaak|hoe regelmatig|hoeveel keer|how often|how frequently)\b"),
    (
        "date",
        r"\b(per wanneer|sinds wanneer|vanaf wanneer|tot wanneer|uiterlijk wanneer|in welk jaar|"
        r"welke datum|op welke (datum|dag)|welk jaar|wanneer (is|was|werd|wordt|trad|treedt) "
        r".{0,60}(in werking|gepubliceerd|verschenen|vastgesteld|gestart|begonnen)|what date|"
        r"when (did|was|were|will|does|do) .{0,60}(enter into force|come into force|take effect"
        r"|published|start|begin|apply|available|ready|released|finished|completed)|"
        r"wanneer (verschijnt|verschijnen|start|starten|begint|beginnen|eindigt|komt|komen)\b|"
        r"wanneer (wordt|worden|is|zijn|was|werd) .{0,100}(afgerond|opgeleverd|klaar|beschikbaar|"
        r"gepubliceerd|ingevoerd|gelanceerd)|"
        r"which year|in what year|by when|since when)\b",
    ),
    ("count", r"\b(hoeveel|how many) (?!aandacht|tijd|ruimte|moeite|effort|attention)\w+"),
    (
        "name",
        r"\b(welke?|which|what)\s+(\w+\s+)?(leverancier|leveranciers|bedrijf|bedrijven|partij"
        r"|marktpartij|taalmodel|product|pakket|merk|vendor|supplier|company|companies|brand)\b",
    ),
)
ASKS = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _ASKS)


_NUMBER_WORD = (
    r"(één|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|twintig|dertig|veertig|"
    r"vijftig|honderd|honderden|duizend|duizenden|enkele|meerdere|paar|half|halve|anderhalf|"
    r"two|three|four|five|six|seven|eight|nine|twelve|twenty|hundred|thousand)"
)
_TIME_UNIT = (
    r"(seconden?|minuten?|uur|uren|dagen?|weken?|maanden?|jaar|jaren|kwartalen?|"
    r"days?|weeks?|months?|years?|hours?)"
)
_MONTH = (
    r"(januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|"
    r"december|january|february|march|june|july|august|october)"
)
_STATES = {
    "amount": r"(€|\beuro\b|\bEUR\b|\$|\bdollars?\b)",
    "percentage": r"(%|\bprocent\b|\bpercent\b)",
    "duration": rf"\b(\d+|{_NUMBER_WORD}|een)\s*(-\s*\d+\s*)?{_TIME_UNIT}\b",
    "frequency": r"\b(dagelijks|wekelijks|maandelijks|jaarlijks|periodiek|per (dag|week|maand|"
    r"jaar|kwartaal)|elke? (dag|week|maand|jaar|kwartaal)|keer per|\d+ keer|daily|weekly|"
    r"monthly|yearly|annually|every (day|week|month|year|quarter))\b",
    # a year (not a reference's "(2025)"), a month, or a date
    "date": rf"((?<!\()\b(19|20)\d{{2}}\b(?!\))|\b{_MONTH}\b"
    rf"|\b\d{{1,2}}[-/.]\d{{1,2}}[-/.]\d{{2,4}}\b)",
    # a number that counts something ("vier gemeenten", "454 algoritmes"): not a section
    # number ("2.3"), a footnote marker or a product's number ("Microsoft 365")
    "count": rf"((?<![.,\d])\b\d+(?![.,]?\d)(?!\])\s+(?-i:[a-zà-ÿ])"
    rf"|\b{_NUMBER_WORD}\s+(?-i:[a-zà-ÿ]))",
}
STATES = {kind: re.compile(pattern, re.IGNORECASE) for kind, pattern in _STATES.items()}
_CAPITALISED = re.compile(r"\b([A-Z][\w&.-]*[A-Za-z0-9])")
MIN_SHARED = 0.25  # of the question's rarer words, in the sentence that states the thing


def asked_for(question: str) -> str | None:
    """What a question asks for (amount, percentage, duration, frequency, date, count,
    name), or None for an open question (wat, hoe, waarom, welke ...)."""
    for kind, pattern in ASKS:
        if pattern.search(question):
            return kind
    return None


def states(
    sentence: str, kind: str, question: str = "", common: frozenset[str] = frozenset()
) -> bool:
    """True when the sentence holds what ``kind`` asks for. A name is a capitalised word,
    not starting the sentence, that the question does not already say and that is not a
    ``common`` word (one the passages also write in lower case: "Gemeente Montferland"
    names the municipality, not a supplier)."""
    if kind == "name":
        asked = {word.lower() for word in re.findall(r"\w+", question)}
        return any(
            (low := name.lower()) not in asked
            and low not in _NOT_NAMES
            and low not in common
            and low.split("-")[-1] not in common  # "AI-systeem" is a common word too
            for name in _CAPITALISED.findall(sentence)
        )
    return bool(STATES[kind].search(sentence))


def lower_case_words(texts: list[str]) -> frozenset[str]:
    """The words these texts write in lower case: common words, not names."""
    return frozenset(word for text in texts for word in re.findall(r"\b[a-zà-ÿ][\w-]*", text))


_NOT_NAMES = {"ai", "vng", "tno", "ict", "it", "eu", "de", "het", "een", "dit", "deze"}


@dataclass(frozen=True)
class Evidence:
    """The signals the decision is made from, kept for the answer's record."""

    asked_for: str | None
    stated: bool  # a best sentence that shares the question's words holds what is asked
    best_score: float  # the best sentence's evidence score
    best_coverage: float  # the most of the question's rarer words one sentence holds


@dataclass(frozen=True)
class Verdict:
    answerable: bool
    evidence: Evidence

    def record(self) -> dict:
        """The decision and its signals, for the answer's record and the evaluation."""
        return {"answerable": self.answerable, **asdict(self.evidence)}


class AnswerabilityJudge:
    """Decides from the passages' scored sentences whether they answer the question."""

    def __init__(
        self, min_score: float, min_coverage: float, typed: bool = True, best_sentences: int = 4
    ) -> None:
        self._min_score = min_score
        self._min_coverage = min_coverage
        self._typed = typed
        self._best_sentences = best_sentences

    def run(self, question: str, passages: list[Passage]) -> Verdict:
        evidence = self.evidence(question, passages)
        typed_miss = self._typed and evidence.asked_for is not None and not evidence.stated
        weak = evidence.best_score < self._min_score or evidence.best_coverage < self._min_coverage
        return Verdict(answerable=not typed_miss and not weak, evidence=evidence)

    def evidence(self, question: str, passages: list[Passage]) -> Evidence:
        sentences = sorted(
            (s for p in passages for s in p.sentences), key=lambda s: s.score, reverse=True
        )
        asked = content_terms(question)
        coverages = rare_word_overlap(asked, [content_terms(s.text) for s in sentences])
        kind = asked_for(question)
        best = list(zip(sentences, coverages, strict=True))[: self._best_sentences]
        common = lower_case_words([p.text for p in passages]) if kind == "name" else frozenset()
        stated = kind is not None and any(
            coverage >= MIN_SHARED and states(s.text, kind, question, common)
            for s, coverage in best
        )
        return Evidence(
            asked_for=kind,
            stated=stated,
            best_score=sentences[0].score if sentences else 0.0,
            best_coverage=max(coverages, default=0.0),
        )
