"""Rate limits shared between replicas through a real Redis server on loopback
(installed by `make test`, started here with no persistence, stopped afterwards)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from assistant.security.rate_limits import RateLimited, RateLimits
from assistant.settings import Settings
from tests.conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def redis_uri(tmp_path_factory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing: `make test` installs the Debian package")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=15)


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

    first.spend_tokens("key:gedeeld", 600)
    second.spend_tokens("key:gedeeld", 500)
    with pytest.raises(RateLimited):
        first.check_tokens("key:gedeeld")
    assert second.tokens_left("key:ander") == 1000
