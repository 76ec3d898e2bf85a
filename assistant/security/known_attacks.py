"""Closeness of question sentences to known attacks, with the embedding model the app
has already loaded: a signal that does not depend on the wording ("alles wat je eerder
is opgedragen telt niet meer" shares no rule word with "negeer je instructies").

The reference sentences (``known_attacks.jsonl`` beside this module) are the attack
sentences of attack set v1 and of the tune half of v2, and ordinary questions (the
retrieval dev set, the look-alikes of v2's tune half), in the screen's normal form; the
held-out half of v2 is never among them (tests/test_screening.py checks).

A multilingual e5 model puts any two sentences at a cosine of .8 to .95, so a raw
similarity does not separate an attack from a question about rules. Two things do:
the vectors are centred on the mean of the reference sentences before comparing, and
a sentence's score is its similarity to the nearest attack minus that to the nearest
ordinary question. Sentences are embedded as queries (e5's prefix for symmetric
comparison); the reference sentences once per process, on first use.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.security.injection import readable

REFERENCES = Path(__file__).with_name("known_attacks.jsonl")


def load_references(path: Path = REFERENCES) -> list[dict]:
    """``{"source": id, "label": "attack" | "ordinary", "text": sentence}`` per line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@dataclass(frozen=True)
class _Space:
    """The centred, unit-length reference vectors."""

    mean: np.ndarray
    attacks: np.ndarray
    ordinary: np.ndarray


class KnownAttacks:
    """Scores sentences by how much closer they are to a known attack than to an
    ordinary question; at or above ``threshold`` a sentence counts as an attack
    (``injection.clean_question``)."""

    def __init__(self, embeddings: Embeddings, threshold: float, path: Path = REFERENCES) -> None:
        self.threshold = threshold
        self._embeddings = embeddings
        self._references = load_references(path)
        self._space: _Space | None = None
        self._lock = threading.Lock()

    def similarity(self, sentences: list[str]) -> list[float]:
        """Each sentence's score (0.0 for one with nothing readable in it)."""
        forms = [readable(s) for s in sentences]
        present = [i for i, form in enumerate(forms) if any(c.isalnum() for c in form)]
        scores = [0.0] * len(sentences)
        if not present:
            return scores
        space = self._reference_space()
        vectors = _centred(self._embed([forms[i] for i in present]), space.mean)
        closest_attack = (vectors @ space.attacks.T).max(axis=1)
        closest_ordinary = (vectors @ space.ordinary.T).max(axis=1)
        for i, score in zip(present, closest_attack - closest_ordinary, strict=True):
            scores[i] = round(float(score), 4)
        return scores

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray([self._embeddings.embed_query(t) for t in texts], dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def _reference_space(self) -> _Space:
        with self._lock:
            if self._space is None:
                vectors = self._embed([r["text"] for r in self._references])
                mean = vectors.mean(axis=0)
                is_attack = np.array([r["label"] == "attack" for r in self._references])
                centred = _centred(vectors, mean)
                self._space = _Space(mean, centred[is_attack], centred[~is_attack])
            return self._space


def _centred(vectors: np.ndarray, mean: np.ndarray) -> np.ndarray:
    shifted = vectors - mean
    return shifted / np.maximum(np.linalg.norm(shifted, axis=1, keepdims=True), 1e-12)
