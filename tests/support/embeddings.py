"""Embedding helpers for tests."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings


class CountingEmbeddings:
    """A real embedding model, counting the texts it embeds as documents."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner, self.embedded = inner, 0

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += len(texts)
        return self.inner.embed_documents(texts)
