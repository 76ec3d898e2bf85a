"""Hybrid retrieval: vector search in Chroma, BM25 keywords, fusion, optional reranking."""
