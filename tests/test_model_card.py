"""The model card and the algorithm register draft, built from the real corpus and prompts."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.generation.prompts import PROMPT_DIR, load_prompts
from assistant.governance import model_card
from assistant.governance.algorithm_register import (
    PLACEHOLDER_START,
    draft_entry,
    draft_markdown,
    open_placeholders,
)
from assistant.governance.model_card import build_model_card, model_card_markdown
from assistant.llm.model_file import MODEL_FILE_NAME
from assistant.settings import Settings
from evaluation.report import build_report, write_reports
from evaluation.summary import summarise
from ingest.catalog import read_manifest
from tests.conftest import CORPUS, DECK

pytestmark = pytest.mark.unit

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh data dir and model dir, the real corpus; cwd without reports/ or .env."""
    monkeypatch.chdir(tmp_path)
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        corpus_dir=CORPUS,
        model_dir=tmp_path / "models",
        llm_backend="embedded",
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fake_model(settings: Settings, content: bytes) -> Path:
    """A small stand-in for the 1.1 GB GGUF, where the settings look for the model:
    hashing the real file takes seconds, the code path is the same."""
    path = settings.models_dir / MODEL_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def record(item_id: str, category: str, hit: float) -> dict:
    """One evaluation record in the runner's format (see test_evaluation_units)."""
    return {
        "config": "default",
        "overrides": {},
        "id": item_id,
        "category": category,
        "question": f"Vraag {item_id}?",
        "history": [],
        "error": None,
        "retrieval": {"ranks": [1 if hit else None], "hit@5": hit, "mrr": hit},
        "answer": {
            "answer": "Antwoord [1].",
            "refused": False,
            "citations": [{"n": 1, "doc_id": DECK, "section": "S", "text": "t", "page": None}],
            "timings_ms": {"total": 4000},
            "first_token_ms": 1500,
            "model": "qwen2.5-coder-1.5b-instruct-q4_k_m",
            "prompt_version": load_prompts().label,
        },
        "checks": {"key_fact_recall": hit, "citation_precision": 1.0, "false_refusal": 0.0},
        "ragas": {"rouge_score": 0.5},
        "ragas_failures": {},
        "retrieved": [{"doc_id": DECK, "section": "S", "text": "tekst", "page": None}],
    }


def evaluation_report(corpus_version: str) -> dict:
    records = [record("g001", "single_fact", 1.0), record("g002", "list", 0.0)]
    context = {
        "git_commit": None,
        "golden": {"path": "golden.jsonl", "sha256": "0" * 64, "items": 2},
        "mode": "answers",
        "judge": "none",
        "corpus_version": [corpus_version],
        "models": ["qwen2.5-coder-1.5b-instruct-q4_k_m"],
        "prompt_version": [load_prompts().label],
        "baseline_path": None,
        "thresholds": {},
    }
    return build_report(records, summarise(records), context, None, [])


def test_prompt_hashes_are_the_hashes_of_the_template_files(settings: Settings) -> None:
    prompts = build_model_card(settings)["prompts"]
    templates = sorted(PROMPT_DIR.glob("*-v1.*"))
    assert {"answer-v1.system.md", "answer-v1.user.md", "condense-v1.md", "texts-v1.yaml"} <= {
        path.name for path in templates
    }
    assert prompts["files"] == {path.name: sha256(path) for path in templates}
    assert prompts["version"] == "v1" and prompts["label"] == load_prompts("v1").label


def test_every_corpus_document_is_listed_with_its_hash(settings: Settings) -> None:
    card = build_model_card(settings)
    documents = {doc["doc_id"]: doc for doc in card["corpus"]["documents"]}
    manifest = read_manifest(CORPUS)
    assert set(documents) == {entry["id"] for entry in manifest.values()}
    for file, entry in manifest.items():
        doc = documents[entry["id"]]
        assert HEX64.match(doc["sha256"]) and doc["sha256"] == sha256(CORPUS / file)
        assert doc["title"] == entry["title"]
    assert re.fullmatch(r"[0-9a-f]{12}", card["corpus"]["corpus_version"])
    # no index, no model file, no report: said plainly, not an error
    assert card["index"]["built"] is False
    assert card["llm"]["embedded"]["present"] is False
    assert card["evaluation"] == {"available": False, "note": "no evaluation report"}
    assert card["application"]["version"] and card["card_version"]
    assert card["generated_at"].endswith("+00:00")
    json.dumps(card)  # plain JSON


