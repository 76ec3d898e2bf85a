"""Reliability through a real server: the API fuzzed from its own OpenAPI schema, and a
server killed mid-request that loses nothing it had stored."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from assistant.settings import Settings
from tests.conftest import REPO
from tests.test_api import answering_server_env, start_server, stop

pytestmark = pytest.mark.integration

SCHEMATHESIS = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin" / "st"


def test_fuzzing_the_openapi_schema_finds_no_server_error(ingested: Settings, tmp_path) -> None:
    """Schemathesis generates requests for every operation (valid and invalid); none may
    get a 5xx. The embedded model answers, kept short (32 tokens, 20 s) so that the few
    generated messages that retrieval is confident about do not take minutes."""
    env = answering_server_env(
        ingested,
        WEGWIJZER_RATE_LIMIT="100000/minute",
        WEGWIJZER_LLM_MAX_ANSWER_TOKENS="32",
        WEGWIJZER_GENERATION_TIMEOUT_S="20",
        WEGWIJZER_CONVERSATIONS_FILE=str(tmp_path / "c.sqlite"),
        WEGWIJZER_API_KEYS_FILE=str(tmp_path / "k.sqlite"),
    )
    process, base = start_server(env)
    try:
        run = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "40",
                "--seed",
                "20261122",
                "--request-timeout",
                "60",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        stop(process)
    report = run.stdout[-4000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert "POST /api/chat" in run.stdout and "POST /api/search" in run.stdout, report


def test_killing_the_server_mid_answer_loses_nothing_stored(ingested: Settings, tmp_path) -> None:
    conversations = tmp_path / "conversations.sqlite"
    env = answering_server_env(ingested, WEGWIJZER_CONVERSATIONS_FILE=str(conversations))
    process, base = start_server(env)
    try:
        done = httpx.post(
            f"{base}/api/chat", json={"message": "Wat is een DPIA?"}, timeout=300
        ).json()
        feedback = httpx.post(
            f"{base}/api/feedback",
            json={"message_id": done["message_id"], "rating": "up", "comment": "Helder."},
        )
        assert feedback.status_code == 201

        # a second, uncached question is being generated when the server is killed
        def ask() -> None:
            try:
                with httpx.stream(
                    "POST",
                    f"{base}/api/chat",
                    json={
                        "message": "Welke rollen zijn betrokken bij AI-projecten?",
                        "stream": True,
                    },
                    timeout=300,
                ) as response:
                    for line in response.iter_lines():
                        if line.startswith("event: token"):
                            started.set()
            except httpx.HTTPError:
                pass

        started = threading.Event()
        asker = threading.Thread(target=ask)
        asker.start()
        assert started.wait(300), "no token arrived"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        asker.join(30)
    finally:
        if process.poll() is None:
            stop(process)

    with sqlite3.connect(conversations) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        kept = db.execute("SELECT comment FROM feedback").fetchall()
    assert kept == [("Helder.",)]

    process, base = start_server(env)  # starts again on the same files
    try:
        health = httpx.get(f"{base}/api/health").json()
        again = httpx.post(
            f"{base}/api/chat",
            json={
                "message": "Nog een vraag over de DPIA",
                "conversation_id": done["conversation_id"],
            },
            timeout=300,
        )
    finally:
        stop(process)
    assert health["chunks"] > 0
    assert again.status_code == 200
