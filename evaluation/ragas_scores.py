"""RAGAS metrics per item: the ones without an LLM always, the judged ones when a judge
model is given.

Local judges often return unparsable output or NaN; such a score is recorded as
missing and counted per metric, never averaged in as a number.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")  # ragas reports usage otherwise

JUDGED_METRICS = ("faithfulness", "answer_relevancy", "llm_context_precision_with_reference")
RETRIEVAL_METRICS = {"non_llm_context_recall", "non_llm_context_precision_with_reference"}


@dataclass
class RagasOutcome:
    """Scores by metric name (None when missing) and why the missing ones are missing."""

    scores: dict[str, float | None] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


class RagasScorer:
    """Scores one item at a time, so a long run can be resumed item by item."""

    def __init__(
        self, embeddings: Embeddings, judge: BaseChatModel | None = None, timeout_s: float = 600
    ) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ragas marks its single-turn API as deprecated
            from ragas.embeddings import LangchainEmbeddingsWrapper
            from ragas.llms import LangchainLLMWrapper
            from ragas.metrics import (
                Faithfulness,
                LLMContextPrecisionWithReference,
                NonLLMContextPrecisionWithReference,
                NonLLMContextRecall,
                NonLLMStringSimilarity,
                ResponseRelevancy,
                RougeScore,
                SemanticSimilarity,
            )
            from ragas.run_config import RunConfig

            ragas_embeddings = LangchainEmbeddingsWrapper(embeddings)
            self._metrics = [
                NonLLMContextRecall(),
                NonLLMContextPrecisionWithReference(),
                RougeScore(),
                NonLLMStringSimilarity(),
                SemanticSimilarity(embeddings=ragas_embeddings),
            ]
            if judge is not None:
                run_config = RunConfig(timeout=int(timeout_s), max_retries=1, max_workers=1)
                llm = LangchainLLMWrapper(judge, run_config=run_config)
                self._metrics += [
                    Faithfulness(llm=llm),
                    ResponseRelevancy(llm=llm, embeddings=ragas_embeddings, strictness=1),
                    LLMContextPrecisionWithReference(llm=llm),
                ]
                for metric in self._metrics[-3:]:
                    metric.init(run_config)

    @property
    def metric_names(self) -> list[str]:
        return [metric.name for metric in self._metrics]

    def score(
        self,
        question: str,
        response: str | None,
        reference: str,
        retrieved_contexts: list[str],
        reference_contexts: list[str],
    ) -> RagasOutcome:
        """Every configured metric for one question; without a response (retrieval-only
        runs) only the retrieval metrics."""
        from ragas.dataset_schema import SingleTurnSample

        sample = SingleTurnSample(
            user_input=question,
            response=response or "",
            reference=reference,
            retrieved_contexts=retrieved_contexts,
            reference_contexts=reference_contexts,
        )
        outcome = RagasOutcome()
        for metric in self._metrics:
            if response is None and metric.name not in RETRIEVAL_METRICS:
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    value = float(metric.single_turn_score(sample))
            except Exception as exc:  # a judge's parse failure or timeout: count it
                outcome.scores[metric.name] = None
                outcome.failures[metric.name] = f"{type(exc).__name__}: {str(exc)[:160]}"
                continue
            if math.isnan(value):
                outcome.scores[metric.name] = None
                outcome.failures[metric.name] = "NaN"
            else:
                outcome.scores[metric.name] = value
        return outcome
