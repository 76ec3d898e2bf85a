"""Sentences and their content terms: the unit of context selection and citation checks."""

from __future__ import annotations

import re
from functools import cache

from bm25s.stopwords import STOPWORDS_EN_PLUS

from assistant.retrieval.keyword import DutchAnalyzer

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9À-Ý\"'(\[])|\n+")


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of a text, stripped, without empty ones."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


_ABBREVIATION = re.compile(
    r"\b(e\.g|i\.e|bijv|bv|o\.a|m\.b\.t|t\.a\.v|i\.p\.v|ca|nr|zgn|resp|etc|vs)\.$", re.I
)
_WHOLE_LINE = re.compile(r"[.!?:;]$")
LIST_ITEM = re.compile(r"^(?:[-•*]|\d{1,2}[.)])\s")
ELABORATION = re.compile(
    r"(denk aan|bijvoorbeeld|zoals|onder andere|te weten|namelijk|for example|such as)"
    r"\b[^:.]{0,20}:\s*\S",
    re.IGNORECASE,
)  # "Denk aan: innovatieteam, jurist": the examples of the sentence before it
_RUNS_ON = re.compile(r"[,(/&-]$|\b(en|of|de|het|een|van|voor|met|in|op|die|dat|te|zoals)$", re.I)


def source_sentences(text: str) -> list[str]:
    """Sentences of a source passage. Lines broken by the layout of a PDF or slide are
    joined first ("een low-code platform" / "(e.g. N8N)"), as is a colon with the
    lowercase line it announces ("Denk aan:" / "innovatieteam, bedrijfsarchitect");
    abbreviations do not end a sentence, and list items stay items of their own."""
    lines: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            if lines and lines[-1]:
                lines.append("")  # a paragraph break: never joined across
            continue
        previous = lines[-1] if lines else ""
        continues = line[0].islower() or line[0] in "(&" or _RUNS_ON.search(previous)
        announced = previous.endswith(":") and line[0].islower()
        if (
            previous
            and (announced or (continues and not _WHOLE_LINE.search(previous)))
            and not LIST_ITEM.match(line)
        ):
            lines[-1] = f"{previous} {line}"
        else:
            lines.append(line)
    sentences: list[str] = []
    for line in filter(None, lines):
        pieces: list[str] = []
        for piece in (part.strip() for part in _SENTENCE_END.split(line)):
            if pieces and _ABBREVIATION.search(pieces[-1]):
                pieces[-1] = f"{pieces[-1]} {piece}"
            elif piece:
                pieces.append(piece)
        sentences.extend(pieces)
    return sentences


_ATTRIBUTION = re.compile(r"^(bron|bronnen|source|sources)\b", re.IGNORECASE)
_LOWERCASE_WORD = re.compile(r"(?<![\w-])[a-zà-ÿ][\w'-]*")
MIN_LOWERCASE_WORDS = 2


_NUMBERED_STATEMENT = re.compile(r"^\w+ \d{1,2}: \w.{3,}\.$")


def reads_as_a_sentence(text: str) -> bool:
    """Not a source line ("Bron: VNG Realisatie – Open Source Chatbots") or a title or
    reference in capitals ("VNG Realisatie – Open Source Chatbots (2025)"); a numbered
    finding is one ("Succesfactor 1: Kennis over AI.")."""
    text = LIST_ITEM.sub("", text).strip()
    if _ATTRIBUTION.match(text):
        return False
    if _NUMBERED_STATEMENT.match(text):
        return True
    return len(_LOWERCASE_WORD.findall(text)) >= MIN_LOWERCASE_WORDS


def is_reference(text: str) -> bool:
    """A source line or an item of a reference list ("- VNG – Het algoritmeregister
    (2025)"): it names where something is written, it does not say it."""
    return bool(_ATTRIBUTION.match(text)) or (
        bool(LIST_ITEM.match(text)) and not reads_as_a_sentence(text)
    )


NUMBERED_HEADING = re.compile(r"^\d+(\.\d+)*\.?\s+[A-Z][^.!?:;]{0,60}$")
_WORD = re.compile(r"[^\W\d_]{3,}")


def section_titles(section: str) -> set[str]:
    """The titles in a chunk's section path ("2. Inleiding > Doel"), case-folded."""
    return {_folded(part) for part in section.split(">") if part.strip()}


def is_heading(text: str, titles: set[str]) -> bool:
    """A section title inside the chunk's text ("Doel van de opdracht tot uitwerking
    (OtU)", "1.4 Leeswijzer") or a line without a word ("3.", "1-1"): it names a topic
    or a number and answers nothing."""
    stripped = text.strip()
    return (
        _folded(stripped) in titles
        or bool(NUMBERED_HEADING.match(stripped))
        or not _WORD.search(stripped)
    )


def _folded(text: str) -> str:
    return " ".join(text.lower().split())


def question_key(text: str) -> str:
    """A question's words in lower case: how questions are compared (answer cache, a
    rewrite that repeats an earlier question, the dashboard's question groups), so that
    spacing and punctuation do not make two questions different."""
    return " ".join(re.findall(r"\w+", text.lower()))


_REFERS_BACK = re.compile(
    r"^(dit|deze|dat|daarom|daardoor|daarmee|daarbij|daarvoor|daarin|hierdoor|hiermee|hierbij"
    r"|hiervoor|hierin|zij|ze|this|these|therefore)\b",
    re.IGNORECASE,
)


def refers_back(text: str) -> bool:
    """A sentence that leans on the one before it ("Dit voorkomt dat gemeenten afhankelijk
    worden van één partij."): read or quoted alone, it does not say what "dit" is."""
    return bool(_REFERS_BACK.match(text.strip()))


_REPORTED_QUESTION = re.compile(r"\b(is|zijn|luidt|luiden|was|are)\s*:\s*\S", re.IGNORECASE)


def asks_a_question(text: str) -> bool:
    """A question the document asks ("Welke data gebruik ik?"), which answers nothing;
    not one it states ("Een centrale vraag is: wie mag welke data inzien?")."""
    return text.rstrip().endswith("?") and not _REPORTED_QUESTION.search(text)


@cache
def _analyzer() -> DutchAnalyzer:
    return DutchAnalyzer()


def content_terms(text: str) -> set[str]:
    """Stemmed words without stopwords (the same analysis as keyword search)."""
    return set(_analyzer().terms(text))


ENGLISH_STOPWORDS = frozenset(STOPWORDS_EN_PLUS)  # the Dutch analysis keeps "to", "as"


def word_stems(text: str, ignore: frozenset[str] = frozenset()) -> set[str]:
    """The first four letters of each content term not in ``ignore``: a coarser match
    that also pairs the inflections the Dutch stemmer leaves apart ("protecting" /
    "protect")."""
    return {term[:4] for term in content_terms(text) if term not in ignore}


def overlap(part: set[str], whole: set[str]) -> float:
    """Share of ``part`` that occurs in ``whole`` (0 when ``part`` is empty)."""
    return len(part & whole) / len(part) if part else 0.0
