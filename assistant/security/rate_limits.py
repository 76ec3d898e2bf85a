"""Request rate limits and daily token quotas per key (else per client), on the
``limits`` library: in memory for one process, in Redis for several replicas; and the
cap on one caller's answers in flight, per process."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from assistant.settings import Settings


class RateLimited(RuntimeError):
    """Over the limit; ``retry_after_s`` says when to try again."""

    def __init__(self, what: str, retry_after_s: int) -> None:
        super().__init__(what)
        self.what = what
        self.retry_after_s = retry_after_s


class RateLimits:
    """Counts requests (moving window) and model tokens (fixed daily window)."""

    def __init__(self, settings: Settings) -> None:
        storage = storage_from_string(settings.limits_storage_uri)
        self._storage = storage
        self._requests = MovingWindowRateLimiter(storage)
        self._tokens = FixedWindowRateLimiter(storage)
        self._request_limit: RateLimitItem = parse(settings.rate_limit)
        self._address_limit: RateLimitItem = parse(settings.address_rate_limit)
        self._token_quota: RateLimitItem = parse(settings.token_quota)

    def count_request(self, identity: str) -> None:
        """Count one request; raises ``RateLimited`` when over the rate."""
        self._count(self._request_limit, "requests", identity)

    def count_address(self, address: str) -> None:
        """Count one request from a client address, before anyone is identified."""
        self._count(self._address_limit, "addresses", address)

    def _count(self, item: RateLimitItem, kind: str, identity: str) -> None:
        if not self._requests.hit(item, kind, identity):
            raise RateLimited("requests", self._retry_after(self._requests, item, identity, kind))

    def reserve_tokens(self, identity: str, tokens: int) -> int:
        """Take up to ``tokens`` of today's quota before an answer starts, in one atomic
        step, so that parallel answers cannot together spend more than is left; returns
        what was taken. Raises ``RateLimited`` when nothing is left."""
        left = self.tokens_left(identity)
        reserved = min(tokens, left)
        if reserved <= 0 or not self._tokens.hit(
            self._token_quota, "tokens", identity, cost=reserved
        ):
            if reserved > 0:  # another answer took it first: give back what this one took
                self._adjust_tokens(identity, -reserved)
            raise RateLimited(
                "tokens", self._retry_after(self._tokens, self._token_quota, identity, "tokens")
            )
        return reserved

    def settle_tokens(self, identity: str, reserved: int, used: int) -> None:
        """Count what the answer really used instead of what it reserved (also above
        the quota: an answer that ran over is charged in full)."""
        if used != reserved:
            self._adjust_tokens(identity, used - reserved)

    def _adjust_tokens(self, identity: str, amount: int) -> None:
        item = self._token_quota
        self._storage.incr(item.key_for("tokens", identity), item.get_expiry(), amount=amount)

    def tokens_left(self, identity: str) -> int:
        return self._tokens.get_window_stats(self._token_quota, "tokens", identity).remaining

    @staticmethod
    def _retry_after(limiter, item: RateLimitItem, identity: str, kind: str) -> int:
        reset = limiter.get_window_stats(item, kind, identity).reset_time
        return max(1, math.ceil(reset - time.time()))


class AnswersInFlight:
    """At most ``limit`` answers at a time for one caller, so that one key cannot take
    the model's only slot and its whole queue from everyone else."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._running: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, identity: str) -> None:
        """Count one more answer for ``identity``; raises ``RateLimited`` at the cap."""
        with self._lock:
            if self._running[identity] >= self._limit:
                raise RateLimited("answers_in_flight", 5)
            self._running[identity] += 1

    def release(self, identity: str) -> None:
        with self._lock:
            self._running[identity] -= 1
            if self._running[identity] <= 0:
                del self._running[identity]
