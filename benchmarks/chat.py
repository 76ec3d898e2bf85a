"""Answer figures through a real server: POST /api/chat with streaming, 10 questions.

Time to first token, tokens/s, total latency p50/p95 and the server's peak RSS
(VmHWM), with the embedded model at the configured thread count. Written to
``$WEGWIJZER_DATA_DIR/bench/chat.json``.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time

import httpx

from assistant.settings import Settings
from benchmarks.report import write_report
from benchmarks.server import indexed_environment, memory_mb, serving
from evaluation.summary import percentile

QUESTIONS = [
    "Welke drie componenten kan een gemeente inkopen bij AI?",
    "Is een DPIA verplicht voor een AI-assistent?",
    "Wat is Retrieval Augmented Generation volgens de referentiearchitectuur?",
    "Welk deel van de AI-aanpak moet generiek zijn en welk deel lokaal maatwerk?",
    "Met welke gemeenten heeft TNO gesprekken gevoerd?",
    "Hoe definieert de AI Act een AI-systeem?",
    "Wat vraagt de VNG aan de ALV met de opdracht tot uitwerking?",
    "Wat doet het bouwblok Security in de referentiearchitectuur?",
    "Welke best practices gelden voor het monitoring dashboard?",
    "Wat moet een gemeente in contracten met AI-leveranciers vastleggen?",
]


def ask_streaming(base: str, question: str) -> dict:
    started = time.perf_counter()
    first_token = None
    done: dict = {}
    with httpx.stream(
        "POST", f"{base}/api/chat", json={"message": question, "stream": True}, timeout=600
    ) as response:
        event = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                if event == "token" and first_token is None:
                    first_token = time.perf_counter() - started
                if event == "done":
                    done = json.loads(line.split(":", 1)[1])
    total = time.perf_counter() - started
    decode_s = max(total - (first_token or total), 1e-3)  # after the prompt is read
    return {
        "first_token_s": first_token or total,
        "total_s": total,
        "tokens_per_s": done["usage"]["completion_tokens"] / decode_s,
        "refused": done["refused"],
    }


def main() -> None:
    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        env = indexed_environment(tmp, answer_cache="false")
        with serving(env) as (base, pid):
            # warm-up: loads the model (not part of the figures)
            httpx.post(f"{base}/api/chat", json={"message": "Wat is een DPIA?"}, timeout=600)
            runs = [ask_streaming(base, question) for question in QUESTIONS]
            rss = memory_mb(pid, "VmHWM")
    first = [r["first_token_s"] for r in runs]
    total = [r["total_s"] for r in runs]
    results = {
        "questions": len(runs),
        "llm_threads": settings.llm_threads,
        "first_token_p50_s": round(statistics.median(first), 2),
        "first_token_p95_s": round(percentile(first, 0.95), 2),
        "decode_tokens_per_s_median": round(statistics.median(r["tokens_per_s"] for r in runs), 1),
        "total_p50_s": round(statistics.median(total), 2),
        "total_p95_s": round(percentile(total, 0.95), 2),
        "refused": sum(r["refused"] for r in runs),
        "server_peak_rss_mb": rss,
    }
    write_report(settings.data_dir, "chat", results)


if __name__ == "__main__":
    main()
