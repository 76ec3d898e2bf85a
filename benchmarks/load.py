"""Load test on loopback: 20 concurrent clients for 60 s against search and chat.

15 clients search and 5 chat (the ten benchmark questions in turn, so that repeats come
from the answer cache, as repeated questions do in a municipality). Every client has its
own API key, so the key check runs on every request; the rate limit is raised, since
this measures capacity, not the limiter (tests/test_access.py covers that). Reports
throughput, p50/p95/p99 latency per endpoint, responses by status, and the server's
memory after warm-up and at the end. Written to ``$WEGWIJZER_DATA_DIR/bench/load.json``.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from assistant.security.api_keys import KeyStore
from assistant.settings import Settings
from benchmarks.chat import QUESTIONS
from benchmarks.report import write_report
from benchmarks.server import indexed_environment, memory_mb, serving
from evaluation.golden import load_golden
from evaluation.summary import percentile

CLIENTS = {"search": 15, "chat": 5}
DURATION_S = 60.0
WARMUP_S = 20.0  # the same load first, unmeasured: model buffers, caches, thread pools


async def client(
    kind: str, base: str, key: str, questions: list[str], until: float, log: list
) -> None:
    rng = random.Random(f"{kind}{key}")
    headers = {"Authorization": f"Bearer {key}"}
    turn = rng.randrange(len(QUESTIONS))  # chat clients start on different questions
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as http:
        while time.monotonic() < until:
            if kind == "search":
                path, body = "/api/search", {"query": rng.choice(questions), "k": 5}
            else:
                path, body = "/api/chat", {"message": QUESTIONS[turn % len(QUESTIONS)]}
                turn += 1
            started = time.perf_counter()
            try:
                response = await http.post(path, json=body)
                status = response.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            log.append((kind, status, time.perf_counter() - started))


def run_clients(base: str, keys: list[str], questions: list[str], seconds: float, log: list):
    """Every client at once for ``seconds``; returns when their last requests are back."""
    until = time.monotonic() + seconds
    kinds = [kind for kind, count in CLIENTS.items() for _ in range(count)]

    async def together() -> None:
        await asyncio.gather(
            *(
                client(kind, base, key, questions, until, log)
                for kind, key in zip(kinds, keys, strict=True)
            )
        )

    asyncio.run(together())


def main() -> None:
    settings = Settings()
    questions = [item.question for item in load_golden()]
    with tempfile.TemporaryDirectory() as tmp:
        env = indexed_environment(tmp, rate_limit="100000/minute")
        store = KeyStore(Path(tmp) / "api_keys.sqlite")  # the server's default keys file
        keys = [store.create(f"load{n}")[1] for n in range(sum(CLIENTS.values()))]
        with serving(env) as (base, pid):
            run_clients(base, keys, questions, WARMUP_S, [])
            rss_start = memory_mb(pid)
            log: list = []
            samples: list[float] = []
            sampling = threading.Event()

            def sample() -> None:  # RSS every 10 s: growth that levels off is no leak
                while not sampling.wait(10):
                    samples.append(memory_mb(pid))

            sampler = threading.Thread(target=sample)
            sampler.start()
            started = time.perf_counter()
            run_clients(base, keys, questions, DURATION_S, log)
            elapsed = time.perf_counter() - started
            sampling.set()
            sampler.join()
            rss_end, rss_peak = memory_mb(pid), memory_mb(pid, "VmHWM")
    results: dict[str, object] = {
        "clients": sum(CLIENTS.values()),
        "duration_s": round(elapsed, 1),
        "requests": len(log),
        "throughput_rps": round(len(log) / elapsed, 1),
    }
    for kind in CLIENTS:
        times = sorted(t for k, _, t in log if k == kind)
        statuses = Counter(str(s) for k, s, _ in log if k == kind)
        results |= {
            f"{kind}_requests": len(times),
            f"{kind}_rps": round(len(times) / elapsed, 2),
            f"{kind}_p50_ms": round(percentile(times, 0.5) * 1000) if times else None,
            f"{kind}_p95_ms": round(percentile(times, 0.95) * 1000) if times else None,
            f"{kind}_p99_ms": round(percentile(times, 0.99) * 1000) if times else None,
            f"{kind}_statuses": dict(sorted(statuses.items())),
        }
    results |= {
        "server_errors_5xx": sum(1 for _, s, _ in log if isinstance(s, int) and s >= 500),
        "rss_after_warmup_mb": rss_start,
        "rss_end_mb": rss_end,
        "rss_every_10s_mb": samples,
        "rss_peak_mb": rss_peak,
    }
    write_report(settings.data_dir, "load", results)


if __name__ == "__main__":
    main()
