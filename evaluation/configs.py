"""Configurations to evaluate side by side: a name and settings overrides.

    default                                  the settings as they are
    search_mode=vector                       named after its overrides
    small-chunks:chunk_size=500,chunk_overlap=80

A configuration that changes how the corpus is chunked or embedded gets its own
index collection (named after its overrides), so comparing never disturbs the
index the assistant serves from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from assistant.settings import Settings

INDEX_FIELDS = {
    "corpus_dir",
    "embedding_backend",
    "embedding_model",
    "embedding_query_prefix",
    "embedding_passage_prefix",
    "chunk_size",
    "chunk_overlap",
    "window_chars",
}


@dataclass(frozen=True)
class EvalConfig:
    """One configuration of a comparison."""

    name: str
    overrides: dict[str, str] = field(default_factory=dict)


def parse_config(text: str) -> EvalConfig:
    """``[name:]key=value,key=value`` or ``default``; ``ValueError`` on a malformed pair."""
    text = text.strip()
    if text in ("", "default"):
        return EvalConfig("default")
    name, _, body = text.rpartition(":") if ":" in text.split("=", 1)[0] else ("", "", text)
    overrides: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in body.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected key=value, got {pair!r}")
        overrides[key.strip()] = value.strip()
    return EvalConfig(name or body, overrides)


def settings_for(base: Settings, config: EvalConfig) -> Settings:
    """``base`` with the overrides applied and validated (``ValueError`` if unknown)."""
    unknown = set(config.overrides) - set(Settings.model_fields)
    if unknown:
        raise ValueError(f"unknown setting(s) in {config.name!r}: {', '.join(sorted(unknown))}")
    values = {**base.model_dump(), **config.overrides}
    if INDEX_FIELDS & set(config.overrides):
        digest = hashlib.sha256(json.dumps(config.overrides, sort_keys=True).encode()).hexdigest()
        values["collection_prefix"] = f"eval-{digest[:10]}"
    return Settings.model_validate(values)


def fingerprint(settings: Settings) -> str:
    """Identifies everything that can change an answer; results are resumed only on a match."""
    relevant = settings.model_dump(
        mode="json", exclude={"host", "port", "data_dir", "model_dir", "conversations_file"}
    )
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]
