"""A bounded queue in front of the model: one generation at a time, a limited number
waiting, and a limited wait, so that a burst of questions waits or is turned away
instead of piling up threads and memory."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ModelBusy(RuntimeError):
    """Too many questions are waiting for the model, or one waited too long."""

    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class GenerationGate:
    """Admits one holder at a time and at most ``max_waiting`` waiters."""

    def __init__(self, max_waiting: int, max_wait_s: float) -> None:
        self._lock = threading.Lock()
        self._guard = threading.Lock()
        self._waiting = 0
        self._max_waiting = max_waiting
        self._max_wait_s = max_wait_s

    @property
    def waiting(self) -> int:
        """How many questions wait for the model."""
        return self._waiting

    @property
    def busy(self) -> bool:
        """Whether the model is generating (or making a side call) right now."""
        return self._lock.locked()

    @contextmanager
    def hold(self, wait: bool = True) -> Iterator[None]:
        """Hold the model; raises ``ModelBusy`` when the queue is full or the wait too long,
        or, with ``wait=False``, when the model is busy at all (for a step that can do
        without it, such as translating a search query)."""
        if not self._lock.acquire(blocking=False):
            if not wait:
                raise ModelBusy("busy", retry_after_s=5)
            with self._guard:
                if self._waiting >= self._max_waiting:
                    raise ModelBusy("queue_full", retry_after_s=30)
                self._waiting += 1
            try:
                acquired = self._lock.acquire(timeout=self._max_wait_s)
            finally:
                with self._guard:
                    self._waiting -= 1
            if not acquired:
                raise ModelBusy("wait_timeout", retry_after_s=60)
        try:
            yield
        finally:
            self._lock.release()