def test_model_file_hash_is_computed_once_and_cached(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fake_model(settings, b"GGUF" + bytes(range(256)) * 40)
    embedded = build_model_card(settings)["llm"]["embedded"]
    assert embedded["present"] is True
    assert embedded["sha256"] == sha256(path)
    assert embedded["size_bytes"] == path.stat().st_size
    assert embedded["matches_expected"] is False, "the stand-in is not the real model"
    cache = json.loads((settings.data_dir / model_card.HASH_CACHE_NAME).read_text())
    assert sha256(path) in cache.values()

    calls: list[Path] = []
    real_sha256_file = model_card.sha256_file

    def counting(file: Path) -> str:
        calls.append(file)
        return real_sha256_file(file)

    monkeypatch.setattr(model_card, "sha256_file", counting)
    again = build_model_card(settings)["llm"]["embedded"]
    assert again["sha256"] == embedded["sha256"] and calls == [], "answered from the cache"

    path.write_bytes(b"GGUF another model")
    changed = build_model_card(settings)["llm"]["embedded"]
    assert calls == [path], "a changed file is hashed again"
    assert changed["sha256"] == sha256(path)


def test_ollama_backend_names_the_ollama_model(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        corpus_dir=CORPUS,
        llm_backend="ollama",
        ollama_model="qwen2.5:7b-instruct",
    )
    llm = build_model_card(settings, latest_report=None)["llm"]
    assert llm["backend"] == "ollama" and llm["ollama"]["model"] == "qwen2.5:7b-instruct"
    assert "embedded" not in llm


def test_latest_report_figures_are_on_the_card(settings: Settings) -> None:
    corpus_version = build_model_card(settings)["corpus"]["corpus_version"]
    report = evaluation_report(corpus_version)
    reports = Path("reports")  # the default place, relative to the working directory
    write_reports(report, reports)
    evaluation = build_model_card(settings)["evaluation"]
    assert evaluation["available"] is True
    assert evaluation["path"] == str(reports / "report.json")
    assert evaluation["sha256"] == sha256(reports / "report.json")
    assert evaluation["headline"] == report["headline"]["default"]
    assert evaluation["headline"]["hit@5"] == 0.5
    assert evaluation["golden"]["items"] == 2 and evaluation["created"] == report["created"]
    assert evaluation["same_corpus"] is True and evaluation["same_prompts"] is True

    with pytest.raises(FileNotFoundError):
        build_model_card(settings, latest_report=Path("elders/report.json"))
    not_a_report = Path("results.json")
    not_a_report.write_text('{"items": []}')
    with pytest.raises(ValueError, match="not an evaluation report"):
        build_model_card(settings, latest_report=not_a_report)


def test_evaluation_writes_the_model_card_next_to_the_report(
    settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "eval-run"
    paths = write_reports(evaluation_report("0" * 12), out, settings)
    assert (out / "model-card.json") in paths and (out / "model-card.md") in paths
    card = json.loads((out / "model-card.json").read_text(encoding="utf-8"))
    assert card["evaluation"]["path"] == str(out / "report.json")
    assert card["evaluation"]["headline"]["hit@5"] == 0.5
    assert card["evaluation"]["same_corpus"] is False, "evaluated on another corpus version"
    assert "## Evaluation" in (out / "model-card.md").read_text(encoding="utf-8")


def test_markdown_has_every_section(settings: Settings) -> None:
    fake_model(settings, b"GGUF stand-in")
    card = build_model_card(settings)
    markdown = model_card_markdown(card)
    for heading in (
        "# Model card: AI-wegwijzer",
        "## Language model",
        "## Embeddings and reranking",
        "## Prompts",
        "## Chunking",
        "## Retrieval",
        "## Answers",
        "## Safeguards",
        "## Corpus",
        "## Search index",
        "## Evaluation",
    ):
        assert heading in markdown, heading
    assert card["llm"]["embedded"]["sha256"] in markdown
    assert card["prompts"]["files"]["answer-v1.system.md"] in markdown
    assert "no evaluation report" in markdown


def test_cli_model_card_prints_json_and_writes_markdown(settings: Settings, tmp_path: Path) -> None:
    env = {
        "WEGWIJZER_DATA_DIR": str(settings.data_dir),
        "WEGWIJZER_CORPUS_DIR": str(CORPUS),
        "WEGWIJZER_MODEL_DIR": str(settings.models_dir),
    }
    runner = CliRunner()
    result = runner.invoke(app, ["model-card", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    assert len(card["corpus"]["documents"]) == 5 and card["prompts"]["label"]

    out = tmp_path / "card" / "model-card.md"
    written = runner.invoke(app, ["model-card", "--out", str(out)], env=env)
    assert written.exit_code == 0, written.output
    assert out.read_text(encoding="utf-8").startswith("# Model card")

    missing = runner.invoke(app, ["model-card", "--report", "geen/report.json"], env=env)
    assert missing.exit_code == 2 and "does not exist" in missing.output

    draft = runner.invoke(
        app,
        ["algoritmeregister", "--organisation", "Gemeente Voorbeeld", "--format", "json"],
        env=env,
    )
    assert draft.exit_code == 0, draft.output
    assert json.loads(draft.stdout)["organisatie"] == "Gemeente Voorbeeld"


def test_algorithm_register_draft_names_documents_and_leaves_decisions_open(
    settings: Settings,
) -> None:
    card = build_model_card(settings)
    entry = draft_entry(card, "Gemeente Voorbeeld")
    assert entry["organisatie"] == "Gemeente Voorbeeld"
    for field in ("wettelijke_grondslag", "contact", "begindatum", "status"):
        assert entry[field].startswith(PLACEHOLDER_START), field
    assert PLACEHOLDER_START in entry["effectbeoordelingen"]["DPIA"]
    assert {"wettelijke_grondslag", "contact", "effectbeoordelingen", "begindatum"} <= set(
        open_placeholders(entry)
    )
    assert "organisatie" not in open_placeholders(entry)
    assert draft_entry(card)["organisatie"].startswith(PLACEHOLDER_START)

    titles = {doc["title"] for doc in card["corpus"]["documents"]}
    assert {source["titel"] for source in entry["databronnen"]} == titles
    assert "5 vastgestelde documenten" in entry["korte_omschrijving"]
    assert any("audit-log met een hash-keten" in m for m in entry["risicobeheer"])
    urls = {link["url"] for link in entry["links"]}
    assert {
        "https://vng.nl/artikelen/het-algoritmeregister",
        "https://algoritmes.overheid.nl",
    } <= urls

    markdown = draft_markdown(entry)
    for heading in ("## Wettelijke grondslag", "## Menselijke tussenkomst", "## Databronnen"):
        assert heading in markdown
    assert all(title in markdown for title in titles)
    assert "**Nog in te vullen:**" in markdown and "Gemeente Voorbeeld" in markdown
    assert entry["evaluatie"].startswith(PLACEHOLDER_START), "no report yet"


def test_algorithm_register_publishes_evaluation_figures(settings: Settings) -> None:
    write_reports(evaluation_report("0" * 12), Path("reports"))
    entry = draft_entry(build_model_card(settings))
    figures = entry["evaluatie"]["uitkomsten"]
    assert (
        figures["hit@5: vragen waarbij de juiste passage bij de eerste vijf zoekresultaten zat"]
        == "50%"
    )
    assert entry["evaluatie"]["testset"] == "2 vragen"
    assert "mediane antwoordtijd" in draft_markdown(entry)
