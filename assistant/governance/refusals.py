"""Repeated refused requests, audited once per window instead of once each.

A client that sends thousands of requests without a key would otherwise write
thousands of fsynced audit entries, each kept for the retention period. The first
refusal of a caller, address and status in a window is audited in full; the ones after
it are counted, and one entry per window says how many there were.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from assistant.governance.audit_log import Origin

SAMPLE_PATHS = 5


@dataclass
class RepeatedRefusals:
    """The refusals of one caller, address and status after the first in a window."""

    who: Origin
    status: int
    started: float
    count: int = 0
    last: float = 0.0
    paths: list[str] = field(default_factory=list)


class RefusalDigest:
    """Decides which refused requests are audited one by one (thread-safe)."""

    def __init__(self, window_s: float = 60.0, max_open: int = 10_000) -> None:
        self._window_s = window_s
        self._max_open = max_open
        self._open: dict[tuple[str, str, int], RepeatedRefusals] = {}
        self._lock = threading.Lock()

    def record(
        self, who: Origin, path: str, status: int, now: float | None = None
    ) -> tuple[bool, list[RepeatedRefusals]]:
        """Whether to audit this refusal on its own, and the counts of closed windows."""
        now = time.time() if now is None else now
        key = (who.actor, who.origin, status)
        with self._lock:
            closed = self._close(now, everything=len(self._open) >= self._max_open)
            current = self._open.get(key)
            if current is None:
                self._open[key] = RepeatedRefusals(who, status, started=now, last=now)
                return True, closed
            current.count += 1
            current.last = now
            if len(current.paths) < SAMPLE_PATHS and path not in current.paths:
                current.paths.append(path)
            return False, closed

    def due(self, now: float | None = None) -> list[RepeatedRefusals]:
        """The counts of windows that have ended (for a periodic flush)."""
        with self._lock:
            return self._close(time.time() if now is None else now)

    def _close(self, now: float, everything: bool = False) -> list[RepeatedRefusals]:
        ended = [
            key
            for key, item in self._open.items()
            if everything or now - item.started >= self._window_s
        ]
        closed = [self._open.pop(key) for key in ended]
        return [item for item in closed if item.count]
