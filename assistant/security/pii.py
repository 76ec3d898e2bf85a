"""Find and redact Dutch personal data in a question before anything else sees it.

Numbers with a checksum are validated by python-stdnum (BSN elfproef, IBAN mod-97),
phone numbers by Google's libphonenumber (``phonenumbers``); the rest are patterns.
Names are found from the cues people use to introduce one ("mijn naam is", "mevrouw",
"inwoner", ...): no Dutch name recogniser small enough to load with the server is on
PyPI (deduce needs 600 MB and 25 s to load), so a name without a cue is not found.

The patterns run on a normal form shared with the injection screen
(``normalise.mapped_normal_form``: NFKC, invisible characters removed, any decimal digit
as ASCII, every dash as "-"), so "１１１　２２２　３３３", "111–222–333" and nine digits with
zero-width spaces between them are found. Each finding is mapped back to the span of
the original text it came from, and redaction replaces that span: the rest of the
question stays exactly as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from stdnum import iban
from stdnum.nl import bsn

from assistant.security.normalise import MappedText, mapped_normal_form

PLACEHOLDERS = {
    "bsn": "[BSN]",
    "iban": "[IBAN]",
    "email": "[E-MAILADRES]",
    "phone": "[TELEFOONNUMMER]",
    "address": "[ADRES]",
    "licence_plate": "[KENTEKEN]",
    "date_of_birth": "[GEBOORTEDATUM]",
    "name": "[NAAM]",
}
KIND_LABELS = {  # for messages to the user, in Dutch
    "bsn": "BSN",
    "iban": "rekeningnummer",
    "email": "e-mailadres",
    "phone": "telefoonnummer",
    "address": "adres",
    "licence_plate": "kenteken",
    "date_of_birth": "geboortedatum",
    "name": "naam",
}

_NINE_DIGITS = re.compile(
    r"(?<![\d.,-])(\d{4}\.\d{2}\.\d{3}|\d{3}[ .-]?\d{3}[ .-]?\d{3})(?![\d-]|,\d)"
)
_BSN_CUE = re.compile(
    r"(bsn|burgerservicenummer|sofinummer|citizen service number)(\s+(is|was|nr\.?|nummer))?"
    r"\W{0,5}$",
    re.I,
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", re.I)
# bounded as RFC 5321 bounds them (local part 64, label 63), and starting only where the
# local part does: unbounded, "a.a.a.a..." was tried from every letter to its end
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[a-z]{2,24}\b", re.I
)
_POSTCODE = re.compile(r"\b[1-9]\d{3} ?(?!SA|SD|SS)[A-Z]{2}\b(?: \d{1,5}(?: ?[a-zA-Z]\b)?)?")
_STREET_SUFFIX = (
    r"straat|laan|weg|plein|gracht|kade|singel|dijk|pad|hof|dreef|steeg|markt|park|"
    r"plantsoen|wal|haven|veld|boulevard|allee|street|road|avenue|lane"
)
# words of at most 40 characters: "[A-Z][\w'-]*" scanned "A'A'A'..." from every capital
_STREET_ADDRESS = re.compile(
    rf"\b(?:[A-Z][\w'-]{{0,40}}\s)?[A-Z][\w'-]{{0,40}}(?:{_STREET_SUFFIX})\s\d{{1,5}}"
    r"(?:\s?[a-zA-Z]\b)?(?:-\d+)?"
)
_PLATE = re.compile(r"(?<![\w-])([A-Z0-9]{1,3})-([A-Z0-9]{2,3})-([A-Z0-9]{1,3})(?![\w-])", re.I)
_MONTHS = (
    r"januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|"
    r"december|january|february|march|may|june|july|august|october|december|jan|feb|mrt|"
    r"apr|jun|jul|aug|sep|sept|okt|oct|nov|dec"
)
_DATE = (
    r"(?:\d{1,2}[-/.]\d{1,2}[-/.](?:19|20)\d{2}"
    r"|\d{1,2} (?:" + _MONTHS + r")\.? (?:19|20)\d{2}"
    r"|(?:19|20)\d{2}-\d{2}-\d{2})"
)
_BIRTH_DATE = re.compile(
    rf"(?:geboren|geb\.|geboortedatum|born|date of birth|dob)\W{{0,3}}(?:op |on )?({_DATE})",
    re.I,
)
_PARTICLES = {"van", "de", "der", "den", "het", "ten", "ter", "te", "el", "al", "von", "da", "le"}
_NAME_PARTICLES = "(?:" + "|".join(sorted(_PARTICLES)) + ")"
_NAME_WORD = r"(?:[A-Z]\.|[A-Z][a-zà-ÿ]+(?:-[A-Z][a-zà-ÿ]+)?)"
_NAME = rf"{_NAME_WORD}(?:\s(?:{_NAME_PARTICLES}\s)*{_NAME_WORD}){{0,3}}"
_NAME_AFTER_CUE = re.compile(
    r"(?:\b(?:mijn naam is|ik heet|ik ben|my name is|i am|i'm|naam:|name:|"
    r"meneer|mevrouw|mevr\.|mw\.|dhr\.|de heer|mr\.|mrs\.|ms\.|"
    r"inwoner|inwoonster|burger|cliënt|client|aanvrager|aanvraagster|bewoner|bewoonster|"
    r"collega|klant|resident|citizen|applicant)\s+)"
    rf"(?-i:({_NAME}))",
    re.I,
)
# words that follow "ik ben" and friends without being a name
_NOT_A_NAME = {
    "Ik",
    "Een",
    "Het",
    "Wij",
    "Bij",
    "Als",
    "Namens",
    "Beleidsadviseur",
    "Projectleider",
    "Medewerker",
    "Adviseur",
    "Manager",
    "Developer",
    "Hi",
    "Hallo",
    "AI",
    "VNG",
    "TNO",
    "The",
    "A",
    "An",
    "Working",
    "Gemeente",
}


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind and where it is."""

    kind: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Redaction:
    """The text with personal data replaced, and what was found."""

    text: str
    findings: list[Finding]

    @property
    def kinds(self) -> list[str]:
        return sorted({f.kind for f in self.findings})


