"""Request and response shapes of the HTTP API (a contract: extend, don't break)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from assistant.settings import COLLECTION_NAME

CollectionName = Annotated[str, Field(pattern=COLLECTION_NAME)]
COLLECTIONS_HELP = (
    "Zoek alleen in deze collecties (gemeente of afdeling). Zonder: de collecties van je "
    "sleutel, of de gedeelde collectie."
)


class SearchRequest(BaseModel):
    query: str = Field(..., description="De zoekvraag, in het Nederlands of Engels.")
    k: int = Field(5, ge=1, le=50, description="Aantal resultaten.")
    doc_ids: list[str] | None = Field(None, description="Alleen in deze documenten zoeken.")
    collections: list[CollectionName] | None = Field(
        None, max_length=20, description=COLLECTIONS_HELP
    )


class SearchResult(BaseModel):
    rank: int
    chunk_id: str
    doc_id: str
    title: str
    section: str
    page: int | None
    text: str
    score: float
    collection: str = Field("", description="The collection the passage comes from.")


class SearchResponse(BaseModel):
    query: str
    searched_as: str = Field(
        "",
        description="The query as searched: for another language than Dutch, the "
        "model's Dutch version in front, as chat searches.",
    )
    results: list[SearchResult]


class DocumentInfo(BaseModel):
    doc_id: str
    title: str
    publisher: str
    year: int | None
    type: str
    language: str
    chunks: int


class HealthResponse(BaseModel):
    status: str = Field(
        ...,
        description="'ok'; 'empty' before the first ingest; 'degraded' when the LLM is down.",
    )
    llm: dict = Field(default_factory=dict, description="LLM backend and its availability.")
    documents: int
    chunks: int
    corpus_version: str | None = None
    embedding: str
    vector_store: str
    index_updated_at: float | None = None


class ErrorResponse(BaseModel):
    detail: str


class ChatRequest(BaseModel):
    message: str = Field(..., description="De vraag van de gebruiker.")
    conversation_id: str | None = Field(None, description="Vervolg op een eerder gesprek.")
    stream: bool = Field(False, description="Antwoord als Server-Sent Events.")
    collections: list[CollectionName] | None = Field(
        None, max_length=20, description=COLLECTIONS_HELP
    )


class CitationOut(BaseModel):
    n: int
    chunk_id: str
    doc_id: str
    title: str
    section: str
    page: int | None
    text: str
    collection: str = ""


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class Timings(BaseModel):
    retrieval: int
    generation: int
    total: int


class Screening(BaseModel):
    """What was done to the question before it was answered."""

    personal_data_redacted: list[str] = Field(
        default_factory=list, description="Kinds of personal data replaced, e.g. 'bsn'."
    )
    injection_score: float = 0.0
    injection_signals: list[str] = Field(default_factory=list)
    sentences_removed: int = Field(0, description="Sentences left out as prompt injection.")
    passages_flagged: int = Field(0, description="Passages left out or cleaned of instructions.")


class ChatResponse(BaseModel):
    conversation_id: str
    message_id: str
    answer: str
    refused: bool
    citations: list[CitationOut]
    model: str
    usage: Usage
    timings_ms: Timings
    standalone_question: str = ""
    search_query: str = Field("", description="What retrieval read for this answer.")
    search_parts: list[str] = Field(
        default_factory=list, description="The parts of a compound question, searched too."
    )
    language: str = "nl"
    refusal_reason: str | None = None
    fallback: str | None = Field(
        None,
        description="'extractive' when sentences were quoted, 'timeout' when cut off.",
    )
    cached: bool = False
    prompt_version: str = ""
    unsupported_sentences: int = 0
    screening: Screening = Field(default_factory=Screening)
    question: str = Field("", description="The question as stored: personal data redacted.")
    retrieved: list[str] = Field(
        default_factory=list, description="Chunk ids retrieval returned, best first."
    )
    corpus_version: str | None = None
    collections: list[str] = Field(
        default_factory=list, description="The collections the answer was sought in."
    )
    related: list[CitationOut] = Field(
        default_factory=list,
        description="With refusal_reason 'not_in_documents': the closest passages, about the "
        "subject but not an answer (shown as 'Wel gevonden over dit onderwerp').",
    )
    answer_mode: str = Field("quote", description="quote or write (WEGWIJZER_ANSWER_MODE).")
    answer_html: str = Field(
        "", description="The answer as safe HTML (escaped, no links), [n] as citation chips."
    )


class FeedbackRequest(BaseModel):
    message_id: str = Field(
        ..., min_length=1, max_length=64, description="Het beoordeelde antwoord."
    )
    rating: Literal["up", "down"] | None = Field(None, description="Duim omhoog of omlaag.")
    comment: str | None = Field(None, max_length=2000, description="Optionele toelichting.")
    report_problem: bool = Field(
        False, description="Meld een probleem: schadelijk of fout antwoord, voor de beheerders."
    )


class FeedbackResponse(BaseModel):
    feedback_id: str
    message_id: str
    conversation_id: str
    stored: bool = True


class FeedbackItem(BaseModel):
    """Stored feedback as administrators see it."""

    id: str
    message_id: str
    conversation_id: str
    rating: str | None
    comment: str | None
    problem: bool
    created_at: float
    handled_at: float | None = None
    handled_by: str | None = None
    handling_note: str | None = None
    question: str | None = Field(None, description="The question answered (redacted).")
    answer: str | None = None


class HandleFeedbackRequest(BaseModel):
    note: str = Field(..., min_length=1, max_length=2000, description="Wat is eraan gedaan.")


class ChainReportOut(BaseModel):
    """The audit log's hash chain, checked."""

    ok: bool
    entries: int
    first_seq: int | None
    last_seq: int | None
    broken_seq: int | None = None
    problem: str | None = None
