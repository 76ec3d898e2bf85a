"""The embedded model file and chat model backends."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from assistant.llm.factory import create_chat_model, ollama_available
from assistant.llm.model_file import (
    DEFAULT_SPEC,
    ModelFileError,
    ModelSpec,
    ensure_model_file,
    is_verified,
)
from tests.conftest import free_port, make_settings


def small_spec(tmp_path: Path, corrupt: bool = False) -> ModelSpec:
    parts = []
    for number, content in enumerate([b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]):
        part = tmp_path / f"part{number}.bin"
        part.write_bytes(content)
        parts.append(part)
    whole = b"".join(p.read_bytes() for p in parts)
    if corrupt:
        parts[1].write_bytes(b"x" * 777)
    return ModelSpec(
        part_paths=lambda: parts,
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        file_name="test.gguf",
    )


@pytest.mark.unit
def test_parts_are_assembled_once_and_verified(tmp_path: Path) -> None:
    spec = small_spec(tmp_path)
    models = tmp_path / "models"
    path = ensure_model_file(models, spec)
    assert path.read_bytes().startswith(b"GGUF") and is_verified(models, spec)
    modified = path.stat().st_mtime_ns
    assert ensure_model_file(models, spec) == path
    assert path.stat().st_mtime_ns == modified, "a verified file is not assembled again"


@pytest.mark.unit
def test_a_mismatching_model_is_refused_and_not_left_behind(tmp_path: Path) -> None:
    spec = small_spec(tmp_path, corrupt=True)
    models = tmp_path / "models"
    with pytest.raises(ModelFileError, match="does not match"):
        ensure_model_file(models, spec)
    assert not any(models.iterdir())


@pytest.mark.integration
def test_real_model_file_is_verified_and_answers_in_dutch(tmp_path: Path, small_corpus) -> None:
    settings = make_settings(
        tmp_path, small_corpus, llm_backend="embedded", llm_threads=1, llm_max_answer_tokens=40
    )
    path = ensure_model_file(settings.models_dir)
    assert path.stat().st_size == DEFAULT_SPEC.size
    chat = create_chat_model(settings)
    assert chat.backend == "embedded"
    reply = chat.model.invoke(
        [
            SystemMessage("Antwoord in één korte Nederlandse zin."),
            HumanMessage("Wat doet een gemeente?"),
        ]
    )
    assert reply.content.strip()


@pytest.mark.unit
def test_auto_backend_detects_an_absent_ollama(tmp_path: Path, small_corpus) -> None:
    settings = make_settings(tmp_path, small_corpus, ollama_host=f"http://127.0.0.1:{free_port()}")
    assert ollama_available(settings) is False
