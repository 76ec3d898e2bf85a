"""Every regular expression in assistant/ and ingest/ against hostile input (ReDoS).

The patterns are collected, not listed: a new pattern is checked the day it is written.
The bound (50 ms for a 4000-character message, the longest /api/chat accepts) is far
above what a linear pattern needs (well under 5 ms here) and far below what a
quadratic or exponential one takes, so it separates the two on a busy machine too.
"""

from __future__ import annotations

import re

import pytest

from assistant.security.pii import without_placeholders
from assistant.settings import Settings
from evaluation.regex_safety import (
    DEFAULT_LENGTH,
    LIMIT_MS,
    FoundPattern,
    find_patterns,
    hostile_inputs,
    time_pattern,
)

pytestmark = pytest.mark.unit

PATTERNS = find_patterns()


def test_the_harness_length_is_the_longest_message() -> None:
    assert Settings(_env_file=None).max_message_chars == DEFAULT_LENGTH


def test_patterns_are_collected_from_globals_containers_and_function_bodies() -> None:
    where = {found.where for found in PATTERNS}
    assert "assistant.security.pii._BRACKETED" in where  # a module global
    assert any(w.startswith("assistant.security.injection.RULES[") for w in where)  # a list
    assert any(w.startswith("cleaning.py:") for w in where)  # re.sub(...) inside a function
    assert len(PATTERNS) > 100


@pytest.mark.parametrize(
    "source",
    [
        # the personal-data placeholder pattern of step 7: exponential
        r"\((?:[^()]*?(?:\[BSN\]|\[IBAN\]|\[NAAM\]))+[^()]*\)",
        # ingest's hyphenation pattern of step 1: quadratic in the length of a word
        r"(\w+)-$",
    ],
)
def test_the_harness_catches_the_patterns_that_froze_the_server(source: str) -> None:
    timing = time_pattern(FoundPattern("old", re.compile(source)))
    assert timing.worst_ms > LIMIT_MS


def test_hostile_inputs_repeat_the_patterns_own_parts_without_closing_it() -> None:
    pattern = re.compile(r"\((?:[^()]*?(?:\[BSN\]|\[IBAN\]))+[^()]*\)")
    inputs = hostile_inputs(pattern)
    assert all(len(text) <= DEFAULT_LENGTH for text in inputs)
    assert any(
        text.startswith("(") and text.count("[BSN]") > 500 and ")" not in text for text in inputs
    )


@pytest.mark.parametrize("found", PATTERNS, ids=lambda found: found.where)
def test_every_pattern_is_fast_on_hostile_input(found: FoundPattern) -> None:
    timing = time_pattern(found)
    assert timing.worst_ms <= LIMIT_MS, (
        f"{found.where} /{found.pattern.pattern}/ took {timing.worst_ms:.0f} ms on "
        f"{timing.worst_input[:60]!r}... ({len(timing.worst_input)} characters)"
    )


def test_bracketed_placeholders_still_go_from_the_search_query() -> None:
    assert without_placeholders("Mag ik (mijn BSN is [BSN]) een DPIA doen?") == (
        "Mag ik een DPIA doen?"
    )
    assert without_placeholders("Wat is een DPIA (gegevensbeschermingseffectbeoordeling)?") == (
        "Wat is een DPIA (gegevensbeschermingseffectbeoordeling)?"
    )
    assert without_placeholders("(" + "[BSN]" * 800) == "("
