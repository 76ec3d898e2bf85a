"""Choose and build the chat model: Ollama in production, the embedded model otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from langchain_core.language_models import BaseChatModel

from assistant.llm.model_file import EMBEDDED_MODEL_NAME, ensure_model_file
from assistant.settings import Settings

if TYPE_CHECKING:
    from llama_cpp import Llama


class LLMUnavailable(RuntimeError):
    """The configured language model cannot be used right now."""


@dataclass
class ChatModel:
    """A LangChain chat model plus what the model register and audit log need."""

    model: BaseChatModel
    backend: str
    name: str

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text``: exact for the embedded model, an estimate for Ollama."""
        client = getattr(self.model, "client", None)
        if self.backend == "embedded" and client is not None:
            return llama_tokens(client, text)
        return estimated_tokens(text)

    def short_answer_kwargs(self, max_tokens: int) -> dict:
        """Call options for a short, deterministic reply (the follow-up rewrite)."""
        if self.backend == "ollama":
            return {"options": {"num_predict": max_tokens, "temperature": 0.0}}
        return {"max_tokens": max_tokens, "temperature": 0.0}

    def json_schema_kwargs(self, schema: dict) -> dict:
        """Call options that hold the model's output to a JSON schema."""
        if self.backend == "ollama":
            return {"format": schema}
        return {"response_format": {"type": "json_object", "schema": schema}}


def llama_tokens(vocabulary: Llama, text: str) -> int:
    """Tokens of ``text`` by a llama.cpp model's vocabulary (without the start token)."""
    return len(vocabulary.tokenize(text.encode("utf-8"), add_bos=False))


def estimated_tokens(text: str) -> int:
    """A token count without a tokenizer (Ollama's models): about three characters each."""
    return len(text) // 3 + 1


def ollama_available(settings: Settings, timeout: float = 1.5) -> bool:
    """True when the Ollama server answers and has the configured model."""
    try:
        response = httpx.get(f"{settings.ollama_host.rstrip('/')}/api/tags", timeout=timeout)
        response.raise_for_status()
    except (httpx.HTTPError, ValueError):
        return False
    names = {model.get("name", "") for model in response.json().get("models", [])}
    wanted = settings.ollama_model
    return wanted in names or f"{wanted}:latest" in names


def create_chat_model(settings: Settings) -> ChatModel:
    """The configured backend; with ``auto``, Ollama when it answers, else embedded."""
    backend = settings.llm_backend
    if backend == "auto":
        backend = "ollama" if ollama_available(settings) else "embedded"
    if backend == "ollama":
        return create_ollama_model(settings)
    return create_embedded_model(settings)


def create_ollama_model(settings: Settings) -> ChatModel:
    from langchain_ollama import ChatOllama

    model = ChatOllama(
        base_url=settings.ollama_host,
        model=settings.ollama_model,
        num_ctx=settings.ollama_num_ctx,  # Ollama's default window truncates RAG context
        num_predict=settings.llm_max_answer_tokens,
        temperature=settings.llm_temperature,
        client_kwargs={"timeout": settings.ollama_timeout_s},
    )
    return ChatModel(model=model, backend="ollama", name=settings.ollama_model)


def create_embedded_model(settings: Settings) -> ChatModel:
    from langchain_community.chat_models import ChatLlamaCpp

    path = ensure_model_file(settings.models_dir)
    model = ChatLlamaCpp(
        model_path=str(path),
        n_ctx=settings.llm_context_tokens,
        n_threads=settings.llm_threads,
        n_batch=256,
        max_tokens=settings.llm_max_answer_tokens,
        temperature=settings.llm_temperature,
        repeat_penalty=1.05,
        verbose=False,
    )
    return ChatModel(model=model, backend="embedded", name=EMBEDDED_MODEL_NAME)


def embedded_vocabulary(settings: Settings) -> Llama:
    """The embedded model's vocabulary alone (llama.cpp ``vocab_only``): its token counts
    in a fraction of a second, without loading its weights."""
    from llama_cpp import Llama

    path = ensure_model_file(settings.models_dir)
    return Llama(model_path=str(path), vocab_only=True, verbose=False)
