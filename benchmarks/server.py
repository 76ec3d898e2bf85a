"""A real ``wegwijzer serve`` process for the benchmarks, and its memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from assistant.settings import Settings
from benchmarks.report import REPO, run_cli


def indexed_environment(data_dir: str, **settings: str) -> dict[str, str]:
    """Environment for a benchmark server with its own data dir, the repository's corpus
    ingested into it, and the shared embedded model; ``settings`` as WEGWIJZER_* values."""
    env = {
        **os.environ,
        "WEGWIJZER_DATA_DIR": data_dir,
        "WEGWIJZER_CORPUS_DIR": str(REPO / "corpus"),
        "WEGWIJZER_MODEL_DIR": str(Settings().models_dir.resolve()),
        "WEGWIJZER_LLM_BACKEND": "embedded",
        **{f"WEGWIJZER_{name.upper()}": value for name, value in settings.items()},
    }
    run_cli(env, "ingest")
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """Start the server on a free loopback port, wait until it answers; yields the base
    URL and the process id, and stops the server afterwards."""
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
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's memory from /proc: ``VmRSS`` now, ``VmHWM`` at its peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024)
    return 0.0
