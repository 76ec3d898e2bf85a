"""Run the golden set through one or more configurations, item by item, resumably.

Every finished item is appended to ``results.jsonl`` in the output folder at once;
a rerun with the same configuration and the same item skips what is there, so a
crash halfway loses at most the item in progress.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from assistant.generation.answer_service import AnswerResult, InvalidMessage
from assistant.llm.factory import LLMUnavailable, create_embedded_model
from assistant.services import Services, build_services
from assistant.settings import Settings
from evaluation.answer_checks import answer_checks
from evaluation.configs import EvalConfig, fingerprint, settings_for
from evaluation.golden import GoldenItem
from evaluation.ragas_scores import RagasScorer
from evaluation.retrieval_scores import context_ranks, retrieval_scores
from ingest.pipeline import run_ingest

RETRIEVAL_DEPTH = 10
RETRIEVAL_ONLY_CATEGORIES = {"paraphrase"}  # rewordings measure retrieval; originals answers
ProgressCallback = Callable[[str, int, int, str], None]


@dataclass(frozen=True)
class RunOptions:
    """What to run: answers too or retrieval only, and which judge (none/embedded/ollama)."""

    retrieval_only: bool = False
    judge: str = "none"


class ResultLog:
    """Append-only JSONL of finished items; the memory of a resumable run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._records: dict[tuple[str, str], dict] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut off by a crash: that item runs again
                self._records[(record["fingerprint"], record["item_key"])] = record

    def get(self, config_fingerprint: str, item_key: str) -> dict | None:
        return self._records.get((config_fingerprint, item_key))

    def append(self, record: dict) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
        self._records[(record["fingerprint"], record["item_key"])] = record


def item_key(item: GoldenItem) -> str:
    """Changes when the item changes, so an edited item is evaluated again."""
    return hashlib.sha256(item.model_dump_json().encode("utf-8")).hexdigest()[:16]


def evaluate(
    base: Settings,
    configs: list[EvalConfig],
    items: list[GoldenItem],
    out_dir: Path,
    options: RunOptions,
    on_item: ProgressCallback | None = None,
) -> list[dict]:
    """Every item under every configuration; returns the records in run order."""
    log = ResultLog(out_dir / "results.jsonl")
    records: list[dict] = []
    for config in configs:
        settings = settings_for(base, config).model_copy(
            update={"answer_cache": False, "conversations_file": out_dir / "conversations.sqlite"}
        )
        mode = "retrieval" if options.retrieval_only else f"answers-judge-{options.judge}"
        run_id = f"{fingerprint(settings)}-{mode}"
        records += _run_config(config, settings, run_id, items, log, options, on_item)
    return records


def _run_config(
    config: EvalConfig,
    settings: Settings,
    run_id: str,
    items: list[GoldenItem],
    log: ResultLog,
    options: RunOptions,
    on_item: ProgressCallback | None,
) -> list[dict]:
    services: Services | None = None
    scorer: RagasScorer | None = None
    records = []
    for done, item in enumerate(items, start=1):
        key = item_key(item)
        record = log.get(run_id, key)
        if record is None:
            if services is None or scorer is None:  # built only when something is left to do
                services = build_services(settings)
                run_ingest(settings, services.embeddings)  # instant when the index is current
                scorer = RagasScorer(services.embeddings, _judge(services, options.judge))
            record = run_item(item, services, scorer, options)
            record.update(config=config.name, overrides=config.overrides)
            record.update(fingerprint=run_id, item_key=key)
            log.append(record)
        records.append(record)
        if on_item:
            on_item(config.name, done, len(items), item.id)
    return records


def _judge(services: Services, judge: str) -> BaseChatModel | None:
    """The judge model for RAGAS' LLM metrics; the answering model is reused when it fits."""
    if judge == "none":
        return None
    chat = services.llm.current()
    if chat.backend == judge:
        return chat.model
    if judge == "ollama":
        raise LLMUnavailable("an Ollama judge was asked for, but Ollama does not answer")
    return create_embedded_model(services.settings).model


def run_item(
    item: GoldenItem, services: Services, scorer: RagasScorer, options: RunOptions
) -> dict:
    """One golden item: the answer (unless retrieval only), retrieval ranks, all metrics."""
    record: dict = {
        "id": item.id,
        "category": item.category,
        "language": item.language,
        "question": item.question,
        "history": item.history,
        "expect_refusal": item.expect_refusal,
        "answerable": item.answerable,
        "answer": None,
        "error": None,
    }
    standalone = f"{item.history[-1]} {item.question}" if item.history else item.question
    searched_as, parts = None, []
    if not options.retrieval_only and item.category not in RETRIEVAL_ONLY_CATEGORIES:
        try:
            result, first_token_ms = _ask(item, services)
        except (InvalidMessage, LLMUnavailable) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
        else:
            standalone = result.standalone_question or standalone
            searched_as, parts = result.search_query or None, result.search_parts
            record["answer"] = _answer_record(result, first_token_ms)
    if searched_as is None:  # searched the way the answer is (another language: with Dutch)
        plan = services.answers.search_plan(standalone)
        searched_as, parts = plan.search_query, list(plan.parts)
    record["standalone_question"] = standalone
    record["searched_as"] = searched_as
    record["search_parts"] = list(parts)
    state = services.search.state()
    record["corpus_version"] = state.corpus_version if state else None

    hits = services.search.search(searched_as, k=RETRIEVAL_DEPTH, parts=parts)
    shown = ("chunk_id", "doc_id", "section", "page", "text")
    record["retrieved"] = [{key: getattr(hit, key) for key in shown} for hit in hits[:5]]
    record["retrieval"] = None
    if item.answerable:
        ranks = context_ranks(item.reference_contexts, item.doc_ids, hits)
        record["retrieval"] = {"ranks": ranks, **retrieval_scores(ranks)}

    answer = record["answer"]
    record["checks"] = (
        answer_checks(
            item,
            answer,
            services.answers.prompts.system,
            services.settings.citation_support_threshold,
        )
        if answer
        else {}
    )
    record["ragas"], record["ragas_failures"] = {}, {}
    if item.answerable and (answer or options.retrieval_only):
        outcome = scorer.score(
            question=standalone,
            response=answer["answer"] if answer else None,
            reference=item.reference,
            retrieved_contexts=[hit.text for hit in hits[: services.settings.answer_passages]],
            reference_contexts=item.reference_contexts,
        )
        record["ragas"], record["ragas_failures"] = outcome.scores, outcome.failures
    return record


def _ask(item: GoldenItem, services: Services) -> tuple[AnswerResult, int | None]:
    """Ask the item's question (after its history) the way the streaming API does."""
    conversation_id = None
    for earlier in item.history:
        conversation_id = services.answers.answer(earlier, conversation_id).conversation_id
    started = time.perf_counter()
    first_token_ms: int | None = None
    result: AnswerResult | None = None
    for event in services.answers.stream(item.question, conversation_id):
        if event.kind == "token" and first_token_ms is None:
            first_token_ms = round((time.perf_counter() - started) * 1000)
        elif event.kind == "done":
            assert isinstance(event.data, AnswerResult)
            result = event.data
    assert result is not None
    return result, first_token_ms


def _answer_record(result: AnswerResult, first_token_ms: int | None) -> dict:
    keep = (
        "answer",
        "refused",
        "refusal_reason",
        "citations",
        "model",
        "prompt_version",
        "fallback",
        "usage",
        "timings_ms",
        "unsupported_sentences",
        "related",
        "answerability",
    )
    data = {key: getattr(result, key) for key in keep}
    data["first_token_ms"] = first_token_ms
    return data
