"""Which chat model answers right now: Ollama, the embedded model, or (auto) whichever works."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from assistant.llm.factory import (
    ChatModel,
    LLMUnavailable,
    create_embedded_model,
    create_ollama_model,
    embedded_vocabulary,
    estimated_tokens,
    llama_tokens,
    ollama_available,
)
from assistant.llm.model_file import EMBEDDED_MODEL_NAME
from assistant.settings import Settings

if TYPE_CHECKING:
    from llama_cpp import Llama

AVAILABILITY_TTL_S = 10.0


class LLMProvider:
    """Hands out the chat model; models are created once, on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._embedded: ChatModel | None = None
        self._ollama: ChatModel | None = None
        self._ollama_up: tuple[float, bool] = (0.0, False)
        self._vocabulary: Llama | None = None  # the embedded model's, without its weights

    def _ollama_is_up(self) -> bool:
        checked_at, up = self._ollama_up
        if time.monotonic() - checked_at > AVAILABILITY_TTL_S:
            up = ollama_available(self._settings)
            self._ollama_up = (time.monotonic(), up)
        return up

    def mark_ollama_down(self) -> None:
        """Called when a request to Ollama failed: use the fallback until the next check."""
        self._ollama_up = (time.monotonic(), False)

    def _uses_ollama(self) -> bool:
        """Ollama answers when it is configured, or with ``auto`` when it is up."""
        backend = self._settings.llm_backend
        return backend == "ollama" or (backend == "auto" and self._ollama_is_up())

    def active_name(self) -> str:
        """The name of the model that would answer now, without loading it."""
        return self._settings.ollama_model if self._uses_ollama() else EMBEDDED_MODEL_NAME

    def loaded(self) -> bool:
        """True once a model has been made: a step that can do without it (translating a
        search query) does not load one, which takes seconds."""
        return self._embedded is not None or self._ollama is not None

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` for the model that would answer, without loading it: a
        refusal or a Dutch quote answer needs the prompt budget, not the model. The
        embedded model's count comes from its vocabulary alone (``embedded_vocabulary``:
        the same tokens, in a fraction of a second instead of seconds)."""
        if self._uses_ollama():
            return estimated_tokens(text)
        if self._embedded is not None:
            return self._embedded.count_tokens(text)
        with self._lock:
            if self._vocabulary is None:
                self._vocabulary = embedded_vocabulary(self._settings)
            vocabulary = self._vocabulary
        return llama_tokens(vocabulary, text)

    def current(self) -> ChatModel:
        """The model to use for the next answer; ``LLMUnavailable`` when there is none."""
        backend = self._settings.llm_backend
        with self._lock:
            if self._uses_ollama():
                if backend == "ollama" and not self._ollama_is_up():
                    raise LLMUnavailable(
                        f"Ollama at {self._settings.ollama_host} does not answer "
                        f"or has no model '{self._settings.ollama_model}'"
                    )
                if self._ollama is None:
                    self._ollama = create_ollama_model(self._settings)
                return self._ollama
            if self._embedded is None:
                self._embedded = create_embedded_model(self._settings)
            return self._embedded

    def status(self) -> dict[str, object]:
        """For /api/health: the configured backend and whether it can answer."""
        backend = self._settings.llm_backend
        ollama_up = self._ollama_is_up() if backend in ("ollama", "auto") else None
        active = "ollama" if (backend == "ollama" or ollama_up) else "embedded"
        return {
            "backend": backend,
            "active": active,
            "available": bool(ollama_up) if backend == "ollama" else True,
            "model": self._settings.ollama_model if active == "ollama" else "embedded",
            "ollama": ollama_up,
        }
