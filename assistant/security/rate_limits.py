"""Request rate limits and daily token quotas per key (else per client), on the
``limits`` library: in memory for one process, in Redis for several replicas."""

from __future__ import annotations

import math
import time

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
        self._requests = MovingWindowRateLimiter(storage)
        self._tokens = FixedWindowRateLimiter(storage)
        self._request_limit: RateLimitItem = parse(settings.rate_limit)
        self._token_quota: RateLimitItem = parse(settings.token_quota)

    def count_request(self, identity: str) -> None:
        """Count one request; raises ``RateLimited`` when over the rate."""
        if not self._requests.hit(self._request_limit, "requests", identity):
            raise RateLimited(
                "requests",
                self._retry_after(self._requests, self._request_limit, identity, "requests"),
            )

    def check_tokens(self, identity: str) -> None:
        """Raises ``RateLimited`` when today's token quota is used up."""
        if not self._tokens.test(self._token_quota, "tokens", identity):
            raise RateLimited(
                "tokens", self._retry_after(self._tokens, self._token_quota, identity, "tokens")
            )

    def spend_tokens(self, identity: str, tokens: int) -> None:
        """Add the tokens an answer used to today's count."""
        if tokens > 0:
            self._tokens.hit(self._token_quota, "tokens", identity, cost=tokens)

    def tokens_left(self, identity: str) -> int:
        return self._tokens.get_window_stats(self._token_quota, "tokens", identity).remaining

    @staticmethod
    def _retry_after(limiter, item: RateLimitItem, identity: str, kind: str) -> int:
        reset = limiter.get_window_stats(item, kind, identity).reset_time
        return max(1, math.ceil(reset - time.time()))
