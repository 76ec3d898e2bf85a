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
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from assistant.settings import Settings
from benchmarks.chat import QUESTIONS, free_port, peak_rss_mb
from benchmarks.report import REPO, run_cli, write_report
from evaluation.golden import load_golden
from evaluation.summary import percentile

CLIENTS = {"search": 15, "chat": 5}
DURATION_S = 60.0
WARMUP_S = 20.0  # the same load first, unmeasured: model buffers, caches, thread pools


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024)
    return 0.0


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


def main() -> None:
    settings = Settings()
    questions = [item.question for item in load_golden()]
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "WEGWIJZER_DATA_DIR": tmp,
            "WEGWIJZER_CORPUS_DIR": str(REPO / "corpus"),
            "WEGWIJZER_MODEL_DIR": str(settings.models_dir.resolve()),
            "WEGWIJZER_LLM_BACKEND": "embedded",
            "WEGWIJZER_RATE_LIMIT": "100000/minute",
        }
        run_cli(env, "ingest")
        keys = []
        for n in range(sum(CLIENTS.values())):
            made = subprocess.run(
                [sys.executable, "-m", "assistant.cli", "keys", "create", "--name", f"load{n}"],
                cwd=REPO,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            keys.append(made.stdout.strip().splitlines()[-1])
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    httpx.get(f"{base}/api/health", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.5)

            def run_all(seconds: float, log: list) -> None:
                until = time.monotonic() + seconds
                jobs, index = [], 0
                for kind, count in CLIENTS.items():
                    for _ in range(count):
                        jobs.append(client(kind, base, keys[index], questions, until, log))
                        index += 1

                async def together() -> None:
                    await asyncio.gather(*jobs)

                asyncio.run(together())

            run_all(WARMUP_S, [])  # waits for its last answers too
            rss_start = rss_mb(server.pid)
            log: list = []
            samples: list[float] = []
            sampling = threading.Event()

            def sample() -> None:  # RSS every 10 s: growth that levels off is no leak
                while not sampling.wait(10):
                    samples.append(rss_mb(server.pid))

            sampler = threading.Thread(target=sample)
            sampler.start()
            started = time.perf_counter()
            run_all(DURATION_S, log)
            elapsed = time.perf_counter() - started
            sampling.set()
            sampler.join()
            rss_end, rss_peak = rss_mb(server.pid), peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
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
