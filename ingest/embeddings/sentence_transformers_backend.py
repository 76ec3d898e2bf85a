"""Any sentence-transformers model from a local path (what production installs use)."""

from __future__ import annotations

import threading
from pathlib import Path

from langchain_core.embeddings import Embeddings


class SentenceTransformerEmbeddings(Embeddings):
    """Normalised sentence-transformers embeddings with configurable e5-style prefixes."""

    def __init__(
        self,
        model_path: str,
        query_prefix: str = "",
        passage_prefix: str = "",
        num_threads: int = 2,
        batch_size: int = 32,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if not Path(model_path).exists():
            raise FileNotFoundError(
                f"embedding model path '{model_path}' does not exist; models are loaded "
                "from local paths only (set WEGWIJZER_EMBEDDING_MODEL)"
            )
        torch.set_num_threads(num_threads)
        self._model = SentenceTransformer(model_path, device="cpu", local_files_only=True)
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._batch_size = batch_size
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=self._batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode([self._passage_prefix + text for text in texts])

    def embed_query(self, text: str) -> list[float]:
        return self._encode([self._query_prefix + text])[0]
