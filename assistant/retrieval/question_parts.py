"""The parts of a compound question, each searched on its own as well.

"Wat zegt het position paper over X, en hoe wil de referentiearchitectuur Y?" asks two
things, often of two documents. Searched as one query, the part with the stronger
words fills all the top passages and the other part's document is never read. Each
part is searched too (a part that names a document finds it by the title, which is
indexed with every chunk), and the rankings are fused, so that every part has its
best passages among the hits.
"""

from __future__ import annotations

import re

_QUESTION_WORD = (
    r"(?:wat|welke?|hoe|waarom|wie|wanneer|waar|hoeveel|what|which|how|why|who|when|where)"
)
_VERB = (
    r"(?:moet|moeten|kan|kunnen|mag|mogen|is|zijn|wordt|worden|zegt|zeggen|staat|geldt|does|do|"
    r"is|are|should|can|must)"
)
# "... en wat ..." / "... and how ...", or after a comma "..., en is dat ...": a second
# question joined to the first ("de burgemeester en zijn wethouders" joins none)
_JOINED = re.compile(
    rf"\b(?:en|and|maar|but)\s+(?={_QUESTION_WORD}\b)|(?<=,)\s*(?:en|and|maar|but)\s+(?={_VERB}\b)",
    re.I,
)
# a sentence ends before a capital, but not after an abbreviation ("bijv. ChatGPT")
_SENTENCE = re.compile(
    r"(?<!\bbijv\.)(?<!\bbv\.)(?<!\bo\.a\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)"
    r"(?<=[.?!])\s+(?=[A-Z])"
)
# "volgens de VNG", "volgens het TNO-rapport", "according to the guide": who says it, not
# what is asked; the embedding of a question with "volgens de VNG" moves toward passages
# about the VNG itself ("De VNG vindt dat ...") and away from the answer
_ATTRIBUTION = re.compile(
    r"\b(volgens|according to|in de ogen van)\s+(?:(?:de|het|the)\s+)?"
    r"([A-Z][\w-]*(\s+[A-Z][\w-]*)*|([\w-]+\s+)?[\w-]*(rapport|paper|gids|architectuur|document|documenten"
    r"|report|guide))"
    r"(\s+(en|and)\s+([A-Z][\w-]*))?",
)
_SPACE_BEFORE_MARK = re.compile(r" ([?.!,;])")
# "het derde knelpunt", "die tweede stap": documents number such things ("Knelpunt 3:",
# "stap 2"), so the numbered name is searched too
ORDINALS = {
    "eerste": 1,
    "tweede": 2,
    "derde": 3,
    "vierde": 4,
    "vijfde": 5,
    "zesde": 6,
    "zevende": 7,
    "achtste": 8,
    "negende": 9,
    "tiende": 10,
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
}
_ORDINAL = re.compile(
    r"\b(?:de|het|die|dat|deze|the|that|this)\s+("
    + "|".join(ORDINALS)
    + r")\s+([a-zà-ÿ][\w-]{2,})",
    re.IGNORECASE,
)
MIN_PART_WORDS = 3
MAX_PARTS = 3


def question_parts(question: str) -> list[str]:
    """The question's parts (its sentences, and questions joined by "en"/"and" with a
    question word), when there are two or more; else []. A question that says whose view
    it asks for ("volgens de VNG") also has itself without that as a part, and one that
    points at a numbered thing ("het derde knelpunt") its numbered name ("knelpunt 3")."""
    core = without_attribution(question)
    numbered = [f"{noun} {ORDINALS[nth.lower()]}" for nth, noun in _ORDINAL.findall(question)]
    parts = [*_compound_parts(question), *([core] if core != question.strip() else []), *numbered]
    return list(dict.fromkeys(parts))


def without_attribution(question: str) -> str:
    """The question without "volgens de VNG" and the like."""
    return _SPACE_BEFORE_MARK.sub(r"\1", " ".join(_ATTRIBUTION.sub("", question).split()))


def _compound_parts(question: str) -> list[str]:
    parts: list[str] = []
    for sentence in _SENTENCE.split(question.strip()):
        parts += [part.strip(" ,;") for part in _JOINED.split(sentence)]
    parts = [part for part in parts if len(part.split()) >= MIN_PART_WORDS]
    return parts[:MAX_PARTS] if len(parts) > 1 else []
