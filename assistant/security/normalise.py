"""Normal forms of text for screening, shared by the injection screen and the
personal-data finder, so that both see through the same disguises.

- Default-ignorable code points (Unicode's derived property Default_Ignorable_Code_Point,
  taken from the ``regex`` package's ``\\p{Default_Ignorable_Code_Point}``, which follows
  the current Unicode data): zero-width characters, the soft hyphen, bidi controls,
  variation selectors, the tag block U+E0000-E0FFF and the rest. They show nothing, so
  they are removed before anything is matched.
- Tag characters U+E0020-E007E spell ASCII that a model may read and a person does not
  see: ``hidden_tag_text`` decodes it, to be screened as well.
- RIGHT-TO-LEFT OVERRIDE (U+202E) shows the text after it reversed: ``displayed_order``
  puts such runs in the order a reader sees them.
- Confusables: letters of other scripts that look like Latin ones (Cyrillic "і", Greek
  "ο", small capitals "ɪ") are read as the Latin letter, from Unicode's confusables table
  (UTS #39) as shipped by ``confusable_homoglyphs``; only mappings to one ASCII letter or
  digit are used, and no accented Latin letter has one.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import regex
from confusable_homoglyphs.confusables import confusables_data

_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}+")
_TAG_ASCII = range(0xE0020, 0xE007F)
_RLO, _PDF = "\u202e", "\u202c"
_OVERRIDE_RUN = regex.compile(r"\u202e([^\u202c\u202a-\u202d\n]*)\u202c?")
# dashes people put between digit groups: Unicode's dash punctuation and the minus sign
DASHES = frozenset(chr(cp) for cp in range(0x10000) if unicodedata.category(chr(cp)) == "Pd") | {
    "\u2212"
}


def without_ignorables(text: str) -> str:
    """``text`` without default-ignorable code points."""
    return _IGNORABLE.sub("", text)


def hidden_tag_text(text: str) -> str:
    """The ASCII spelled in tag characters ("" when there is none)."""
    return "".join(chr(ord(c) - 0xE0000) for c in text if ord(c) in _TAG_ASCII)


def displayed_order(text: str) -> str:
    """``text`` with every right-to-left override run reversed, as it is displayed."""
    if _RLO not in text:
        return text
    return _OVERRIDE_RUN.sub(lambda m: m.group(1)[::-1], text)


def fold_confusables(text: str) -> str:
    """Case-folded, with look-alike letters of other scripts read as Latin letters."""
    table = _confusables_table()
    return text.translate(table).casefold().translate(table)


def matching_form(text: str) -> str:
    """What screening rules match: NFKC, no ignorables, folded confusables and case,
    no combining marks ("précédentes" -> "precedentes")."""
    text = without_ignorables(unicodedata.normalize("NFKC", text))
    decomposed = unicodedata.normalize("NFD", fold_confusables(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class MappedText:
    """A normal form of a text and, for each of its characters, the span of the
    original characters it came from (for redacting the original)."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that ``text[start:end]`` came from."""
        return self.starts[start], self.ends[end - 1]


def mapped_normal_form(text: str) -> MappedText:
    """NFKC per character cluster (a character and its combining marks), default
    ignorables removed, every decimal digit written as an ASCII digit and every dash
    as "-"; each output character remembers its origin."""
    if text.isascii():  # nothing to change
        return MappedText(text, tuple(range(len(text))), tuple(range(1, len(text) + 1)))
    ignorable = [False] * len(text)
    for m in _IGNORABLE.finditer(text):
        ignorable[m.start() : m.end()] = [True] * (m.end() - m.start())
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        if ignorable[i]:
            i += 1
            continue
        j = i + 1
        while j < len(text) and not ignorable[j] and unicodedata.combining(text[j]):
            j += 1
        for c in unicodedata.normalize("NFKC", text[i:j]):
            out.append(_plain_character(c))
            starts.append(i)
            ends.append(j)
        i = j
    return MappedText("".join(out), tuple(starts), tuple(ends))


def _plain_character(c: str) -> str:
    if c in DASHES:
        return "-"
    if not c.isascii() and unicodedata.decimal(c, None) is not None:
        return str(unicodedata.decimal(c))
    return c


@lru_cache(maxsize=1)
def _confusables_table() -> dict[int, str]:
    """Non-ASCII character -> the ASCII letter or digit it imitates, lower case. UTS #39
    maps every capital-I look-alike to "l" (its prototype for both): an upper-case
    letter is read as "i" instead, as a capital I is once case-folded (Cyrillic "І")."""
    table: dict[int, str] = {}
    for char, entries in confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        targets = [e["c"].replace("\u200e", "") for e in entries]
        ascii_targets = [t for t in targets if len(t) == 1 and t.isascii() and t.isalnum()]
        if not ascii_targets:
            continue
        target = ascii_targets[0].lower()
        if target == "l" and unicodedata.category(char) == "Lu":
            target = "i"
        table[ord(char)] = target
    return table
