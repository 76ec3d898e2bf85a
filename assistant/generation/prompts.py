"""Versioned prompt templates, loaded from ``assistant/prompts/`` (not strings in code).

A prompt set is named by its version (``answer-v1``) and identified by a hash of
its files, so an answer can always be traced to the exact prompt that made it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

PROMPT_DIR = Path(__file__).resolve().parents[1] / "prompts"
DEFAULT_VERSION = "v1"


@dataclass(frozen=True)
class PromptSet:
    """The templates and fixed texts of one prompt version."""

    version: str
    sha256: str
    system: str
    example_user: str
    example_assistant: str
    user: str
    condense: str
    translate_question: str
    translate_sentence: str
    texts: dict[str, dict[str, str]]
    english_example_user: str = ""
    english_example_assistant: str = ""

    @property
    def label(self) -> str:
        return f"answer-{self.version}+{self.sha256[:8]}"

    def text(self, language: str, key: str) -> str:
        return self.texts.get(language, self.texts["nl"])[key]

    def secret_texts(self) -> list[str]:
        """The instructions an answer must never repeat: the system prompt (the worked
        examples are not secret, and the fixed texts are said on purpose)."""
        return [self.system]

    def example(self, language: str) -> tuple[str, str]:
        """The worked example (question, answer) in the answer's language."""
        if language == "en" and self.english_example_user:
            return self.english_example_user, self.english_example_assistant
        return self.example_user, self.example_assistant


@cache
def load_prompts(version: str = DEFAULT_VERSION, directory: Path = PROMPT_DIR) -> PromptSet:
    """Read one prompt version; a missing file is an error at start-up, not at answer time."""
    names = {
        "system": f"answer-{version}.system.md",
        "example_user": f"answer-{version}.example-user.md",
        "example_assistant": f"answer-{version}.example-assistant.json",
        "user": f"answer-{version}.user.md",
        "condense": f"condense-{version}.md",
        "translate_question": f"translate-question-{version}.md",
        "translate_sentence": f"translate-sentence-{version}.md",
        "texts": f"texts-{version}.yaml",
    }
    optional = {
        "english_example_user": f"answer-{version}.example-user.en.md",
        "english_example_assistant": f"answer-{version}.example-assistant.en.json",
    }
    contents = {key: (directory / name).read_text(encoding="utf-8") for key, name in names.items()}
    contents |= {
        key: (directory / name).read_text(encoding="utf-8")
        for key, name in optional.items()
        if (directory / name).exists()
    }
    digest = hashlib.sha256()
    for key in sorted(contents):
        digest.update(contents[key].encode("utf-8"))
    texts = yaml.safe_load(contents.pop("texts"))
    return PromptSet(
        version=version,
        sha256=digest.hexdigest(),
        texts=texts,
        **{key: value.strip() for key, value in contents.items()},
    )
