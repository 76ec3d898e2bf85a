"""Rate limits shared between replicas through a real Redis server on loopback
(installed by `make test`, started here with no persistence, stopped afterwards)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assistant.security.rate_limits import RateLimited, RateLimits
from assistant.settings import Settings
from tests.services import running_redis

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def redis_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


def test_two_replicas_share_request_counts_and_token_quotas(redis_uri: str) -> None:
    settings = Settings(
        _env_file=None,
        limits_storage_uri=redis_uri,
        rate_limit="3/minute",
        token_quota="1000/day",
    )
    first, second = RateLimits(settings), RateLimits(settings)  # as in two API processes
    first.count_request("key:gedeeld")
    second.count_request("key:gedeeld")
    first.count_request("key:gedeeld")
    with pytest.raises(RateLimited) as exc:
        second.count_request("key:gedeeld")
    assert exc.value.what == "requests" and 1 <= exc.value.retry_after_s <= 60

    # two answers at once on two replicas reserve from one quota: together never more
    assert first.reserve_tokens("key:gedeeld", 600) == 600
    assert second.reserve_tokens("key:gedeeld", 600) == 400
    with pytest.raises(RateLimited):
        first.reserve_tokens("key:gedeeld", 600)
    second.settle_tokens("key:gedeeld", 400, 100)  # used less: the rest comes back
    assert first.tokens_left("key:gedeeld") == 300
    assert second.tokens_left("key:ander") == 1000
