"""The answer format the model is held to: sentences, each with its source numbers.

Local models cite badly in free text ("Bron: [n]", a bare "[1]"); constrained JSON
output (llama.cpp grammar, Ollama ``format``) makes every sentence carry numbers.
Partial JSON is parsed while it streams, so users see text as it is generated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from langchain_core.utils.json import parse_partial_json

from assistant.generation.sentences import split_sentences

ANSWER_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "sentences": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "sources": {"type": "array", "items": {"type": "integer"}},
                },
                "required": ["text", "sources"],
            },
        }
    },
    "required": ["sentences"],
}

# (?<!\s): a match starts where the white space does, not at each space of a long run
_MARKER = re.compile(r"(?<!\s)\s*\[(\d{1,2})\]")


@dataclass
class DraftSentence:
    """A sentence as the model wrote it, with the passage numbers it claimed."""

    text: str
    sources: list[int] = field(default_factory=list)


def parse_partial(raw: str) -> list[DraftSentence]:
    """Sentences from (possibly unfinished) model output; free text is accepted too."""
    stripped = raw.strip()
    if stripped.startswith("{"):
        try:
            data = parse_partial_json(stripped)
        except (json.JSONDecodeError, ValueError):
            data = None
        if isinstance(data, dict):
            return _from_json(data)
    return _from_free_text(stripped)


def visible_text(raw: str) -> str:
    """What the user may see so far: the sentence texts, without numbers."""
    return " ".join(sentence.text for sentence in parse_partial(raw) if sentence.text)


def _from_json(data: dict) -> list[DraftSentence]:
    sentences = []
    for item in data.get("sentences") or []:
        if not isinstance(item, dict):
            continue
        text = str(item.get("text") or "")
        sources = [int(s) for s in item.get("sources") or [] if isinstance(s, int | float)]
        # numbers written into the text itself count as claimed sources too
        sources += [int(m) for m in _MARKER.findall(text) if int(m) not in sources]
        sentences.append(DraftSentence(_MARKER.sub("", text).strip(), sources))
    return sentences


def _from_free_text(text: str) -> list[DraftSentence]:
    sentences = []
    for sentence in split_sentences(text):
        sources = [int(m) for m in _MARKER.findall(sentence)]
        sentences.append(DraftSentence(_MARKER.sub("", sentence).strip(), sources))
    return sentences
