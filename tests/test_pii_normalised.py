"""Personal data is found in the normal form the injection screen uses too (full-width
digits, invisible characters, dashes between digit groups) and redacted in the text as
the user wrote it."""

from __future__ import annotations

import pytest

from assistant.security.normalise import mapped_normal_form
from assistant.security.pii import find_personal_data, redact

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "number",
    [
        "１１１\u3000２２２\u3000３３３",  # full-width digits and spaces
        "111\u200b222\u200b333",  # zero-width spaces
        "111\u2060222\ufeff333",  # word joiner, zero-width no-break space
        "111–222–333",  # en dashes
        "111—222—333",  # em dashes
        "111-222-333",
    ],
)
def test_a_disguised_bsn_is_redacted(number: str) -> None:
    result = redact(f"Nummer {number} graag.")
    assert result.text == "Nummer [BSN] graag."
    assert [(f.kind, f.text) for f in result.findings] == [("bsn", number)]


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Rekening ＮＬ９１ＡＢＮＡ０４１７１６４３００.", "Rekening [IBAN]."),
        ("Mail ｐ.ｊａｎｓｅｎ＠ｇｅｍｅｅｎｔｅ.ｎｌ.", "Mail [E-MAILADRES]."),
    ],
)
def test_full_width_iban_and_email_are_redacted(text: str, redacted: str) -> None:
    assert redact(text).text == redacted


def test_findings_point_into_the_original_text() -> None:
    text = "Ｈｏｉ! Mijn nummer: １１１\u200b２２２３３３, mail p.jan\u200bsen@gemeente.nl."
    findings = find_personal_data(text)
    assert [(f.kind, text[f.start : f.end]) for f in findings] == [
        ("bsn", "１１１\u200b２２２３３３"),
        ("email", "p.jan\u200bsen@gemeente.nl"),
    ]
    # the rest stays as written, full-width greeting included
    assert redact(text).text == "Ｈｏｉ! Mijn nummer: [BSN], mail [E-MAILADRES]."


def test_the_mapped_normal_form_keeps_every_origin() -> None:
    mapped = mapped_normal_form("a\u200b１–é")
    assert mapped.text == "a1-é"
    assert mapped.original_span(1, 3) == (2, 4)  # "1-" came from "１–"
    decomposed = mapped_normal_form("e\u0301x")  # a letter and its combining accent
    assert decomposed.text == "éx" and decomposed.original_span(0, 1) == (0, 2)
