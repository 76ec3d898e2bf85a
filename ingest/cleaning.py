"""Repair raw text extractions so that they read, and search, like the original.

The steps, in order: encoding repair (ftfy, then an explicit mapping for the
Latin Extended-B mojibake ftfy leaves alone), link and footnote-marker removal (after
punctuation or glued to a word),
line normalisation, removal of page furniture (lone page numbers, separator
lines, lines repeated across pages), joining of words hyphenated over a line
break and of sentences wrapped over lines. Line structure that carries
headings is kept: one logical line per line, blank lines between blocks.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import ftfy

# Mojibake where the last UTF-8 byte of an accented letter became U+01xx
# ("Ʃn" for "én", "technologieƫn"); ftfy does not recognise it.
_LATIN_EXT_B_MOJIBAKE = re.compile("[\u0180-\u01bf]")
_MOJIBAKE_SIGNATURE = re.compile(r"\w\u0101s\b|[\u01a9\u01ab\u01a8]")
_MOJIBAKE_APOSTROPHE = re.compile(r"(?<=\w)\u0101(?=\w)")  # risicoās -> risico's
_MOJIBAKE_DASH = re.compile(r"(?<=\s)\u0101(?=\s)")  # "behoeften ā Welke" -> "–"

# link text without "[": else each "[" of "[[[[..." is scanned to the end of the line
_MARKDOWN_LINK = re.compile(r"\[([^\[\]\n]+)\]\((?:https?://|www\.)[^)\s]+\)")
_BARE_URL = re.compile(r"\(?\b(?:https?://|www\.)[^\s)]+\)?")
_FOOTNOTE_MARKER = re.compile(r"(?<=[a-z\u00e0-\u00ff)])([.,;:)])\d{1,2}(?=\s|$)")
# a marker glued to the word it annotates: "Blurring as a Service17 is", "Algoritmes3 en";
# not a version number ("Qwen2.5") or a short name ("gpt4")
_GLUED_FOOTNOTE_MARKER = re.compile(r"(?<=[a-z\u00e0-\u00ff]{4})\d{1,2}(?=[\s,;:)]|\.(?!\d)|$)")
_BULLET = re.compile(r"^[\u2022\u25aa\u25cf\u2751\u25a1\u2013\u2014\u00b7*]\s*")
_LONE_PAGE_NUMBER = re.compile(r"^(?:pagina\s+)?\d{1,3}(?:\s*/\s*\d{1,3})?$", re.IGNORECASE)
_PUNCTUATION_ONLY = re.compile(r"^(?!-$)[\W_]+$")  # a lone "-" means "none" in tables
_TRAILING_FUNCTION_WORD = re.compile(
    r"\b(?:de|het|een|en|of|van|voor|met|op|in|aan|tot|te|die|dat|om|bij|naar|door|als|is|zijn)$",
    re.IGNORECASE,
)
# the last word of a line ending in "-"; the look-behind lets only a word's first letter
# start a match ("(\w+)-$" tried every letter of a long word: quadratic)
_HYPHEN_BREAK = re.compile(r"(?<!\w)(\w+)-$")
_SENTENCE_END = re.compile(r"[.!?:;]\s*$")

FURNITURE_MIN_REPEATS = 4
FURNITURE_MAX_CHARS = 60


def clean_text(text: str) -> str:
    """Return the cleaned text of one page or document."""
    text = repair_encoding(text)
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = _BARE_URL.sub("", text)
    text = _FOOTNOTE_MARKER.sub(r"\1", text)
    text = _GLUED_FOOTNOTE_MARKER.sub("", text)
    lines = [_normalise_line(line) for line in text.splitlines()]
    lines = _drop_furniture(lines)
    lines = _join_broken_lines(lines, vocabulary=_vocabulary(text))
    return "\n".join(lines).strip()


def repair_encoding(text: str) -> str:
    """Fix mojibake with ftfy, then the Latin Extended-B pattern it misses."""
    text = ftfy.fix_text(text, normalization="NFC")
    if _MOJIBAKE_SIGNATURE.search(text):
        text = _MOJIBAKE_APOSTROPHE.sub("'", text)
        text = _MOJIBAKE_DASH.sub("\u2013", text)
        text = _LATIN_EXT_B_MOJIBAKE.sub(lambda m: chr(ord(m.group()) - 0x180 + 0xC0), text)
    return unicodedata.normalize("NFC", text)


def _normalise_line(line: str) -> str:
    line = line.replace("\u00a0", " ").replace("\t", " ")
    line = re.sub(r"\s+", " ", line).strip()
    return _BULLET.sub("- ", line)


def _is_removable(line: str) -> bool:
    return bool(_LONE_PAGE_NUMBER.match(line) or _PUNCTUATION_ONLY.match(line))


def _drop_furniture(lines: list[str]) -> list[str]:
    """Drop lone page numbers, separators, consecutive duplicates and repeated headers."""
    counts = Counter(line for line in lines if line)
    furniture = {
        line
        for line, count in counts.items()
        if count >= FURNITURE_MIN_REPEATS
        and len(line) <= FURNITURE_MAX_CHARS
        and " " in line
        and not line.startswith("- ")
        and not line.endswith(":")
    }
    kept: list[str] = []
    previous_text = None
    for line in lines:
        if line and (_is_removable(line) or line in furniture or line == previous_text):
            continue
        kept.append(line)
        if line:
            previous_text = line
    return kept


def _vocabulary(text: str) -> set[str]:
    return {word.lower() for word in re.findall(r"\w{3,}", text)}


def _join_broken_lines(lines: list[str], vocabulary: set[str]) -> list[str]:
    """Join hyphenated words and sentences wrapped over (blank) lines."""
    out: list[str] = []
    pending_blank = False
    for line in lines:
        if not line:
            pending_blank = True
            continue
        previous = out[-1] if out else ""
        if previous and _continues(previous, line):
            out[-1] = _join(previous, line, vocabulary)
        else:
            if pending_blank and out:
                out.append("")
            out.append(line)
        pending_blank = False
    return out


def _continues(previous: str, line: str) -> bool:
    if previous.startswith("#") or _SENTENCE_END.search(previous):
        return False
    first = line[0]
    if first.islower() or (previous.endswith("-") and first.isalpha()):
        return True
    return bool(_TRAILING_FUNCTION_WORD.search(previous)) and not line.startswith("- ")


def _join(previous: str, line: str, vocabulary: set[str]) -> str:
    match = _HYPHEN_BREAK.search(previous)
    if match:
        head = match.group(1)
        tail = re.match(r"\w+", line)
        if tail and (head + tail.group()).lower() in vocabulary:
            return previous[:-1] + line
        return previous + line
    return previous + " " + line
