"""Rank the sentences of retrieved chunks by how well they answer the question.

A chunk is retrieved as a whole, but the answer usually sits in one or two of its
sentences, often without a word in common with the question ("Welk platform ...?" /
"Maak gebruik van een low-code platform (e.g. N8N)"). The scores choose what the
model reads (``context.select_passages``) and what an answer quotes
(``extractive``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.generation.sentences import (
    LIST_ITEM,
    asks_a_question,
    content_terms,
    is_heading,
    is_reference,
    section_titles,
    source_sentences,
)
from assistant.retrieval.hits import SearchHit
from assistant.retrieval.sentence_vectors import SentenceVectors


@dataclass(frozen=True)
class Sentence:
    """One sentence (or list item) of a chunk, with its place and score."""

    position: int
    text: str
    score: float


@dataclass(frozen=True)
class RankedHit:
    """A retrieved chunk with every sentence scored against the question."""

    rank: int
    hit: SearchHit
    sentences: tuple[Sentence, ...]


class EvidenceRanker:
    """Scores chunk sentences against a question; word overlap only without ``embeddings``.

    score = cosine(question, sentence) + ``word_weight`` x the question's words found in
    the sentence, each weighted by how rare it is among the candidate sentences
    - ``rank_penalty`` x the chunk's rank - ``reference_penalty`` for a source line or
    an item of a reference list, which shares the question's names ("VNG") but says
    nothing - ``heading_penalty`` for a section title or a line without a word ("1.4
    Leeswijzer", "3."); then + ``neighbour_weight`` x the better of its neighbours' scores, since
    an answer often runs over two lines. The weights were
    chosen on the golden set (key facts in the two best sentences .34 -> .41).
    """

    def __init__(
        self,
        embeddings: Embeddings | None,
        word_weight: float = 0.3,
        rank_penalty: float = 0.02,
        neighbour_weight: float = 0.2,
        reference_penalty: float = 0.1,
        question_penalty: float = 0.1,
        heading_penalty: float = 0.1,
        vectors: SentenceVectors | None = None,
    ) -> None:
        self._embeddings = embeddings
        self._word_weight = word_weight
        self._rank_penalty = rank_penalty
        self._neighbour_weight = neighbour_weight
        self._reference_penalty = reference_penalty
        self._question_penalty = question_penalty
        self._heading_penalty = heading_penalty
        # sentence vectors, embedded once (memory only unless a store is given)
        self._vectors = vectors or (SentenceVectors(embeddings) if embeddings else None)

    def rank(self, question: str, hits: list[SearchHit]) -> list[RankedHit]:
        """Every hit with its sentences scored, in the hits' own order."""
        ranked = []
        for rank, (hit, sentences, own) in enumerate(self._scored(question, hits)):
            own = [score - self._rank_penalty * rank for score in own]
            scored = []
            for i, text in enumerate(sentences):
                neighbours = [own[j] for j in (i - 1, i + 1) if 0 <= j < len(own)]
                score = own[i] + self._neighbour_weight * max(neighbours, default=0.0)
                scored.append(Sentence(i, text, round(float(score), 6)))
            ranked.append(RankedHit(rank, hit, tuple(scored)))
        return ranked

    def best_sentence_scores(self, question: str, hits: list[SearchHit]) -> list[float]:
        """Each hit's best sentence score, its rank not counted: for reordering hits."""
        return [max(own, default=0.0) for _, _, own in self._scored(question, hits)]

    def _scored(
        self, question: str, hits: list[SearchHit]
    ) -> list[tuple[SearchHit, list[str], list[float]]]:
        """Per hit: its sentences and their own scores (before rank and neighbours)."""
        split = [source_sentences(hit.text) for hit in hits]
        flat = [text for sentences in split for text in sentences]
        semantic = self._similarities(question, flat)
        words = rare_word_overlap(content_terms(question), [content_terms(t) for t in flat])
        scored, offset = [], 0
        for hit, sentences in zip(hits, split, strict=True):
            titles = section_titles(hit.section)
            own = [
                float(semantic[offset + i])
                + self._word_weight * words[offset + i]
                - self._reference_penalty * is_reference(sentences[i])
                - self._question_penalty * _unanswered_question(sentences, i)
                - self._heading_penalty * is_heading(sentences[i], titles)
                for i in range(len(sentences))
            ]
            offset += len(sentences)
            scored.append((hit, sentences, own))
        return scored

    def best_similarities(
        self, texts: list[str], groups: dict[int, list[str]]
    ) -> list[dict[int, float]]:
        """For each text, its highest cosine similarity to the sentences of each group
        (empty without embeddings): whether a translated sentence says what a passage
        says, where the two share few words."""
        if self._embeddings is None or not texts:
            return [{} for _ in texts]
        own = _unit(np.asarray(self._embeddings.embed_documents(texts), dtype=np.float32))
        best: list[dict[int, float]] = [{} for _ in texts]
        for key, sentences in groups.items():
            if not sentences:
                continue
            similarity = own @ _unit(self._sentence_vectors(sentences)).T
            for i, value in enumerate(similarity.max(axis=1)):
                best[i][key] = float(value)
        return best

    def _similarities(self, question: str, texts: list[str]) -> list[float]:
        if self._embeddings is None or not texts:
            return [0.0] * len(texts)
        query = _unit(np.asarray([self._embeddings.embed_query(question)], dtype=np.float32))
        return list(_unit(self._sentence_vectors(texts)) @ query[0])

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        assert self._vectors is not None
        return self._vectors.of(texts)


def _unanswered_question(sentences: list[str], i: int) -> bool:
    """A question the document asks without the list that answers it."""
    answered = i + 1 < len(sentences) and LIST_ITEM.match(sentences[i + 1])
    return asks_a_question(sentences[i]) and not answered


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def rare_word_overlap(question: set[str], sentences: list[set[str]]) -> list[float]:
    """The share of the question's words each sentence holds, a word counting more the
    fewer sentences hold it (inverse document frequency over these sentences)."""
    if not question or not sentences:
        return [0.0] * len(sentences)
    count = len(sentences)
    weight = {
        term: math.log(1 + count / (1 + sum(term in terms for terms in sentences)))
        for term in question
    }
    total = sum(weight.values()) or 1.0
    return [sum(weight[t] for t in question & terms) / total for terms in sentences]
