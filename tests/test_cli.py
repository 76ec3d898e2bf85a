"""The wegwijzer command line, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.settings import Settings
from tests.conftest import REPO
from tests.test_api import server_env

pytestmark = pytest.mark.integration


def wegwijzer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_search_json_matches_the_api_shape(ingested: Settings) -> None:
    result = wegwijzer(server_env(ingested), "search", "Wat is een IAMA?", "--k", "3", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["query"] == "Wat is een IAMA?" and len(body["results"]) == 3
    assert body["results"][0]["rank"] == 1


def test_search_prints_readable_results(ingested: Settings) -> None:
    result = wegwijzer(server_env(ingested), "search", "Wat is RAG?", "--k", "1")
    assert result.returncode == 0, result.stderr
    assert "Retrieval Augmented Generation" in result.stdout


def test_ingest_adds_a_file_and_reports_problems(tmp_path: Path, small_corpus: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=small_corpus)
    env = server_env(settings)
    extra = tmp_path / "beleid.md"
    extra.write_text("# Ons AI-beleid\n\nWij toetsen elk algoritme met het IAMA.", encoding="utf-8")
    (small_corpus / "leeg.txt").write_bytes(b"")
    first = wegwijzer(env, "ingest", str(extra))
    assert first.returncode == 0, first.stderr
    assert "index updated" in first.stderr and "leeg.txt: the file is empty" in first.stderr
    assert (small_corpus / "beleid.md").exists()
    second = wegwijzer(env, "ingest")
    assert "up to date" in second.stderr
    found = wegwijzer(env, "search", "IAMA toetsen", "--json", "--k", "1")
    assert json.loads(found.stdout)["results"][0]["title"] == "Ons AI-beleid"


def test_search_before_ingest_says_what_to_do(tmp_path: Path, small_corpus: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=small_corpus)
    result = wegwijzer(server_env(settings), "search", "DPIA")
    assert result.returncode == 1
    assert "wegwijzer ingest" in result.stderr
