"""Builds the long-lived services once, from settings, for the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from assistant.api.access import Access
from assistant.conversations import ConversationStore, open_conversation_store
from assistant.generation.answer_service import AnswerService
from assistant.generation.evidence import EvidenceRanker
from assistant.governance.alerts import AlertMonitor
from assistant.governance.audit_log import AuditLog, open_audit_log
from assistant.governance.metrics import Metrics
from assistant.governance.recorder import Recorder
from assistant.llm.provider import LLMProvider
from assistant.retrieval.library import Library
from assistant.retrieval.rerank import CrossEncoderReranker, Reranker, SentenceReranker
from assistant.retrieval.sentence_vectors import SentenceVectors, sentence_vector_store
from assistant.security.api_keys import KeyStore
from assistant.security.known_attacks import KnownAttacks
from assistant.security.rate_limits import AnswersInFlight, RateLimits
from assistant.settings import Settings
from ingest.embeddings import create_embeddings
from ingest.store import ChunkStore


@dataclass
class Services:
    """Everything a request needs, created at start-up (the LLM loads on first use)."""

    settings: Settings
    store: ChunkStore
    embeddings: Embeddings
    search: Library
    llm: LLMProvider
    conversations: ConversationStore
    answers: AnswerService
    keys: KeyStore
    access: Access
    limits: RateLimits
    in_flight: AnswersInFlight
    audit: AuditLog
    recorder: Recorder
    alerts: AlertMonitor


def build_services(settings: Settings) -> Services:
    """Create the store client, embedding model, reranker (if set) and search service."""
    store = ChunkStore(settings)
    embeddings = create_embeddings(settings)
    vectors = SentenceVectors(embeddings, sentence_vector_store(settings))
    evidence = EvidenceRanker(embeddings, vectors=vectors)
    reranker: Reranker | None = None
    if settings.reranker_model is not None:
        reranker = CrossEncoderReranker(settings.reranker_model, settings.torch_threads)
    elif settings.sentence_rerank:
        reranker = SentenceReranker(evidence)
    search = Library(settings, store, embeddings, reranker)
    llm = LLMProvider(settings)
    conversations = open_conversation_store(settings)
    known_attacks = (
        KnownAttacks(embeddings, settings.injection_similarity_threshold)
        if settings.injection_similarity
        else None
    )
    answers = AnswerService(settings, search, llm, conversations, evidence, known_attacks)
    keys = KeyStore(settings.api_keys_path)
    audit = open_audit_log(settings)
    recorder = Recorder(audit, Metrics())
    return Services(
        settings=settings,
        store=store,
        embeddings=embeddings,
        search=search,
        llm=llm,
        conversations=conversations,
        answers=answers,
        keys=keys,
        access=Access(settings, keys),
        limits=RateLimits(settings),
        in_flight=AnswersInFlight(settings.answers_in_flight_per_caller),
        audit=audit,
        recorder=recorder,
        alerts=AlertMonitor(settings, recorder),
    )
