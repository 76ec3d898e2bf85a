"""Settings come from one typed object with the WEGWIJZER_ prefix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assistant.settings import Settings

pytestmark = pytest.mark.unit


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEGWIJZER_CHUNK_SIZE", "600")
    monkeypatch.setenv("WEGWIJZER_CHROMA_MODE", "http")
    settings = Settings(_env_file=None)
    assert settings.chunk_size == 600 and settings.chroma_mode == "http"
    assert "size=600" in settings.chunking_id


def test_overlap_must_be_smaller_than_chunk() -> None:
    with pytest.raises(ValidationError, match="chunk_overlap"):
        Settings(_env_file=None, chunk_size=300, chunk_overlap=300)


def test_invalid_values_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, search_mode="magic")
    with pytest.raises(ValidationError):
        Settings(_env_file=None, collection_prefix="no spaces allowed")