def find_personal_data(text: str) -> list[Finding]:
    """All personal data in ``text``, found in its normal form, with the spans and text
    of the original; overlapping findings merged (longest wins)."""
    mapped = mapped_normal_form(text)
    normal = mapped.text
    found = [
        *_bsns(normal),
        *_ibans(normal),
        *_matches(_EMAIL, normal, "email"),
        *_phones(normal),
        *_matches(_POSTCODE, normal, "address"),
        *_matches(_STREET_ADDRESS, normal, "address"),
        *_plates(normal),
        *_matches(_BIRTH_DATE, normal, "date_of_birth", group=1),
        *_names(normal),
    ]
    return _without_overlaps([_in_original(f, mapped, text) for f in found], text)


def _in_original(finding: Finding, mapped: MappedText, text: str) -> Finding:
    start, end = mapped.original_span(finding.start, finding.end)
    return Finding(finding.kind, start, end, text[start:end])


def redact(text: str) -> Redaction:
    """Replace every finding by a placeholder such as ``[BSN]``."""
    findings = find_personal_data(text)
    parts, position = [], 0
    for finding in findings:
        parts += [text[position : finding.start], PLACEHOLDERS[finding.kind]]
        position = finding.end
    parts.append(text[position:])
    return Redaction("".join(parts), findings)


_PLACEHOLDER = "|".join(re.escape(p) for p in PLACEHOLDERS.values())
_LABELLED_PLACEHOLDER = re.compile(
    rf"(?:\b(?:BSN|IBAN|tel\.?|e-mail)[:\s]*)?(?:{_PLACEHOLDER})", re.I
)
_ANY_PLACEHOLDER = re.compile(_PLACEHOLDER)
# a bracketed group without nested brackets; it goes when it holds a placeholder. (One
# pattern that also demanded the placeholder, "\((?:[^()]*?PLACEHOLDER)+[^()]*\)", had a
# nested quantifier and backtracked exponentially on "(" + "[BSN]" * 30.)
_BRACKETED = re.compile(r"\([^()]*\)")
_INTRODUCTION = re.compile(
    rf"\b(?:mijn naam is|ik ben|ik heet|my name is)\s+(?:{_PLACEHOLDER})[^.?!]*[.?!,]?\s*", re.I
)


def without_placeholders(redacted: str) -> str:
    """A redacted question as a search query: without the placeholders, the brackets
    around them and a self-introduction, which only pull in unrelated passages."""
    text = _INTRODUCTION.sub(" ", redacted)
    text = _BRACKETED.sub(_drop_if_placeholder, text)
    text = _LABELLED_PLACEHOLDER.sub(" ", text)
    text = re.sub(r"(?<!\s)\s+([,.?!])", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip(" ,") or redacted


def _drop_if_placeholder(group: re.Match) -> str:
    return " " if _ANY_PLACEHOLDER.search(group.group()) else group.group()


def _matches(pattern: re.Pattern, text: str, kind: str, group: int = 0) -> list[Finding]:
    return [
        Finding(kind, m.start(group), m.end(group), m.group(group)) for m in pattern.finditer(text)
    ]


def _bsns(text: str) -> list[Finding]:
    """Nine digits that pass the elfproef, or any nine digits right after "BSN"."""
    found = []
    for m in _NINE_DIGITS.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        if bsn.is_valid(digits) or _BSN_CUE.search(text[max(0, m.start() - 30) : m.start()]):
            found.append(Finding("bsn", m.start(1), m.end(1), m.group(1)))
    return found


def _ibans(text: str) -> list[Finding]:
    return [
        Finding("iban", m.start(), m.end(), m.group())
        for m in _IBAN.finditer(text)
        if iban.is_valid(m.group())
    ]


def _phones(text: str) -> list[Finding]:
    matcher = phonenumbers.PhoneNumberMatcher(text, "NL", leniency=phonenumbers.Leniency.VALID)
    return [Finding("phone", m.start, m.end, m.raw_string) for m in matcher]


def _plates(text: str) -> list[Finding]:
    """Dutch licence plates: three groups of 1-3 characters, six in all, letters and
    digits mixed, each group either all letters or all digits (the sidecodes)."""
    found = []
    for m in _PLATE.finditer(text):
        groups = m.groups()
        if sum(map(len, groups)) != 6 or not all(g.isalpha() or g.isdigit() for g in groups):
            continue
        if any(g.isalpha() for g in groups) and any(g.isdigit() for g in groups):
            found.append(Finding("licence_plate", m.start(), m.end(), m.group()))
    return found


def _names(text: str) -> list[Finding]:
    found = []
    for m in _NAME_AFTER_CUE.finditer(text):
        words = m.group(1).split()
        while words and words[-1].lower() in _PARTICLES:
            words.pop()
        if not words or words[0] in _NOT_A_NAME:
            continue
        name = " ".join(words)
        found.append(Finding("name", m.start(1), m.start(1) + len(name), name))
    return found


def _without_overlaps(findings: list[Finding], text: str) -> list[Finding]:
    kept: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.start, -(f.end - f.start))):
        if kept and finding.start < kept[-1].end:
            last = kept[-1]
            if finding.end > last.end:  # overlapping: one finding covers both
                kept[-1] = Finding(
                    last.kind, last.start, finding.end, text[last.start : finding.end]
                )
            continue
        kept.append(finding)
    return kept
